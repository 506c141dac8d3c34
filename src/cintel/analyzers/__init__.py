"""Analyzers: the contract (``base``) and cintel's own, one family per subpackage."""

from cintel.analyzers.base import (
    AnalysisInput,
    Analyzer,
    NoConfig,
    Resources,
    Result,
    registry,
)

__all__ = ["AnalysisInput", "Analyzer", "NoConfig", "Resources", "Result", "registry"]
