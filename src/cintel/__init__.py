"""cintel: content intelligence — turn audio, video, images and text into typed, time-coded signals.

The public surface is small: the nouns (``Content``, ``Segment``, ``Signal``),
the analyzer contract (``Analyzer``, ``AnalysisInput``, ``Result``), settings,
stores, pipelines and ``run_pipeline``. Everything else is internal.
"""

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
from cintel.run import RunReport, run_pipeline
from cintel.store import Store, open_store

__version__ = "0.1.0"

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
