"""``cintel search``: what contents say, to the moment, by words, by meaning or both.

A thin command over ``cintel.search.Searcher``: this module turns the options into a
``SearchQuery`` (a user error when they do not make one) and renders the hits, their
snippets' matches highlighted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

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
    table,
)
from cintel.errors import CintelError
from cintel.timecodes import clock_span

if TYPE_CHECKING:
    from cintel.search import SearchQuery


def search(
    text: Annotated[str, typer.Argument(help='what to look for; "phrases", -excluded, OR work')],
    mode: Annotated[
        str,
        typer.Option("--mode", help="hybrid (default), lexical (the words) or vector (meaning)"),
    ] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="most hits")] = 20,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="audio, video or text (repeatable)")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="document language, e.g. en")
    ] = None,
    explicit: Annotated[
        bool | None,
        typer.Option("--explicit/--no-explicit", help="only explicit, or only clean contents"),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="a topic category, e.g. Sports or Soccer")
    ] = None,
    min_duration: Annotated[
        float | None, typer.Option("--min-duration", min=0, help="shortest duration, seconds")
    ] = None,
    max_duration: Annotated[
        float | None, typer.Option("--max-duration", min=0, help="longest duration, seconds")
    ] = None,
    show: Annotated[str | None, typer.Option("--show", help="exactly this show")] = None,
    author: Annotated[str | None, typer.Option("--author", help="exactly this author")] = None,
    published_from: Annotated[
        str | None, typer.Option("--published-from", help="published on or after (ISO date)")
    ] = None,
    published_to: Annotated[
        str | None, typer.Option("--published-to", help="published on or before (ISO date)")
    ] = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search what contents say, to the moment: by words, by meaning, or both."""
    from cintel.search import Searcher

    query = _query(
        {
            "text": text,
            "mode": mode,
            "limit": limit,
            "filters": {
                "kind": kind,
                "language": language,
                "explicit": explicit,
                "topic": topic,
                "min_duration_s": min_duration,
                "max_duration_s": max_duration,
                "show": show,
                "author": author,
                "published_from": published_from,
                "published_to": published_to,
            },
        }
    )
    settings = load_settings(store, data_dir)
    with open_store(settings) as st:
        searcher = Searcher(st, settings)
        try:
            result = searcher.search(query, tenant)
        finally:
            searcher.close()
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    hits = table("content", "title", "moment", "snippet", "score", title=f"{len(result.hits)} hits")
    for hit in result.hits:
        hits.add_row(
            hit.content_id[:12],
            hit.title or "",
            clock_span(hit.start, hit.end),
            _snippet_markup(hit.snippet),
            f"{hit.score:.4g}",
        )
    out.print(hits)
    err.print(f"{result.mode} search in {result.took_ms:.0f} ms", highlight=False)


def _query(fields: dict[str, Any]) -> SearchQuery:
    """The query the options make, or a user error naming each option that does not fit."""
    from pydantic import ValidationError

    from cintel.search import SearchQuery

    try:
        return SearchQuery.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][-1:])}: {e['msg']}" for e in exc.errors()
        )
        raise CintelError(f"cannot search as asked: {problems}") from exc


def _snippet_markup(snippet: str) -> str:
    """A hit's HTML snippet as Rich markup: matches highlighted, everything else literal."""
    import html

    from rich.markup import escape

    parts = []
    for index, piece in enumerate(snippet.replace("</mark>", "<mark>").split("<mark>")):
        text = escape(html.unescape(piece))
        parts.append(f"[bold yellow]{text}[/bold yellow]" if index % 2 else text)
    return "".join(parts)
