"""Search over what contents say: lexical, vector and hybrid, to the moment, per tenant.

``Searcher(store, settings).search(SearchQuery(text=...), tenant)`` answers hits
(content, start and end, a highlighted snippet, a score); ``similar`` finds the
contents closest in meaning to one. ``NearDuplicates(store).near(id, tenant)``
finds an image's near copies by perceptual hash, ``duplicate_clusters`` all of a
tenant's. Names are imported on first use, so the store can write search facets
without loading the vector index.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DuplicateCluster": "cintel.search.hashes",
    "NearDuplicate": "cintel.search.hashes",
    "NearDuplicates": "cintel.search.hashes",
    "duplicate_clusters": "cintel.search.hashes",
    "SearchFilters": "cintel.search.models",
    "SearchHit": "cintel.search.models",
    "SearchQuery": "cintel.search.models",
    "SearchResult": "cintel.search.models",
    "SimilarItem": "cintel.search.models",
    "Searcher": "cintel.search.searcher",
    "facet_rows": "cintel.search.facets",
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
    "facet_rows",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cintel.search' has no attribute {name!r}")


if TYPE_CHECKING:
    from cintel.search.facets import facet_rows
    from cintel.search.hashes import (
        DuplicateCluster,
        NearDuplicate,
        NearDuplicates,
        duplicate_clusters,
    )
    from cintel.search.models import (
        SearchFilters,
        SearchHit,
        SearchQuery,
        SearchResult,
        SimilarItem,
    )
    from cintel.search.searcher import Searcher
