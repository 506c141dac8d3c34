"""``cintel duplicates``: a tenant's near-duplicate images in clusters, or one image's.

A thin command over ``cintel.search.duplicates``: ``duplicate_clusters`` for the
clusters, ``NearDuplicates.near`` for one content. Its default and largest distance are
the lookups' own, from ``cintel.search.duplicates.constants``, which loads without numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    StoreOpt,
    TenantOpt,
    err,
    load_settings,
    open_store,
    out,
    print_json,
    resolve,
    table,
)
from cintel.search.duplicates.constants import DEFAULT_DISTANCE, MAX_DISTANCE
from cintel.timecodes import clock

if TYPE_CHECKING:
    from cintel.search.duplicates import FrameMatch
    from cintel.store import Store

SHOWN_MOMENTS = 3
"""Matching moments of two contents listed in a row."""


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
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Near-duplicate images (resized, recompressed, cropped, colour-shifted copies), by
    their image.hash perceptual hashes: clusters of the tenant's images, or one image's;
    for a video, the videos sharing its footage and the images among its keyframes, with
    the moments."""
    from cintel.search.duplicates import NearDuplicates, duplicate_clusters

    with open_store(load_settings(store, data_dir)) as st:
        if ref is not None:
            content = resolve(st, ref, tenant)
            near = NearDuplicates(st).near(content.id, tenant, distance, limit)
            places = _locations(st, [n.content_id for n in near], tenant)
        else:
            clusters = duplicate_clusters(st, tenant, distance, show=show, author=author)
            shown = clusters[:limit]
            places = _locations(st, [n.content_id for k in shown for n in k.contents], tenant)
    if ref is not None:
        if as_json:
            print_json([n.model_dump() for n in near])
            return
        rows = table(
            "content", "distance", "title or location", "moments", title=f"near {content.short_id}"
        )
        for n in near:
            rows.add_row(
                n.content_id[:12],
                str(n.distance),
                n.title or places.get(n.content_id),
                _moments(n.frames),
            )
        out.print(rows)
        err.print(f"{len(near)} near duplicates within {distance} bits", highlight=False)
        return
    if as_json:
        print_json([k.model_dump() for k in shown])
        return
    rows = table("cluster", "content", "closest", "title or location")
    for number, cluster in enumerate(shown, 1):
        for i, n in enumerate(cluster.contents):
            rows.add_row(
                str(number) if i == 0 else "",
                n.content_id[:12],
                str(n.distance),
                n.title or places.get(n.content_id),
                end_section=i == len(cluster.contents) - 1,
            )
    out.print(rows)
    images = sum(len(k.contents) for k in clusters)
    more = f" (the first {len(shown)} listed)" if len(shown) < len(clusters) else ""
    err.print(
        f"{len(clusters)} clusters of {images} images within {distance} bits{more}",
        highlight=False,
    )


def _moments(frames: list[FrameMatch], shown: int = SHOWN_MOMENTS) -> str:
    """Matching moments of two contents: ``0:12 ↔ 1:03`` (this one's, the other's)."""
    pairs = [
        f"{clock(m.time) or 'image'} ↔ {clock(m.other_time) or 'image'}" for m in frames[:shown]
    ]
    more = f" (+{len(frames) - shown})" if len(frames) > shown else ""
    return ", ".join(pairs) + more


def _locations(store: Store, ids: list[str], tenant: str) -> dict[str, str]:
    """Where each content was seen, to name images without a title."""
    found = store.get_contents(ids, tenant) if ids else {}
    return {cid: content.location for cid, content in found.items()}
