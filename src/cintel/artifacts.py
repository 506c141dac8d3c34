"""Derived files (decoded audio, keyframes, waveform peaks), content-addressed.

An artifact's key is the SHA-256 of its bytes; it lives at ``<root>/ab/abcdef…``
on a local folder or any fsspec URL, so the same bytes are stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import fsspec

_CHUNK = 1 << 20


class Artifacts:
    """A content-addressed file store on a folder or an fsspec URL."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.root)

    def _path(self, key: str) -> str:
        return f"{self.base}/{key[:2]}/{key}"

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their key."""
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if not self.fs.exists(path):
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            with self.fs.open(path, "wb") as out:
                out.write(data)
        return key

    def put_file(self, local_path: str | Path) -> str:
        """Store a local file (streamed, never read whole); returns its key."""
        digest = hashlib.sha256()
        with Path(local_path).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        key = digest.hexdigest()
        path = self._path(key)
        if not self.fs.exists(path):
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            self.fs.put_file(str(local_path), path)
        return key

    def put_named(self, namespace: str, name: str, data: bytes) -> None:
        """Store bytes under a caller-chosen name (caches keyed by request, not by content)."""
        path = f"{self.base}/{namespace}/{name[:2]}/{name}"
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(path, "wb") as out:
            out.write(data)

    def get_named(self, namespace: str, name: str) -> bytes | None:
        """Bytes stored with ``put_named``, or None."""
        path = f"{self.base}/{namespace}/{name[:2]}/{name}"
        try:
            with self.fs.open(path, "rb") as handle:
                data: bytes = handle.read()
                return data
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> bool:
        """Remove an artifact; False when it was not there."""
        try:
            self.fs.rm_file(self._path(key))
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        """Whether an artifact with this key is stored."""
        return bool(self.fs.exists(self._path(key)))

    def open(self, key: str) -> object:
        """A binary file object for reading the artifact."""
        return self.fs.open(self._path(key), "rb")

    def get_bytes(self, key: str) -> bytes:
        """The artifact's bytes."""
        with self.fs.open(self._path(key), "rb") as handle:
            data: bytes = handle.read()
            return data

    def local_path(self, key: str) -> Path:
        """A local path holding the artifact (the stored file itself on a local folder)."""
        if self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol:
            return Path(self._path(key))
        fd, tmp = tempfile.mkstemp(prefix=f"cintel-{key[:12]}-")
        os.close(fd)
        self.fs.get_file(self._path(key), tmp)
        return Path(tmp)
