"""A bounded memo of verification steps that are pure functions of exact bytes.

Verifying the same credential again (a QR code scanned by several partners, a verification page
reloaded, the status list that every credential of a district points to) repeats work whose outcome
cannot have changed: the JSON Schema and data model checks depend on the document alone, a signature
check on the signed bytes and the public key alone, JSON-LD safe-mode expansion on the document and the
pinned contexts alone. :class:`VerificationMemo` remembers *successes* of those steps, keyed by the
SHA-256 of the document's exact JSON serialization plus whatever else the step depends on (the proof's
position, the verification method id and the public key's bytes), so that:

* a document changed in any byte (a tampered credential) has another key: a miss, checked in full;
* a key that is no longer the one the issuer publishes (rotated, removed, replaced under the same id)
  is another key too; key resolution, the key's verification relationships, the issuer = controller
  check, the validity dates and the status (revocation) are never memoized: they run every time;
* failures are never remembered.

Only documents parsed from JSON text may be memoized (the caller says so by passing a memo): their
values are plain JSON types, so equal serializations mean equal documents. :func:`json_digest`
refuses what it cannot serialize faithfully (non-finite numbers, which orjson writes as ``null``,
strings with lone surrogates, subclasses of the JSON types, datetimes, dataclasses): no digest, no memo.

Bounded (least recently used forgotten first) and safe to share between threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson

_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS

DEFAULT_ENTRIES = 4096


def json_digest(value: Any) -> bytes | None:
    """SHA-256 of ``value``'s exact JSON serialization (key order as given), or ``None`` when ``value``
    cannot be serialized faithfully (then nothing about it may be memoized)."""
    try:
        data = orjson.dumps(value, option=_STRICT)
    except TypeError:  # orjson.JSONEncodeError: a non-JSON type, a lone surrogate, a 65-bit integer
        return None
    if b"null" in data:
        # orjson writes NaN and Infinity (which json.loads accepts) as null: such a document could
        # share its serialization with another one. Credentials carry no nulls (and a string that
        # merely contains "null" only costs a miss).
        return None
    return hashlib.sha256(data).digest()


class VerificationMemo:
    """Remembered successes of pure verification steps (see the module docstring)."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        #: Lookups answered and missed, for benchmarks and tests.
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.max_entries <= 0 or value is None:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
