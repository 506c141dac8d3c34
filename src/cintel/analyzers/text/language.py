"""``text.language``: being written; replaced by the real analyzer in this change."""

from __future__ import annotations

from pydantic import BaseModel

from cintel.analyzers.base import AnalysisInput, Analyzer
from cintel.model import ContentKind


class _Pending(BaseModel):
    pass


class TextLanguage(Analyzer):
    """Being written."""

    name = "text.language"
    version = "0.0.0"
    kinds = frozenset({ContentKind.TEXT, ContentKind.AUDIO, ContentKind.VIDEO})
    needs = ("text.extract",)
    Output = _Pending

    def analyze(self, item: AnalysisInput) -> BaseModel:
        raise NotImplementedError
