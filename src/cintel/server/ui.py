"""The web UI: a library with search, an item page to explore on a timeline, and runs;
the annotation pages (``annotate_ui.py``) are mounted beside them.

Pages are rendered on the server with Jinja2 (autoescaped); the few scripts and
the stylesheet are plain files under ``static/``, served from ``/ui/static``,
with no third-party code. A browser signs in by pasting an API key: it is kept
in an HttpOnly, SameSite=Strict cookie, which also authenticates the player's
and the raw-signal requests to the ``/v1`` API. Every page is confined to the
key's tenant exactly as the API is. A page that needs a key redirects to the
sign-in form; errors are HTML pages, not problem+json.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from pydantic import ValidationError

from cintel.errors import (
    AuthenticationError,
    CintelError,
    PermissionDeniedError,
    RateLimitedError,
    RequestError,
)
from cintel.model import Content, ContentKind, Scope, Signal
from cintel.outputs.stills import KEYFRAMES, THUMBNAIL, FrameFile, keyframe_files, thumbnail_files
from cintel.server import timeline
from cintel.server.api_keys import Principal
from cintel.server.contents import owned
from cintel.server.context import COOKIE, Ctx, ServiceContext
from cintel.server.problems import status_of
from cintel.timecodes import clock

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PAGE_SIZE = 50
SEARCH_LIMIT = 50
_TIMED = (ContentKind.AUDIO, ContentKind.VIDEO)  # kinds with a player and a timeline

_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 429: "Too many requests"}
_HEADERS = {
    # Scripts and styles only from this server: an injected tag could not run.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


_VERSION = _asset_version()
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["static"] = lambda name: f"/ui/static/{name}?v={_VERSION}"
_env.globals["clock"] = clock
_env.filters["urlpart"] = lambda value: quote(str(value), safe="")


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page from ``template``, with the signed-in key (if any) for the header."""
    who: Principal | None = getattr(request.state, "principal", None)
    values.setdefault("nav", "")
    html = _env.get_template(template).render(
        who=who,
        is_admin=bool(who and who.can(Scope.ADMIN)),
        can_read=bool(who and who.can(Scope.READ)),
        can_annotate=bool(
            who and any(who.can(s) for s in (Scope.ANNOTATE, Scope.REVIEW, Scope.ADMIN))
        ),
        **values,
    )
    return HTMLResponse(html, status_code=status)


def _local_target(target: Any) -> str:
    """``target`` if it is a UI path on this server, else the library (no open redirects)."""
    text = str(target or "")
    if text.startswith("/ui") and not text.startswith("//") and "\\" not in text:
        parts = urlsplit(text)
        if not parts.scheme and not parts.netloc:
            return text
    return "/ui"


def _login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(here, safe='')}", status_code=303)


class PageRoute(APIRoute):
    """A UI route: a missing key redirects to sign-in, errors become HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except AuthenticationError:
                response = _login_redirect(request)
            except RequestValidationError as exc:
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                    for e in exc.errors()
                )
                response = render(request, "error.html", 400, title="Bad request", detail=detail)
            except CintelError as exc:
                status = status_of(exc)
                response = render(
                    request,
                    "error.html",
                    status,
                    title=_TITLES.get(status, "Error"),
                    detail=str(exc),
                )
                if isinstance(exc, RateLimitedError):
                    response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
            for name, value in _HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page


def viewer(request: Request) -> Principal:
    """The signed-in key, from the UI's cookie; raises ``AuthenticationError`` without one."""
    ctx: ServiceContext = request.app.state.ctx
    who = ctx.keys.check(request.cookies.get(COOKIE))
    ctx.limiter.take(who.key_id, who.rate_per_min)
    request.state.principal = who
    if not who.can(Scope.READ):
        raise PermissionDeniedError("this key cannot read contents")
    return who


Viewer = Annotated[Principal, Depends(viewer)]

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)


def _check_origin(request: Request) -> None:
    """Refuse a form post that another site made the browser send.

    The cookie is SameSite=Strict already; this also stops a post that would
    sign a browser in with someone else's key. Hosts are compared, not schemes,
    so a proxy that terminates TLS still works; one that rewrites the Host
    header must send ``X-Forwarded-Host`` (a browser cannot forge either header
    in a cross-site form post).
    """
    sent = request.headers.get("origin") or request.headers.get("referer")
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None, ""}
    if not sent or sent == "null" or urlsplit(sent).netloc not in hosts:
        raise PermissionDeniedError(
            "this form was not sent from a page of this server; reload the page and try again"
        )


# --- sign in -----------------------------------------------------------------------------


@router.get("/login")
def login_form(
    request: Request, next: Annotated[str, Query(max_length=2000)] = "/ui"
) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", next=_local_target(next), error=None)


@router.post("/login")
async def login(request: Request, ctx: Ctx) -> Response:
    """Check the pasted key and keep it in the session cookie."""
    _check_origin(request)
    async with request.form(max_files=0, max_fields=4) as form:
        key = str(form.get("key") or "").strip()
        target = _local_target(form.get("next"))
    try:
        signed = ctx.keys.check(key)
    except AuthenticationError as exc:
        return render(request, "login.html", 401, next=target, error=str(exc))
    if target == "/ui" and not signed.can(Scope.READ):
        target = "/ui/annotate"  # an annotator's or reviewer's key reads no library
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the key: the cookie is cleared."""
    _check_origin(request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


# --- library and search ------------------------------------------------------------------


@dataclass
class Row:
    """One content in the library list."""

    content: Content
    title: str
    duration: float | None


def display_title(ctx: ServiceContext, content: Content) -> str:
    """The content's title, else its uploaded file's name, else where it was first seen."""
    extra = content.metadata.model_extra or {}
    title = content.metadata.title or extra.get("filename")
    if title:
        return str(title)
    sources = ctx.store.sources_of(content.id, content.tenant)
    if sources and not sources[0].uri.startswith(str(ctx.settings.blobs_dir)):
        name = sources[0].uri.rstrip("/").rsplit("/", 1)[-1]
        return name or content.short_id
    return content.short_id


def _duration(ctx: ServiceContext, content: Content) -> float | None:
    if content.kind in (ContentKind.TEXT, ContentKind.IMAGE):
        return None
    if content.metadata.duration_s:
        return content.metadata.duration_s
    probe = ctx.store.get_signals(content.id, analyzer="media.probe")
    return timeline.duration_of(content, timeline.by_analyzer(probe))


def _kind(kind: str) -> ContentKind | None:
    if not kind:
        return None
    try:
        return ContentKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in ContentKind)
        raise RequestError(f"unknown kind {kind!r}; kinds are {known}") from None


Filter = Annotated[str, Query(max_length=500)]


@router.get("")
def library(
    request: Request,
    who: Viewer,
    ctx: Ctx,
    kind: Filter = "",
    show: Filter = "",
    author: Filter = "",
    page: Annotated[int, Query(ge=1, le=20_000)] = 1,
) -> HTMLResponse:
    """The tenant's contents, newest first, by kind, show and author."""
    found = ctx.store.list_contents(
        who.tenant,
        _kind(kind),
        PAGE_SIZE + 1,
        show=show or None,
        author=author or None,
        offset=(page - 1) * PAGE_SIZE,
    )
    rows = [Row(c, display_title(ctx, c), _duration(ctx, c)) for c in found[:PAGE_SIZE]]
    return render(
        request,
        "library.html",
        nav="library",
        rows=rows,
        kinds=[k.value for k in ContentKind],
        filters={"kind": kind, "show": show, "author": author},
        page=page,
        more=len(found) > PAGE_SIZE,
        query="",
        mode="hybrid",
        search_kind=kind,
    )


@dataclass
class HitRow:
    """One search hit as the results page shows it."""

    content_id: str
    title: str
    kind: str
    start: float | None
    end: float | None
    snippet: Markup
    score: float


@router.get("/search")
def search(
    request: Request,
    who: Viewer,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=1000)] = "",
    mode: Literal["lexical", "vector", "hybrid"] = "hybrid",
    kind: Filter = "",
) -> HTMLResponse:
    """Search the tenant's transcripts and texts; each hit opens its item at the moment."""
    hits: list[HitRow] = []
    error = None
    if q.strip():
        try:
            hits = _search(ctx, who, q.strip(), mode, _kind(kind))
        except (CintelError, ValidationError) as exc:
            error = str(exc)
        except ImportError as exc:
            error = f"search is not available on this server: {exc}"
    return render(
        request,
        "search.html",
        nav="library",
        query=q,
        mode=mode,
        search_kind=kind,
        kinds=[k.value for k in ContentKind],
        hits=hits,
        error=error,
    )


def _search(
    ctx: ServiceContext, who: Principal, text: str, mode: str, kind: ContentKind | None
) -> list[HitRow]:
    from cintel.search import SearchQuery

    filters: dict[str, Any] = {"kind": [kind.value]} if kind else {}
    query = SearchQuery.model_validate(
        {"text": text, "mode": mode, "limit": SEARCH_LIMIT, "filters": filters}
    )
    result = ctx.searcher.search(query, who.tenant)
    untitled = [h.content_id for h in result.hits if not h.title]
    found = ctx.store.get_contents(untitled, who.tenant) if untitled else {}
    titles = {cid: display_title(ctx, content) for cid, content in found.items()}
    return [
        HitRow(
            content_id=hit.content_id,
            title=hit.title or titles.get(hit.content_id) or hit.content_id[:12],
            kind=str(hit.kind),
            start=hit.start if hit.kind in _TIMED else None,
            end=hit.end if hit.kind in _TIMED else None,
            snippet=timeline.snippet_html(hit.snippet),
            score=hit.score,
        )
        for hit in result.hits
    ]


# --- one item ------------------------------------------------------------------------------


@dataclass
class RawSignal:
    """A signal listed for its raw JSON (loaded by the browser when opened)."""

    analyzer: str
    version: str
    segments: int
    created_at: Any


@router.get("/contents/{content_id}")
def item(
    request: Request,
    content_id: Annotated[str, PathParam(max_length=64)],
    who: Viewer,
    ctx: Ctx,
    t: Annotated[float | None, Query(ge=0, le=1e7)] = None,
) -> HTMLResponse:
    """One content: player, timeline of tracks, transcript, chapters and raw signals."""
    content = owned(ctx.store, content_id, who.tenant)
    stored = ctx.store.get_signals(content.id)
    signals = timeline.by_analyzer(stored)
    duration = timeline.duration_of(content, signals)
    lines, lines_from = timeline.transcript(signals)
    timed = content.kind in _TIMED
    return render(
        request,
        "item.html",
        nav="library",
        content=content,
        title=display_title(ctx, content),
        duration=duration if timed else None,
        start=t,
        tracks=timeline.tracks(signals, duration) if timed else [],
        lines=lines,
        lines_from=lines_from,
        words=sum(len(line.words) for line in lines),
        chapters=timeline.chapters(signals, lines),
        facts=timeline.glance(signals),
        raw=[
            RawSignal(s.analyzer, s.version, len(s.segments), s.provenance.created_at)
            for s in sorted(stored, key=lambda s: s.analyzer)
        ],
        envelope_size=(timeline.ENVELOPE_WIDTH, timeline.ENVELOPE_HEIGHT),
        shots=_shots(signals) if content.kind == ContentKind.VIDEO else [],
    )


def _shots(signals: dict[str, Signal]) -> list[FrameFile]:
    """A video's keyframes, thumbnail candidates marked with their rank, from the signals
    the page already read; none before ``video.keyframes`` has run."""
    found = signals.get(KEYFRAMES)
    if found is None:
        return []
    frames = keyframe_files(found.value)
    ranking = signals.get(THUMBNAIL)
    ranked = {f.shot: f for f in thumbnail_files(ranking.value, frames)} if ranking else {}
    return [
        dataclasses.replace(f, rank=ranked[f.shot].rank, score=ranked[f.shot].score)
        if f.shot in ranked
        else f
        for f in frames
    ]


# --- runs ------------------------------------------------------------------------------------


@dataclass
class CostRow:
    """What one analyzer cost in a run: time, tokens and money."""

    analyzer: str
    version: str
    signals: int
    wall_s: float
    cpu_s: float
    gpu_s: float
    llm_calls: int
    llm_cached: int
    tokens_in: int
    tokens_out: int
    cost_usd: float


@dataclass
class RunView:
    """A run with its throughput, errors by category and cost per analyzer."""

    run: Any
    contents: int
    wall_s: float | None
    per_s: float | None
    errors: dict[str, list[Any]]
    costs: list[CostRow]
    cost_usd: float


def _run_view(ctx: ServiceContext, run: Any) -> RunView:
    summary = run.summary or {}
    contents = int(summary.get("contents") or 0)
    wall = summary.get("wall_s")
    wall_s = float(wall) if isinstance(wall, int | float) else None
    errors: dict[str, list[Any]] = defaultdict(list)
    for failure in ctx.store.failures(run_id=run.id):
        errors[failure.category].append(failure)
    llm = {t.key: t for t in ctx.store.llm_totals(by="analyzer", run_id=run.id)}
    costs = []
    for total in ctx.store.totals(run.id):
        calls = llm.pop(total.analyzer, None)
        costs.append(
            CostRow(
                analyzer=total.analyzer,
                version=total.version,
                signals=total.signals,
                wall_s=total.wall_s,
                cpu_s=total.cpu_s,
                gpu_s=total.gpu_s,
                llm_calls=calls.calls if calls else 0,
                llm_cached=calls.cached if calls else 0,
                tokens_in=total.tokens_in,
                tokens_out=total.tokens_out,
                cost_usd=total.cost_usd,
            )
        )
    for name, calls in llm.items():  # LLM calls of analyzers that stored no signal
        costs.append(
            CostRow(
                analyzer=name,
                version="",
                signals=0,
                wall_s=0.0,
                cpu_s=0.0,
                gpu_s=0.0,
                llm_calls=calls.calls,
                llm_cached=calls.cached,
                tokens_in=calls.tokens_in,
                tokens_out=calls.tokens_out,
                cost_usd=calls.cost_usd,
            )
        )
    return RunView(
        run=run,
        contents=contents,
        wall_s=wall_s,
        per_s=contents / wall_s if wall_s else None,
        errors=dict(sorted(errors.items())),
        costs=sorted(costs, key=lambda c: c.analyzer),
        cost_usd=sum(c.cost_usd for c in costs),
    )


@router.get("/runs")
def runs(
    request: Request,
    who: Viewer,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> HTMLResponse:
    """Recent runs of the tenant's jobs: throughput, errors by category, cost per analyzer."""
    from cintel.server.admin import list_runs

    if not who.can(Scope.ADMIN):
        raise PermissionDeniedError(
            f"the runs page needs a key with the 'admin' scope; the key {who.key_id} has "
            f"{', '.join(sorted(s.value for s in who.scopes))}"
        )
    recent = list_runs(who, ctx, limit)
    return render(request, "runs.html", nav="runs", runs=[_run_view(ctx, r) for r in recent])


def mount(app: FastAPI) -> None:
    """Add the UI's pages under ``/ui`` and its static files under ``/ui/static``; the
    annotation pages (``annotate_ui``, built on this module) are added by the app."""
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(router)
