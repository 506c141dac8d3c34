"""API keys: how they are made, stored (hashed) and checked.

A key reads ``cintel_<id>_<secret>``. The id is public (it names the key in
listings and logs); only the SHA-256 of the secret is stored, and the check
compares in constant time. The secret has 256 bits of entropy, so a fast hash
is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from cintel.errors import AuthenticationError, ConfigError
from cintel.model import TENANT_PATTERN, ApiKey, Scope, utcnow
from cintel.store import Store

PREFIX = "cintel"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(text: str | list[str]) -> list[Scope]:
    """Scopes from ``read,write`` (or a list); unknown names are an error naming the known ones."""
    names = text.split(",") if isinstance(text, str) else text
    scopes: list[Scope] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        try:
            scopes.append(Scope(name))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ConfigError(f"unknown scope {name!r}; scopes are {known}") from None
    if not scopes:
        raise ConfigError("a key needs at least one scope (read, write or admin)")
    return sorted(set(scopes), key=list(Scope).index)


def create_key(
    store: Store,
    tenant: str,
    scopes: list[Scope],
    name: str = "",
    rate_per_min: int | None = None,
) -> tuple[ApiKey, str]:
    """Make and store a key; returns the record and the full key (shown once, never stored)."""
    import re

    if not re.match(TENANT_PATTERN, tenant):
        raise ConfigError(
            f"tenant {tenant!r} is not a valid name; use letters, digits, '_', '.' or '-' "
            "(at most 64 characters, starting with a letter or digit)"
        )
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    record = ApiKey(
        id=key_id,
        tenant=tenant,
        name=name,
        secret_hash=_hash(secret),
        scopes=scopes,
        rate_per_min=rate_per_min,
    )
    store.put_api_key(record)
    return record, f"{PREFIX}_{key_id}_{secret}"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, its tenant and what it may do."""

    key_id: str
    tenant: str
    scopes: frozenset[Scope]
    rate_per_min: int | None

    def can(self, scope: Scope) -> bool:
        """Whether the key holds ``scope`` (admin implies write, write implies read)."""
        if Scope.ADMIN in self.scopes:
            return True
        if scope is Scope.READ:
            return bool(self.scopes & {Scope.READ, Scope.WRITE})
        return scope in self.scopes


class KeyChecker:
    """Checks presented keys against the store, remembering records for a few seconds.

    A revoked key stops working within ``ttl_s`` seconds on every server. A
    key's ``last_used_at`` is written at most once every ``touch_s`` seconds.
    """

    def __init__(self, store: Store, ttl_s: float = 5.0, touch_s: float = 60.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.touch_s = touch_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, -self.touch_s) < self.touch_s:
                return
            self._touched[key_id] = now
        self.store.touch_api_key(key_id, utcnow())

    def _record(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        record = self.store.get_api_key(key_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, record)
        return record

    def check(self, presented: str | None) -> Principal:
        """The principal of a presented key, or an ``AuthenticationError`` saying why not."""
        if not presented:
            raise AuthenticationError(
                "this call needs an API key: send 'Authorization: Bearer <key>' "
                "(create one with: cintel keys create --tenant NAME --scopes read)"
            )
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        record = self._record(key_id) if prefix == PREFIX and key_id and secret else None
        if record is None or not hmac.compare_digest(record.secret_hash, _hash(secret)):
            raise AuthenticationError("the API key is not valid; check it was copied whole")
        if record.revoked_at is not None:
            raise AuthenticationError(
                f"the API key {record.id} was revoked; ask an admin of the tenant for a new one"
            )
        self._touch(record.id)
        return Principal(
            key_id=record.id,
            tenant=record.tenant,
            scopes=frozenset(record.scopes),
            rate_per_min=record.rate_per_min,
        )
