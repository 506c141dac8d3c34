"""Near duplicates: the same picture, resized or re-encoded, across images and video keyframes.

Perceptual hashes (``image.hash``) are indexed in memory by multi-index hashing;
an image finds its near copies and the videos that show it, a video the videos
that share its footage. Separate from text search: neither imports the other.

The modules, each over the ones before it:

- ``constants``: the analyzer, hash size, distances and timings (imports nothing);
- ``index``: the in-memory hash index (numpy), pairs and clusters;
- ``schemas``: the API's models (``NearDuplicate``, ``DuplicateCluster``, ``FrameMatch``);
- ``readers``: the hashes read from the store (SQL) and the tenant's titles;
- ``refresh``: reads beside the lookups, one index per open store;
- ``footage``: the video keyframes' lookup (``KeyframeHashes``);
- ``near_images``: the image lookup (``NearDuplicates``, ``duplicate_clusters``,
  ``with_near_duplicates``), videos' shared footage included.

Names are imported on first use, so that ``constants`` loads without numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DEFAULT_DISTANCE": "cintel.search.duplicates.constants",
    "HASH_ANALYZER": "cintel.search.duplicates.constants",
    "MAX_DISTANCE": "cintel.search.duplicates.constants",
    "HashIndex": "cintel.search.duplicates.index",
    "image_distances": "cintel.search.duplicates.index",
    "image_hash_index": "cintel.search.duplicates.index",
    "DuplicateCluster": "cintel.search.duplicates.schemas",
    "FrameMatch": "cintel.search.duplicates.schemas",
    "NearDuplicate": "cintel.search.duplicates.schemas",
    "KeyframeHashes": "cintel.search.duplicates.footage",
    "shared_keyframe_hashes": "cintel.search.duplicates.footage",
    "NearDuplicates": "cintel.search.duplicates.near_images",
    "duplicate_clusters": "cintel.search.duplicates.near_images",
    "shared_near_duplicates": "cintel.search.duplicates.near_images",
    "with_near_duplicates": "cintel.search.duplicates.near_images",
}

__all__ = [
    "DEFAULT_DISTANCE",
    "HASH_ANALYZER",
    "MAX_DISTANCE",
    "DuplicateCluster",
    "FrameMatch",
    "HashIndex",
    "KeyframeHashes",
    "NearDuplicate",
    "NearDuplicates",
    "duplicate_clusters",
    "image_distances",
    "image_hash_index",
    "shared_keyframe_hashes",
    "shared_near_duplicates",
    "with_near_duplicates",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cintel.search.duplicates' has no attribute {name!r}")


if TYPE_CHECKING:
    from cintel.search.duplicates.constants import DEFAULT_DISTANCE, HASH_ANALYZER, MAX_DISTANCE
    from cintel.search.duplicates.footage import KeyframeHashes, shared_keyframe_hashes
    from cintel.search.duplicates.index import HashIndex, image_distances, image_hash_index
    from cintel.search.duplicates.near_images import (
        NearDuplicates,
        duplicate_clusters,
        shared_near_duplicates,
        with_near_duplicates,
    )
    from cintel.search.duplicates.schemas import DuplicateCluster, FrameMatch, NearDuplicate
