"""cintel: content intelligence — turn audio, video, images and text into typed, time-coded signals.

The public surface is small: the nouns (``Content``, ``Segment``, ``Signal``),
the analyzer contract (``Analyzer``, ``AnalysisInput``, ``Result``), settings,
stores, pipelines and ``run_pipeline``. Everything else is internal.

Names are imported on first use, so a worker process that only needs the
analyzer contract does not pay for the store, the database drivers and the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AnalysisInput": "cintel.analyzers.base",
    "Analyzer": "cintel.analyzers.base",
    "Resources": "cintel.analyzers.base",
    "Result": "cintel.analyzers.base",
    "registry": "cintel.analyzers.base",
    "Limits": "cintel.config",
    "Settings": "cintel.config",
    "AnalysisError": "cintel.errors",
    "BadInputError": "cintel.errors",
    "CintelError": "cintel.errors",
    "ConfigError": "cintel.errors",
    "InternalError": "cintel.errors",
    "TransientError": "cintel.errors",
    "Content": "cintel.model",
    "ContentKind": "cintel.model",
    "ContentMetadata": "cintel.model",
    "Failure": "cintel.model",
    "Segment": "cintel.model",
    "Signal": "cintel.model",
    "Pipeline": "cintel.pipeline",
    "load_pipeline": "cintel.pipeline",
    "RunReport": "cintel.usecases.run",
    "run_pipeline": "cintel.usecases.run",
    "Store": "cintel.store",
    "open_store": "cintel.store",
}

__all__ = [
    "AnalysisError",
    "AnalysisInput",
    "Analyzer",
    "BadInputError",
    "CintelError",
    "ConfigError",
    "Content",
    "ContentKind",
    "ContentMetadata",
    "Failure",
    "InternalError",
    "Limits",
    "Pipeline",
    "Resources",
    "Result",
    "RunReport",
    "Segment",
    "Settings",
    "Signal",
    "Store",
    "TransientError",
    "__version__",
    "load_pipeline",
    "open_store",
    "registry",
    "run_pipeline",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cintel' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result, registry
    from cintel.config import Limits, Settings
    from cintel.errors import (
        AnalysisError,
        BadInputError,
        CintelError,
        ConfigError,
        InternalError,
        TransientError,
    )
    from cintel.model import Content, ContentKind, ContentMetadata, Failure, Segment, Signal
    from cintel.pipeline import Pipeline, load_pipeline
    from cintel.store import Store, open_store
    from cintel.usecases.run import RunReport, run_pipeline
