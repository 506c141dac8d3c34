"""Ingestion: turn paths, globs, folders, URLs, manifests and feeds into stored contents.

A content's identity is the SHA-256 of its bytes, so the same bytes seen at two
places are one content with two sources. Unchanged local files (same size and
modification time as when last seen) are not read again; unchanged URLs are
revalidated with ETag / Last-Modified. Every input that cannot be ingested
becomes a recorded failure; the others go on.

An ingestor given ``roots`` works for a caller who is not the operator (a job
from the API or an event): inputs are taken literally (no globs, local
manifests or feeds, or fsspec URLs; a feed fetched by URL may only list http(s)
enclosures in any case), and every local file must resolve, symbolic links
followed, under one of the roots; a link out of them is a recorded
``bad_input``. Checking at this point as well as at submission closes the gap
between the two, when a folder's contents change after it was accepted.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cintel.config import Settings
from cintel.errors import AnalysisError, BadInputError, TransientError
from cintel.ingest.feeds import looks_like_feed, parse_feed
from cintel.ingest.manifests import Entry, read_manifest
from cintel.ingest.urls import Download, UrlPolicy, fetch
from cintel.media.sniff import detect
from cintel.model import Content, ContentMetadata, Failure, Source
from cintel.store.base import SourceStat, Store

MANIFEST_SUFFIXES = (".jsonl", ".ndjson", ".csv")
FEED_SUFFIXES = (".xml", ".rss")
_GLOB_CHARS = set("*?[")
_CHUNK = 1 << 20


@dataclass
class Ingested:
    """What ingestion found: contents (unique, in input order), failures, and counts."""

    contents: list[Content] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    new: int = 0
    sources: int = 0


@dataclass
class _Local:
    path: Path
    metadata: ContentMetadata
    origin: str


def hash_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Ingestor:
    """Ingests inputs into a store for one tenant."""

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        tenant: str = "default",
        on_item: Callable[[], None] | None = None,
        record: bool = True,
        roots: Sequence[Path] | None = None,
    ) -> None:
        self.store = store
        self.record = record
        self.roots = None if roots is None else [Path(os.path.realpath(r)) for r in roots]
        self.settings = settings or Settings()
        self.tenant = tenant
        self.on_item = on_item or (lambda: None)
        self.policy = UrlPolicy(
            allow=list(self.settings.url_allow),
            max_bytes=self.settings.limits.max_download_bytes,
            timeout_s=self.settings.http_timeout_s,
            deadline_s=self.settings.limits.max_download_s,
        )
        self._result = Ingested()
        self._pairs: list[tuple[Content, Source]] = []
        self._order: dict[str, Content] = {}

    # public -----------------------------------------------------------------------
    def ingest(self, inputs: Sequence[str], metadata: ContentMetadata | None = None) -> Ingested:
        """Ingest every input; failures are collected, never raised."""
        self._result = Ingested()
        self._pairs = []
        self._order = {}
        base_meta = metadata or ContentMetadata()
        locals_: list[_Local] = []
        for ref in inputs:
            try:
                self._expand(ref, base_meta, locals_)
            except AnalysisError as exc:
                self._fail(ref, exc)
        self._ingest_locals(locals_)
        if self.record:
            self._result.new = self.store.add_contents(self._pairs)
        else:
            known = self.store.get_contents([c.id for c, _ in self._pairs], self.tenant)
            self._result.new = len({c.id for c, _ in self._pairs} - set(known))
        self._result.contents = list(self._order.values())
        return self._result

    # expansion ----------------------------------------------------------------------
    def _expand(self, ref: str, meta: ContentMetadata, out: list[_Local]) -> None:
        if ref.startswith("file://"):
            ref = ref.removeprefix("file://")
        if "://" in ref:
            scheme = ref.split("://", 1)[0].lower()
            if scheme in ("http", "https"):
                self._ingest_url(ref, meta, allow_feed=True)
            elif self.roots is not None:
                raise BadInputError(
                    f"{scheme}:// inputs are not accepted here; send an http(s) URL or a path "
                    "under the allowed folders",
                    source=ref,
                )
            else:
                self._ingest_fsspec(ref, meta)
            return
        if self.roots is not None:
            self._expand_path(Path(ref), meta, out, explicit=False)
            return
        if _GLOB_CHARS & set(ref):
            matches = sorted(glob.glob(ref, recursive=True))  # noqa: PTH207 - absolute patterns too
            if not matches:
                raise BadInputError("matched no files; check the pattern", source=ref)
            for match in matches:
                self._expand_path(Path(match), meta, out, explicit=False)
            return
        self._expand_path(Path(ref), meta, out, explicit=True)

    def _expand_path(
        self, path: Path, meta: ContentMetadata, out: list[_Local], explicit: bool
    ) -> None:
        if not path.exists():
            raise BadInputError("does not exist; check the path", source=str(path))
        if path.is_dir():
            # cintel's own data folder (store, blobs, artifacts) is never a source.
            own = str(self.settings.data_dir.resolve())
            # Resolving the folder once makes every path below it absolute; resolving each
            # file again cost more than the rest of an unchanged rerun.
            for root, dirs, files in os.walk(path.resolve()):
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not d.startswith(".") and os.path.join(root, d) != own  # noqa: PTH118
                )
                for name in sorted(files):
                    if not name.startswith("."):
                        file = os.path.join(root, name)  # noqa: PTH118 - hot path
                        if self.roots is None:
                            out.append(_Local(Path(file), meta, file))
                        elif (real := self._inside_roots(file)) is not None:
                            out.append(_Local(real, meta, file))
            return
        if self.roots is not None:
            # The resolved path is the one read from here on: a link put in place of the
            # file after this check is not followed.
            if (real := self._inside_roots(str(path))) is not None:
                out.append(_Local(real, meta, str(path)))
            return
        suffix = path.suffix.lower()
        if explicit and suffix in MANIFEST_SUFFIXES:
            self._expand_entries(*read_manifest(path), meta, out, origin=str(path))
            return
        if explicit and suffix in FEED_SUFFIXES:
            # A feed named on the command line; files inside folders are contents.
            entries = parse_feed(path.read_bytes(), str(path), base=str(path.resolve()))
            self._expand_entries(entries, [], meta, out, str(path))
            return
        out.append(_Local(path.resolve(), meta, str(path)))

    def _expand_entries(
        self,
        entries: list[Entry],
        errors: list[BadInputError],
        meta: ContentMetadata,
        out: list[_Local],
        origin: str,
    ) -> None:
        for error in errors:
            self._fail(error.source or origin, error)
        for entry in entries:
            entry_meta = meta.merged(entry.metadata)
            try:
                if "://" in entry.location and not entry.location.startswith("file://"):
                    scheme = entry.location.split("://", 1)[0].lower()
                    if scheme in ("http", "https"):
                        self._ingest_url(entry.location, entry_meta, allow_feed=False)
                    else:
                        self._ingest_fsspec(entry.location, entry_meta)
                else:
                    path = Path(entry.location.removeprefix("file://"))
                    if not path.is_file():
                        raise BadInputError(
                            f"(listed in {entry.origin}) does not exist", source=str(path)
                        )
                    out.append(_Local(path.resolve(), entry_meta, entry.origin))
            except AnalysisError as exc:
                self._fail(entry.location, exc)

    # local files ---------------------------------------------------------------------
    def _ingest_locals(self, items: list[_Local]) -> None:
        if not items:
            return
        stats = self.store.source_stats((str(i.path) for i in items), self.tenant)
        known_ids = {s.content_id for s in stats.values()}
        known = self.store.get_contents(list(known_ids), self.tenant) if known_ids else {}
        limit = self.settings.limits.max_file_bytes
        pending: list[tuple[_Local, str, os.stat_result, str]] = []
        for item in items:
            uri = str(item.path)
            try:
                st = item.path.stat()
                if st.st_size > limit:
                    raise BadInputError(
                        f"is {st.st_size:,} bytes, over the limit of {limit:,} "
                        "(CINTEL_LIMIT_MAX_FILE_BYTES)",
                        source=uri,
                    )
                cached = stats.get(uri)
                content = known.get(cached.content_id) if cached else None
                if (
                    cached is not None
                    and content is not None
                    and cached.size == st.st_size
                    and cached.mtime_ns == st.st_mtime_ns
                ):
                    if item.metadata.model_dump(exclude_none=True):
                        content = content.model_copy(
                            update={"metadata": content.metadata.merged(item.metadata)}
                        )
                        self._add(
                            content, Source(uri=uri, size=st.st_size, mtime_ns=st.st_mtime_ns)
                        )
                    else:
                        self._order.setdefault(content.id, content)
                    self._result.sources += 1
                    self.on_item()
                    continue
                if st.st_size == 0:
                    raise BadInputError(
                        "is empty (0 bytes); there is nothing to analyse", source=uri
                    )
                pending.append((item, uri, st, hash_file(item.path)))
            except OSError as exc:
                self._fail(
                    uri, BadInputError(f"cannot be read ({exc.strerror or exc})", source=uri)
                )
                self.on_item()
            except AnalysisError as exc:
                self._fail(uri, exc)
                self.on_item()
        # One batched lookup for every new file (a query per file made ingestion slow).
        wanted = [sha for *_, sha in pending if sha not in known]
        found = {**self.store.get_contents(wanted, self.tenant), **known} if wanted else known
        for item, uri, st, sha in pending:
            try:
                content = found.get(sha)
                if content is None:
                    detected = self._detect(item.path, uri)
                    content = Content(
                        id=sha,
                        kind=detected.kind,
                        mime=detected.mime,
                        size=st.st_size,
                        location=uri,
                        metadata=item.metadata,
                        tenant=self.tenant,
                    )
                else:
                    content = content.model_copy(
                        update={"metadata": content.metadata.merged(item.metadata)}
                    )
                self._add(content, Source(uri=uri, size=st.st_size, mtime_ns=st.st_mtime_ns))
            except OSError as exc:
                self._fail(
                    uri, BadInputError(f"cannot be read ({exc.strerror or exc})", source=uri)
                )
            except AnalysisError as exc:
                self._fail(uri, exc)
            self.on_item()

    @staticmethod
    def _detect(path: Path, uri: str) -> Any:
        try:
            return detect(path)
        except BadInputError as exc:
            raise BadInputError(str(exc), source=uri) from None

    # URLs and other file systems ---------------------------------------------------------
    def _retrying(self, action: Callable[[], Download], source: str) -> Download:
        delay = self.settings.retry_backoff_s
        attempts = self.settings.transient_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return action()
            except TransientError:
                if attempt == attempts:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _blob_path(self, sha: str) -> Path:
        return self.settings.blobs_dir / sha[:2] / sha

    def _keep_blob(self, tmp: Path, sha: str) -> Path:
        final = self._blob_path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink(missing_ok=True)
        else:
            tmp.replace(final)
        return final

    def _ingest_url(self, url: str, meta: ContentMetadata, allow_feed: bool) -> None:
        cached = self.store.source_stats([url], self.tenant).get(url)
        previous = self._source_meta(cached)
        download = self._retrying(
            lambda: fetch(
                url,
                self.policy,
                self.settings.blobs_dir / "tmp",
                etag=previous.get("etag"),
                last_modified=previous.get("last_modified"),
            ),
            url,
        )
        if download.not_modified and cached is not None:
            content = self.store.get_content(cached.content_id, self.tenant)
            if content is not None and Path(content.location).is_file():
                # Only a remembered feed is expanded again; other XML documents are contents.
                if allow_feed and content.mime in ("application/xml", "application/rss+xml"):
                    with Path(content.location).open("rb") as handle:
                        is_feed = looks_like_feed(handle.read(4096))
                    if is_feed:
                        self._expand_feed_file(Path(content.location), url, meta)
                        return
                self._add(
                    content.model_copy(update={"metadata": content.metadata.merged(meta)}),
                    Source(uri=url, size=content.size, metadata=previous),
                )
                self.on_item()
                return
            download = self._retrying(
                lambda: fetch(url, self.policy, self.settings.blobs_dir / "tmp"), url
            )
        assert download.path is not None and download.sha256 is not None
        if download.size == 0:
            download.path.unlink(missing_ok=True)
            raise BadInputError(
                "answered with an empty body; there is nothing to analyse", source=url
            )
        path = self._keep_blob(download.path, download.sha256)
        source_meta = {
            k: v
            for k, v in {
                "etag": download.etag,
                "last_modified": download.last_modified,
                "content_type": download.content_type,
                "final_url": download.final_url if download.final_url != url else None,
            }.items()
            if v
        }
        if allow_feed:
            with path.open("rb") as handle:
                head = handle.read(4096)
            if looks_like_feed(head):
                self._remember_feed(url, download, path, source_meta)
                self._expand_feed_file(path, url, meta)
                return
        detected = self._detect(path, url)
        content = self.store.get_content(download.sha256, self.tenant) or Content(
            id=download.sha256,
            kind=detected.kind,
            mime=detected.mime,
            size=download.size,
            location=str(path.resolve()),
            tenant=self.tenant,
        )
        content = content.model_copy(update={"metadata": content.metadata.merged(meta)})
        self._add(content, Source(uri=url, size=download.size, metadata=source_meta))
        self.on_item()

    def _remember_feed(
        self, url: str, download: Download, path: Path, source_meta: dict[str, Any]
    ) -> None:
        """Keep the feed document itself as a source, so revalidation can skip it next time."""
        assert download.sha256 is not None
        if not self.record:
            return
        feed = Content(
            id=download.sha256,
            kind="text",
            mime="application/xml",
            size=download.size,
            location=str(path.resolve()),
            tenant=self.tenant,
        )
        self.store.add_content(feed, Source(uri=url, size=download.size, metadata=source_meta))

    def _expand_feed_file(self, path: Path, url: str, meta: ContentMetadata) -> None:
        entries = parse_feed(path.read_bytes(), url, base=url)
        remote: list[Entry] = []
        for entry in entries:
            if entry.location.split("://", 1)[0].lower() in ("http", "https"):
                remote.append(entry)
            else:
                # A feed from the network must not make us read local files or other stores.
                self._fail(
                    entry.location,
                    BadInputError(
                        f"(listed in the feed {url}) is not an http(s) URL; a feed fetched "
                        "over HTTP may only point at http(s) enclosures",
                        source=entry.location,
                    ),
                )
        local: list[_Local] = []
        self._expand_entries(remote, [], meta, local, url)
        self._ingest_locals(local)

    def _ingest_fsspec(self, url: str, meta: ContentMetadata) -> None:
        import fsspec

        try:
            fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise BadInputError(
                f"cannot open this URL ({exc}); is the fsspec backend installed?", source=url
            ) from exc
        protocol = url.split("://", 1)[0]
        try:
            paths = sorted(fs.find(root)) if fs.isdir(root) else [root]
        except OSError as exc:
            raise TransientError(f"cannot list ({exc})", source=url) from exc
        if not paths:
            raise BadInputError("holds no files", source=url)
        uris = [f"{protocol}://{p.removeprefix(protocol + '://')}" for p in paths]
        stats = self.store.source_stats(uris, self.tenant)
        for path, uri in zip(paths, uris, strict=True):
            try:
                self._ingest_fs_file(fs, path, uri, meta, stats.get(uri))
            except AnalysisError as exc:
                self._fail(uri, exc)
            self.on_item()

    def _ingest_fs_file(
        self, fs: Any, path: str, uri: str, meta: ContentMetadata, cached: SourceStat | None
    ) -> None:
        info = fs.info(path)
        size = int(info.get("size") or 0)
        stamp = str(
            info.get("ETag")
            or info.get("etag")
            or info.get("mtime")
            or info.get("LastModified")
            or ""
        )
        if (
            cached is not None
            and cached.size == size
            and stamp
            and self._source_meta(cached).get("stamp") == stamp
        ):
            content = self.store.get_content(cached.content_id, self.tenant)
            if content is not None:
                if meta.model_dump(exclude_none=True):
                    content = content.model_copy(update={"metadata": content.metadata.merged(meta)})
                    self._add(content, Source(uri=uri, size=size, metadata={"stamp": stamp}))
                else:
                    self._order.setdefault(content.id, content)
                    self._result.sources += 1
                return
        if size > self.settings.limits.max_download_bytes:
            raise BadInputError(
                f"is {size:,} bytes, over the download limit (CINTEL_LIMIT_MAX_DOWNLOAD_BYTES)",
                source=uri,
            )
        tmp_dir = self.settings.blobs_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"fs-{os.getpid()}-{hashlib.sha256(uri.encode()).hexdigest()[:16]}"
        digest = hashlib.sha256()
        try:
            with fs.open(path, "rb") as src, tmp.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TransientError(f"cannot be read ({exc})", source=uri) from exc
        if size == 0:
            tmp.unlink(missing_ok=True)
            raise BadInputError("is empty (0 bytes); there is nothing to analyse", source=uri)
        sha = digest.hexdigest()
        final = self._keep_blob(tmp, sha)
        detected = self._detect(final, uri)
        content = self.store.get_content(sha, self.tenant) or Content(
            id=sha,
            kind=detected.kind,
            mime=detected.mime,
            size=size,
            location=str(final.resolve()),
            tenant=self.tenant,
        )
        content = content.model_copy(update={"metadata": content.metadata.merged(meta)})
        self._add(content, Source(uri=uri, size=size, metadata={"stamp": stamp} if stamp else {}))

    # bookkeeping ---------------------------------------------------------------------------
    def _source_meta(self, cached: SourceStat | None) -> dict[str, Any]:
        return dict(cached.metadata) if cached is not None else {}

    def _add(self, content: Content, source: Source) -> None:
        self._pairs.append((content, source))
        self._result.sources += 1
        previous = self._order.get(content.id)
        if previous is not None:
            content = previous.model_copy(
                update={"metadata": previous.metadata.merged(content.metadata)}
            )
        self._order[content.id] = content

    def _inside_roots(self, file: str) -> Path | None:
        """``file`` resolved, when that lies under the roots; otherwise None, and a
        recorded failure that says why."""
        assert self.roots is not None
        if not self.roots:
            self._fail(
                file,
                BadInputError(
                    "local paths are not accepted here: no folders are allowed "
                    "(CINTEL_SERVER_PATH_ROOTS); give this worker the same roots as the server",
                    source=file,
                ),
            )
            return None
        real = Path(os.path.realpath(file))
        if any(real.is_relative_to(root) for root in self.roots):
            return real
        self._fail(
            file,
            BadInputError(
                f"resolves to {real}, outside the folders this server may read (a symbolic "
                "link out of them); copy the file into the folder instead of linking it",
                source=file,
            ),
        )
        return None

    def _fail(self, source: str, exc: AnalysisError) -> None:
        message = str(exc)
        if exc.source is None:
            message = f"{source}: {message}"
        self._result.failures.append(
            Failure(analyzer="ingest", category=exc.category.value, message=message, source=source)
        )
