"""Keeping in-memory indexes of a store's hashes fresh: full reads on a thread of their
own beside the lookups (``ReadsBeside``), and one index per open store, shared by every
request on it (``PerStore``)."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from cintel.store import Store

log = logging.getLogger(__name__)
_Held = TypeVar("_Held")


class ReadsBeside:
    """For an in-memory index read whole from the store: a read can run on a thread of
    its own while lookups use the index as it is, and is put in place under the index's
    lock unless another read was put in place since it began.

    A subclass sets ``lock`` and ``_what`` (for the log), calls ``_init_reads`` and
    provides ``_read_all`` (no lock held) and ``_put`` (under the lock).
    """

    lock: threading.RLock
    _what: str

    def _init_reads(self) -> None:
        self._generation = 0  # reads put in place
        self._reader: threading.Thread | None = None

    def _read_all(self) -> Any:
        raise NotImplementedError

    def _put(self, snapshot: Any) -> int:
        raise NotImplementedError

    def _install(self, snapshot: Any, generation: int) -> int:
        if generation != self._generation:
            return 0
        self._generation += 1
        return self._put(snapshot)

    def _read_now(self) -> int:
        """Read and put in place now, holding the lock throughout."""
        with self.lock:
            return self._install(self._read_all(), self._generation)

    def _read_later(self) -> None:
        """Start a read on a thread of its own, unless one is running."""
        if self._reader is not None and self._reader.is_alive():
            return
        self._reader = threading.Thread(
            target=self._read_quietly, name=f"cintel-{self._what.replace(' ', '-')}", daemon=True
        )
        self._reader.start()

    def _read_quietly(self) -> None:
        try:
            generation = self._generation
            snapshot = self._read_all()
            with self.lock:
                self._install(snapshot, generation)
        except Exception:  # the next due sync tries again; lookups keep the old index
            log.exception("%s: reading them again failed", self._what)


class PerStore(Generic[_Held]):
    """One object per open store in this process, made on first use and dropped with the
    store: an in-memory index that every request on a store shares."""

    def __init__(self, make: Callable[[Store], _Held]) -> None:
        self._make = make
        self._held: weakref.WeakKeyDictionary[Store, _Held] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, store: Store) -> _Held:
        """The store's object, made now if this is the first call."""
        with self._lock:
            held = self._held.get(store)
            if held is None:
                held = self._held[store] = self._make(store)
            return held
