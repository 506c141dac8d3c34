"""The analyzer contract and the registry every analyzer, built-in or third-party, joins.

An analyzer is a named, versioned unit of analysis. It declares the content
kinds it accepts, the analyzers whose signals it needs, a pydantic ``Config``
and ``Output``, the resources one call takes, and the models it loads. The
runner calls ``setup()`` once per worker and then ``analyze`` or
``analyze_batch`` on inputs whose upstream signals are already computed.

Third-party packages register analyzers through the entry point group
``cintel.analyzers``; cintel's own analyzers are registered the same way.
Modules named in ``CINTEL_PLUGINS`` (comma-separated) are imported too and
every analyzer class they define is registered, for analyzers under
development that are not packaged yet.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from cintel.artifacts import Artifacts
from cintel.config import Limits, LLMSettings
from cintel.errors import ConfigError, UnknownNameError
from cintel.model import Content, ContentKind, Segment, Signal

if TYPE_CHECKING:
    from cintel.llm.session import LLMSession

ENTRY_POINT_GROUP = "cintel.analyzers"
PLUGINS_ENV = "CINTEL_PLUGINS"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

ConfigT = TypeVar("ConfigT", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=BaseModel)


class NoConfig(BaseModel):
    """The config of an analyzer that takes no options."""

    model_config = ConfigDict(extra="forbid")


class Resources(BaseModel):
    """What one call of an analyzer takes; the Ray runner turns these into Ray resources."""

    model_config = ConfigDict(frozen=True)

    cpu: float = Field(1.0, ge=0)
    gpu: float = Field(0.0, ge=0)
    memory_mb: int = Field(256, ge=0)
    batch_size: int | None = Field(
        None, ge=1, description="fixed batch size; None lets the runner size batches"
    )


@dataclass
class AnalysisInput:
    """What an analyzer sees of one content: the content, a readable path, upstream signals."""

    content: Content
    path: str
    upstream: dict[str, Signal] = field(default_factory=dict)
    artifacts: Artifacts | None = None
    llm: LLMSession | None = None
    """The LLM session when one is configured and the analyzer declares prompts."""

    def artifact_store(self) -> Artifacts:
        """Where derived files go; the runner always provides it."""
        if self.artifacts is None:
            raise ConfigError("no artifact store was given to this analysis")
        return self.artifacts

    def need(self, name: str) -> Signal:
        """The upstream signal ``name``; the pipeline guarantees it when declared in needs."""
        try:
            return self.upstream[name]
        except KeyError:
            raise ConfigError(
                f"upstream signal {name!r} is missing; declare it in the analyzer's needs"
            ) from None


@dataclass
class Result:
    """An analyzer's answer for one content: its output, segments and cost details."""

    value: BaseModel
    segments: list[Segment] = field(default_factory=list)
    model_id: str | None = None
    model_checksum: str | None = None
    gpu_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


class Analyzer(ABC, Generic[ConfigT, OutputT]):
    """Base class of every analyzer. Subclasses set the class attributes and ``analyze``.

    An analyzer names its config and output types as type arguments,
    ``class Loudness(Analyzer[LoudnessConfig, LoudnessOutput])``: they become its
    ``Config`` and ``Output``, and ``self.config`` is typed as its own config.
    Analyzers that take no options use ``NoConfig``.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    kinds: ClassVar[frozenset[ContentKind]]
    needs: ClassVar[tuple[str, ...]] = ()
    needs_by_kind: ClassVar[dict[ContentKind, tuple[str, ...]]] = {}
    Config: ClassVar[type[BaseModel]] = NoConfig
    Output: ClassVar[type[BaseModel]]
    resources: ClassVar[Resources] = Resources()
    models: ClassVar[tuple[str, ...]] = ()
    prompts: ClassVar[tuple[str, ...]] = ()
    """Built-in prompts an LLM-backed analyzer sends; declaring any gives it ``item.llm``."""

    config: ConfigT
    limits: Limits

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            origin = get_origin(base)
            if not (isinstance(origin, type) and issubclass(origin, Analyzer)):
                continue
            config_type, output_type = (*get_args(base), None, None)[:2]
            if isinstance(config_type, type) and "Config" not in cls.__dict__:
                cls.Config = config_type
            if isinstance(output_type, type) and "Output" not in cls.__dict__:
                cls.Output = output_type

    def __init__(
        self, config: BaseModel | dict[str, Any] | None = None, limits: Limits | None = None
    ):
        self.config = cast(ConfigT, self.make_config(config))
        self.limits = limits or Limits()

    @classmethod
    def make_config(cls, config: BaseModel | dict[str, Any] | None) -> BaseModel:
        """Validate a config given as a model, a mapping or nothing (the defaults)."""
        if isinstance(config, cls.Config):
            return config
        data = config.model_dump() if isinstance(config, BaseModel) else (config or {})
        try:
            return cls.Config.model_validate(data)
        except ValueError as exc:
            raise ConfigError(f"invalid config for analyzer {cls.name!r}: {exc}") from exc

    @classmethod
    def needs_for(cls, kind: ContentKind) -> tuple[str, ...]:
        """Upstream analyzers on a content of ``kind``: ``needs_by_kind`` if it names the
        kind, else ``needs`` (``text.extract`` reads a file for text, a transcript for audio)."""
        return cls.needs_by_kind.get(kind, cls.needs)

    @classmethod
    def all_needs(cls) -> tuple[str, ...]:
        """Every upstream analyzer this one may need, over all the kinds it accepts."""
        names = [name for kind in sorted(cls.kinds) for name in cls.needs_for(kind)]
        return tuple(dict.fromkeys(names))

    @classmethod
    def uses_llm(cls, config: BaseModel) -> bool:
        """Whether this analyzer, so configured, may call an LLM."""
        return bool(cls.prompts) and getattr(config, "llm", "auto") != "off"

    @classmethod
    def resources_for(cls, config: dict[str, Any]) -> Resources:
        """What one call takes with ``config``: the declared resources, and a whole GPU
        where the config asks for ``device = "cuda"`` (so the Ray runner places the
        analyzer on a GPU worker; ``auto`` uses one only where the worker has it)."""
        if config.get("device") == "cuda" and not cls.resources.gpu:
            return cls.resources.model_copy(update={"gpu": 1.0})
        return cls.resources

    @classmethod
    def key_parts(cls, config: BaseModel, llm: LLMSettings) -> tuple[str, ...]:
        """What besides models goes into the result key: for LLM-backed analyzers the
        prompt hashes and the LLM's identity, so a new prompt or model recomputes."""
        if not cls.uses_llm(config):
            return ()
        from cintel.llm.prompts import load_prompt

        return (llm.identity, *(load_prompt(name).digest for name in cls.prompts))

    @classmethod
    def describe(cls) -> str:
        """The first paragraph of the docstring: what the analyzer is for."""
        doc = (cls.__doc__ or "").strip()
        return " ".join(doc.split("\n\n", 1)[0].split())

    def setup(self) -> None:
        """Load models and other heavy state; called once per worker before any analysis."""

    @abstractmethod
    def analyze(self, item: AnalysisInput) -> Result | OutputT:
        """Analyse one content. Raise ``BadInputError`` for broken input."""

    def analyze_batch(self, items: Sequence[AnalysisInput]) -> list[Result | OutputT | Exception]:
        """Analyse several contents; override when a batch is cheaper than its items.

        A failure of one item is returned in its place, so the others still count.
        """
        out: list[Result | OutputT | Exception] = []
        for item in items:
            try:
                out.append(self.analyze(item))
            except Exception as exc:
                out.append(exc)
        return out


def as_result(answer: Result | BaseModel) -> Result:
    """Normalise what ``analyze`` returned into a ``Result``."""
    return answer if isinstance(answer, Result) else Result(value=answer)


AnyAnalyzer = Analyzer[Any, Any]
"""An analyzer of any config and output, for code that handles every analyzer alike."""


class Registry:
    """Analyzer classes by name, filled from the ``cintel.analyzers`` entry points."""

    def __init__(self) -> None:
        self._classes: dict[str, type[AnyAnalyzer]] = {}
        self._loaded = False

    def _load_entry_points(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            cls = ep.load()
            if ep.name != getattr(cls, "name", None):
                raise ConfigError(
                    f"entry point {ep.name!r} in group {ENTRY_POINT_GROUP} loads {cls!r}, "
                    f"whose name is {getattr(cls, 'name', None)!r}; make them match"
                )
            self.register(cls, replace=True)
        for module_name in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
            self.load_module(module_name.strip())

    def load_module(self, module_name: str) -> list[str]:
        """Register every analyzer class defined in a module (``CINTEL_PLUGINS`` does this)."""
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                f"cannot import analyzer module {module_name!r} named in {PLUGINS_ENV}: {exc}"
            ) from exc
        names = []
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, Analyzer)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
            ):
                self.register(cls, replace=True)
                names.append(cls.name)
        return names

    def register(self, cls: type[AnyAnalyzer], *, replace: bool = False) -> type[AnyAnalyzer]:
        """Add an analyzer class (usable as a decorator); names are unique."""
        validate_analyzer_class(cls)
        if cls.name in self._classes and not replace and self._classes[cls.name] is not cls:
            raise ConfigError(f"analyzer {cls.name!r} is registered twice")
        self._classes[cls.name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove an analyzer (tests register temporary ones)."""
        self._classes.pop(name, None)

    def get(self, name: str) -> type[AnyAnalyzer]:
        """The analyzer class called ``name``; the error lists the known names."""
        self._load_entry_points()
        try:
            return self._classes[name]
        except KeyError:
            raise UnknownNameError("analyzer", name, list(self._classes)) from None

    def names(self) -> list[str]:
        """Every registered analyzer name, sorted."""
        self._load_entry_points()
        return sorted(self._classes)

    def all(self) -> list[type[AnyAnalyzer]]:
        """Every registered analyzer class, sorted by name."""
        return [self._classes[n] for n in self.names()]


def validate_analyzer_class(cls: type[AnyAnalyzer]) -> None:
    """Check that an analyzer class declares everything the runner relies on."""
    if not (isinstance(cls, type) and issubclass(cls, Analyzer)):
        raise ConfigError(f"{cls!r} is not an Analyzer subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{cls.__name__}: name must look like 'family.thing', got {name!r}")
    for attr in ("version", "kinds", "Output"):
        if not hasattr(cls, attr):
            raise ConfigError(f"analyzer {name!r} does not declare {attr}")
    if not cls.kinds:
        raise ConfigError(f"analyzer {name!r} accepts no content kinds")


registry = Registry()
