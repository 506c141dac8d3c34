"""The constants of near-duplicate lookups that more than one module (or a caller) uses:
the analyzer read, the hash size, the distances a caller may ask for, and how often the
in-memory hashes follow the store. This is their one home.

It imports nothing: the CLI reads ``DEFAULT_DISTANCE`` and ``MAX_DISTANCE`` on every
call, and must not load numpy, SQLAlchemy or pydantic with them.
"""

HASH_ANALYZER = "image.hash"
KEYFRAME_LABEL = "keyframe_hash"
"""The label of a video's keyframe segments in its image.hash signal."""
HASH_BITS = 64
# Calibrated on resized, recompressed, cropped and colour-shifted copies of distinct
# pictures (tests/test_near_duplicates.py): copies fall within 10 bits, different
# pictures 16 or more apart.
DEFAULT_DISTANCE = 10
# The most a caller may ask for: past 16 bits a large share of a big catalogue matches
# every query, and a lookup would scan rather than find.
MAX_DISTANCE = 16
# How often lookups ask the store for new signals (at least), how late a row may be
# committed after the time it carries and still be picked up without a full re-read,
# and how often a full re-read may happen: when the store's count of rows disagrees
# with the index's, and otherwise.
SYNC_EVERY_S = 2.0
SETTLE_S = 120.0
RELOAD_EVERY_S = 300.0
REFRESH_EVERY_S = 3600.0
IN_CHUNK = 500
"""Content ids per ``IN (...)`` when answers are joined back to a tenant's contents."""
