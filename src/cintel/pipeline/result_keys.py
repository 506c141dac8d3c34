"""Result keys: the one rule that gives caching, incremental runs and backfills.

A result's key is the SHA-256 of the content id, analyzer name and version,
config hash, the keys of the upstream results it reads and the checksums of the
models it loads. A result with a key that exists is never computed again; a
change to any of these parts changes the key, and so recomputes the analyzer
and, through their upstream keys, everything downstream of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from cintel.digests import canonical_json, sha256_text


def config_hash(config: BaseModel) -> str:
    """Hash of an analyzer config's JSON form, placement fields left out."""
    placement = {
        name
        for name, field in type(config).model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("placement")
    }
    return sha256_text(canonical_json(config.model_dump(mode="json", exclude=placement)))


def result_key(
    content_id: str,
    analyzer: str,
    version: str,
    config_digest: str,
    upstream: Mapping[str, str],
    model_checksums: Sequence[str] = (),
) -> str:
    """The key of one analyzer's result on one content."""
    return sha256_text(
        canonical_json(
            {
                "content": content_id,
                "analyzer": analyzer,
                "version": version,
                "config": config_digest,
                "upstream": dict(sorted(upstream.items())),
                "models": list(model_checksums),
            }
        )
    )
