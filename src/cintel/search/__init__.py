"""Search over what contents say: lexical, vector and hybrid, to the moment, per tenant.

``Searcher(store, settings).search(SearchQuery(text=...), tenant)`` answers hits
(content, start and end, a highlighted snippet, a score); ``similar`` finds the
contents closest in meaning to one. ``NearDuplicates(store).near(id, tenant)``
finds an image's near copies by perceptual hash, ``duplicate_clusters`` all of a
tenant's. Names are imported on first use, so a caller that needs one part does not load
the vector index.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DuplicateCluster": "cintel.search.duplicates.schemas",
    "NearDuplicate": "cintel.search.duplicates.schemas",
    "NearDuplicates": "cintel.search.duplicates.near_images",
    "duplicate_clusters": "cintel.search.duplicates.near_images",
    "SearchFilters": "cintel.search.text.schemas",
    "SearchHit": "cintel.search.text.schemas",
    "SearchQuery": "cintel.search.text.schemas",
    "SearchResult": "cintel.search.text.schemas",
    "SimilarItem": "cintel.search.text.schemas",
    "Searcher": "cintel.search.text.searcher",
}

__all__ = [
    "DuplicateCluster",
    "NearDuplicate",
    "NearDuplicates",
    "SearchFilters",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "Searcher",
    "SimilarItem",
    "duplicate_clusters",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cintel.search' has no attribute {name!r}")


if TYPE_CHECKING:
    from cintel.search.duplicates.near_images import NearDuplicates, duplicate_clusters
    from cintel.search.duplicates.schemas import DuplicateCluster, NearDuplicate
    from cintel.search.text.schemas import (
        SearchFilters,
        SearchHit,
        SearchQuery,
        SearchResult,
        SimilarItem,
    )
    from cintel.search.text.searcher import Searcher
