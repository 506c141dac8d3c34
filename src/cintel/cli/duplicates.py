"""``cintel duplicates``: a tenant's near-duplicate images in clusters, or one image's.

A thin command over ``cintel.search.duplicates.hashes``: ``duplicate_clusters`` for the
clusters, ``NearDuplicates.near`` for one content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cintel.timecodes import clock

# Those of cintel.search.duplicates.hashes (a test keeps them equal), which is not imported here:
# numpy would load with every command of the CLI.
DEFAULT_DISTANCE = 10
MAX_DISTANCE = 16

out = Console()
err = Console(stderr=True)


def duplicates(
    ref: Annotated[
        str | None,
        typer.Argument(
            help="content id, id prefix or path: list this image's near duplicates "
            "instead of every cluster"
        ),
    ] = None,
    distance: Annotated[
        int,
        typer.Option(
            "--distance",
            "-d",
            min=0,
            max=MAX_DISTANCE,
            help="most bits (of 64) in which near duplicates' perceptual hashes differ",
        ),
    ] = DEFAULT_DISTANCE,
    show: Annotated[str | None, typer.Option("--show", help="exactly this show")] = None,
    author: Annotated[str | None, typer.Option("--author", help="exactly this author")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="most clusters (or duplicates) listed")
    ] = 100,
    tenant: Annotated[str, typer.Option("--tenant", help="tenant the contents belong to")] = (
        "default"
    ),
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="store URL (sqlite:///path or postgresql://…); env CINTEL_STORE"
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="folder of the default store and artifacts (.cintel)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Near-duplicate images (resized, recompressed, cropped, colour-shifted copies), by
    their image.hash perceptual hashes: clusters of the tenant's images, or one image's;
    for a video, the videos sharing its footage and the images among its keyframes, with
    the moments."""
    from cintel.cli import _open, _print_json, _resolve, _settings
    from cintel.search.duplicates.hashes import NearDuplicates, duplicate_clusters

    with _open(_settings(store, data_dir)) as st:
        if ref is not None:
            content = _resolve(st, ref, tenant)
            near = NearDuplicates(st).near(content.id, tenant, distance, limit)
            places = _locations(st, [n.content_id for n in near], tenant)
        else:
            clusters = duplicate_clusters(st, tenant, distance, show=show, author=author)
            shown = clusters[:limit]
            places = _locations(st, [n.content_id for k in shown for n in k.contents], tenant)
    if ref is not None:
        if as_json:
            _print_json([n.model_dump() for n in near])
            return
        table = Table(
            "content", "distance", "title or location", "moments", title=f"near {content.short_id}"
        )
        for n in near:
            table.add_row(
                n.content_id[:12],
                str(n.distance),
                n.title or places.get(n.content_id),
                _moments(n.frames),
            )
        out.print(table)
        err.print(f"{len(near)} near duplicates within {distance} bits", highlight=False)
        return
    if as_json:
        _print_json([k.model_dump() for k in shown])
        return
    table = Table("cluster", "content", "closest", "title or location")
    for number, cluster in enumerate(shown, 1):
        for i, n in enumerate(cluster.contents):
            table.add_row(
                str(number) if i == 0 else "",
                n.content_id[:12],
                str(n.distance),
                n.title or places.get(n.content_id),
                end_section=i == len(cluster.contents) - 1,
            )
    out.print(table)
    images = sum(len(k.contents) for k in clusters)
    more = f" (the first {len(shown)} listed)" if len(shown) < len(clusters) else ""
    err.print(
        f"{len(clusters)} clusters of {images} images within {distance} bits{more}",
        highlight=False,
    )


def _moments(frames: list[Any], shown: int = 3) -> str:
    """Matching moments of two contents: ``0:12 ↔ 1:03`` (this one's, the other's)."""
    pairs = [
        f"{clock(m.time) or 'image'} ↔ {clock(m.other_time) or 'image'}" for m in frames[:shown]
    ]
    more = f" (+{len(frames) - shown})" if len(frames) > shown else ""
    return ", ".join(pairs) + more


def _locations(store: Any, ids: list[str], tenant: str) -> dict[str, str]:
    """Where each content was seen, to name images without a title."""
    found = store.get_contents(ids, tenant) if ids else {}
    return {cid: content.location for cid, content in found.items()}
