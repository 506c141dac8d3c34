"""Server-side path intake: only files and folders under configured roots.

Used where a caller who is not the operator names a path (the API, event
messages). The path is resolved, symbolic links included, before it is
compared with the roots, so ``..`` and links out of a root are refused. A
manifest or feed is refused too: it may list files anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cintel.errors import BadInputError, NotFoundError
from cintel.ingest.ingestor import FEED_SUFFIXES, MANIFEST_SUFFIXES


def confine(path: str, roots: Sequence[Path], who: str = "this server") -> Path:
    """The resolved ``path`` when it lies under one of ``roots``; otherwise a clear error."""
    if not roots:
        raise BadInputError(
            f"paths are not accepted by {who} ({path}); send an http(s) URL, or have an "
            "operator allow folders with CINTEL_SERVER_PATH_ROOTS"
        )
    try:
        # A symbolic link loop raises RuntimeError here (OSError from Python 3.13).
        resolved = Path(path).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise BadInputError(f"{path!r} is not a usable path ({exc}); check it") from None
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        raise BadInputError(f"{path} is outside the folders {who} may read")
    try:
        exists, is_file = resolved.exists(), resolved.is_file()
    except OSError as exc:  # a name component over the file system's limit, and the like
        raise BadInputError(f"{path!r} is not a usable path ({exc.strerror}); check it") from None
    if not exists:
        raise NotFoundError(f"{path} does not exist")
    if is_file and resolved.suffix.lower() in (*MANIFEST_SUFFIXES, *FEED_SUFFIXES):
        raise BadInputError(
            f"{path} is a manifest or feed, which may list files anywhere; submit its items "
            "one by one"
        )
    return resolved
