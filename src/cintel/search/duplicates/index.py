"""The in-memory index of 64-bit perceptual hashes: radius search by multi-index hashing,
every pair within a distance, and images in clusters of near copies (numpy, scipy).

``HashIndex`` answers radius queries by multi-index hashing. A hash is cut into
four 16-bit bands; if two hashes are at most ``d`` bits apart, then on some band
``i`` they are at most ``r_i`` bits apart, for any radii adding up to ``d - 3``
(were every band further apart, the whole would differ in ``d + 1`` bits or more).
A query visits, in each band, every bucket within ``r_i`` bits of its own band
value (137 buckets for a radius of 2) in a table of the hashes sorted by that band,
and checks the candidates' whole distance with a popcount. Among a million images
(two million hashes), at distance 10, an image's two hashes visit 856 buckets and
check some 26,000 candidates instead of two million.

An image has two pHashes, of the whole picture and of its inner part
(``phash_inner``: a thin border trimmed), and the distance between two images is the
smallest between any of their hashes: a copy cropped by a few percent on each side is
then as close as a resized or recompressed one. ``image_hash_index`` indexes both.

Knows nothing of the store: the arrays come from ``readers``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np

from cintel.search.duplicates.constants import HASH_BITS

BANDS = 4
BAND_BITS = HASH_BITS // BANDS
BUCKETS = 1 << BAND_BITS
# Candidates one batch of ``HashIndex.pairs`` may check, to bound its memory.
PAIR_BATCH = 1 << 21

_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(values: np.ndarray) -> np.ndarray:
    """Bits set in each of an array of unsigned 64-bit integers."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):  # numpy 2
        counted: np.ndarray = np.bitwise_count(values)
        return counted
    return popcount_by_bytes(values)


def popcount_by_bytes(values: np.ndarray) -> np.ndarray:
    """``popcount`` by a table of bytes, for numpy before 2.0."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    as_bytes = _BYTE_BITS[values.view(np.uint8)].reshape(*values.shape, 8)
    summed: np.ndarray = as_bytes.sum(axis=-1, dtype=np.uint8)
    return summed


def band_radii(distance: int) -> tuple[int, ...]:
    """How far to search each band so that every hash within ``distance`` is found."""
    spare = max(distance - BANDS + 1, 0)
    base, extra = divmod(spare, BANDS)
    return tuple(base + (1 if band < extra else 0) for band in range(BANDS))


@cache
def _masks(radius: int) -> np.ndarray:
    """Every band value with at most ``radius`` bits set: XORed with a band value, the
    buckets within that radius of it."""
    values = np.arange(BUCKETS, dtype=np.uint64)
    masks: np.ndarray = values[popcount(values) <= radius].astype(np.int64)
    return masks


def _band(hashes: np.ndarray, band: int) -> np.ndarray:
    shift = np.uint64(BAND_BITS * (BANDS - 1 - band))
    values: np.ndarray = ((hashes >> shift) & np.uint64(BUCKETS - 1)).astype(np.uint16)
    return values


def closest(keys: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key once with its smallest distance, nearest first (then by key)."""
    if len(keys) == 0:
        return keys, distances
    order = np.lexsort((distances, keys))
    keys, distances = keys[order], distances[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keys, distances = keys[first], distances[first]
    order = np.lexsort((keys, distances))
    return keys[order], distances[order]


class HashIndex:
    """Radius search in Hamming distance over 64-bit hashes, each under an integer key
    (an image's hashes share its key). Built once; safe to read from many threads."""

    def __init__(self, hashes: np.ndarray, keys: np.ndarray) -> None:
        self.hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        self.keys = np.ascontiguousarray(keys, dtype=np.int64)
        if self.hashes.ndim != 1 or self.hashes.shape != self.keys.shape:
            raise ValueError(
                f"expected as many keys as hashes, got {self.keys.shape} and {self.hashes.shape}"
            )
        size = len(self.hashes)
        position = np.int32 if BANDS * size < 2**31 else np.int64
        starts = np.zeros(BANDS * BUCKETS + 1, dtype=np.int64)
        orders = []
        for band in range(BANDS):
            values = _band(self.hashes, band)
            orders.append(np.argsort(values, kind="stable").astype(position))
            counts = np.bincount(values, minlength=BUCKETS)
            starts[band * BUCKETS + 1 : (band + 1) * BUCKETS + 1] = band * size + np.cumsum(counts)
        # Band after band: which hash sits at each place of the sorted tables, and the
        # hashes themselves in that order, so a bucket's candidates are read in one run.
        self._entries = np.concatenate(orders) if size else np.zeros(0, dtype=position)
        self._sorted = self.hashes[self._entries]
        self._starts = starts

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def nbytes(self) -> int:
        """Memory the index holds, in bytes."""
        return sum(a.nbytes for a in (self.hashes, self.keys, self._entries, self._sorted))

    def _probes(self, distance: int) -> int:
        return sum(len(_masks(r)) for r in band_radii(distance))

    def _brute(self, distance: int) -> bool:
        # Past half the buckets, or more buckets than hashes, comparing with every hash
        # is cheaper than visiting the buckets.
        probes = self._probes(distance)
        return probes > BUCKETS // 2 or probes > len(self)

    def _candidates(self, queries: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
        """(query index, place in the sorted tables) of every hash the search must check."""
        size = len(self)
        if self._brute(distance):
            query = np.repeat(np.arange(len(queries)), size)
            place = np.tile(np.arange(size), len(queries))
            return query, place
        buckets = np.concatenate(
            [
                band * BUCKETS
                + (_band(queries, band).astype(np.int64)[:, None] ^ _masks(radius)[None, :])
                for band, radius in enumerate(band_radii(distance))
            ],
            axis=1,
        )
        low = self._starts[buckets].ravel()
        counts = self._starts[buckets + 1].ravel() - low
        total = int(counts.sum())
        ends = np.cumsum(counts)
        place = np.arange(total) + np.repeat(low - (ends - counts), counts)
        query = np.repeat(np.repeat(np.arange(len(queries)), buckets.shape[1]), counts)
        return query, place

    def query(self, hashes: Iterable[int] | np.ndarray, distance: int) -> tuple[np.ndarray, ...]:
        """Keys with a hash within ``distance`` bits of any of ``hashes``, and each one's
        smallest distance, nearest first."""
        queries = np.asarray(
            hashes if isinstance(hashes, np.ndarray) else list(hashes), dtype=np.uint64
        ).ravel()
        if len(self) == 0 or len(queries) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
        query, place = self._candidates(queries, distance)
        distances = popcount(self._sorted[place] ^ queries[query])
        near = distances <= distance
        keys = self.keys[self._entries[place[near]]]
        return closest(keys, distances[near])

    def pairs(self, distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of keys ``a < b`` with hashes within ``distance`` bits, and the
        smallest distance between their hashes."""
        size = len(self)
        per_query = size if self._brute(distance) else self._probes(distance) * size / BUCKETS
        step = max(1, int(PAIR_BATCH // max(per_query, 1.0)))
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, size, step):
            mine = np.arange(start, min(start + step, size))
            query, place = self._candidates(self.hashes[mine], distance)
            distances = popcount(self._sorted[place] ^ self.hashes[mine][query])
            first = self.keys[mine][query]
            second = self.keys[self._entries[place]]
            keep = (distances <= distance) & (first < second)
            found.append((first[keep], second[keep], distances[keep]))
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.uint8)
        first = np.concatenate([f[0] for f in found])
        second = np.concatenate([f[1] for f in found])
        distances = np.concatenate([f[2] for f in found])
        order = np.lexsort((distances, second, first))
        first, second, distances = first[order], second[order], distances[order]
        new = np.ones(len(first), dtype=bool)
        new[1:] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
        return first[new], second[new], distances[new]


def image_hash_index(full: np.ndarray, inner: np.ndarray) -> HashIndex:
    """The index of images ``0..n-1`` by their whole and inner hashes."""
    rows = np.arange(len(full), dtype=np.int64)
    return HashIndex(np.concatenate([full, inner]), np.concatenate([rows, rows]))


def image_distances(queries: np.ndarray, full: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The smallest distance from any of ``queries`` to each image's whole or inner hash."""
    best = np.full(len(full), HASH_BITS, dtype=np.uint8)
    for query in np.asarray(queries, dtype=np.uint64).ravel():
        best = np.minimum(best, popcount(full ^ query))
        best = np.minimum(best, popcount(inner ^ query))
    return best


def image_clusters(
    full: np.ndarray, inner: np.ndarray, distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images ``0..n-1`` (at least one) in clusters of near duplicates, pairs within
    ``distance`` joined transitively: each image's cluster label, its distance to the
    closest other image (``HASH_BITS + 1``: none within ``distance``), and each
    cluster's count of pairs, by label."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    size = len(full)
    first, second, distances = image_hash_index(full, inner).pairs(distance)
    graph = coo_matrix((np.ones(len(first)), (first, second)), shape=(size, size))
    labels: np.ndarray
    _, labels = connected_components(graph, directed=False)
    nearest = np.full(size, HASH_BITS + 1, dtype=np.int64)
    np.minimum.at(nearest, first, distances.astype(np.int64))
    np.minimum.at(nearest, second, distances.astype(np.int64))
    edges = np.bincount(labels[first], minlength=labels.max() + 1)
    return labels, nearest, edges
