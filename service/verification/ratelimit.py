"""Token-bucket rate limiters, one bucket per client key (the client IP, an OAuth client id).

:class:`RateLimiter` is bounded and in memory, per process: with several workers each allows the
configured rate; when its table is full the least recently seen client is forgotten. On PostgreSQL
:class:`SharedLimiter` keeps the buckets in the table ``rate_limit_buckets`` instead, so every process
and machine shares them (``limits.rate_limit_store``; :func:`make_limiter` chooses).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Float, String, bindparam, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings

logger = logging.getLogger(__name__)


class RateLimiter:
    """``per_minute`` sustained requests, ``burst`` at once, for at most ``max_clients`` keys."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        max_clients: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str, amount: float = 1.0) -> float | None:
        """Take ``amount`` tokens for ``key``: ``None`` when allowed, else the seconds until they are."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            if tokens >= amount:
                self._buckets[key] = (tokens - amount, now)
                allowed = True
            else:
                self._buckets[key] = (tokens, now)
                allowed = False
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1.0, math.ceil((amount - tokens) / self.rate))

    def debit(self, key: str, amount: float) -> None:
        """Take ``amount`` more tokens from ``key`` for work already done (measured afterwards): the
        bucket may go below zero, down to ``-burst``, and the client waits until it has refilled."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            self._buckets[key] = (max(-self.burst, tokens - amount), now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


class Limiter(Protocol):
    """What the routes use: take ``amount`` tokens for ``key``; ``None`` when allowed, else the
    seconds until they are. ``debit`` charges work measured after it was allowed."""

    async def acquire(self, key: str, amount: float = 1.0) -> float | None: ...

    async def debit(self, key: str, amount: float) -> None: ...


class LocalLimiter:
    """:class:`RateLimiter` (in this process) behind the async :class:`Limiter` interface."""

    def __init__(self, per_minute: int, burst: int, max_clients: int) -> None:
        self.buckets = RateLimiter(per_minute, burst, max_clients)

    async def acquire(self, key: str, amount: float = 1.0) -> float | None:
        return self.buckets.acquire(key, amount)

    async def debit(self, key: str, amount: float) -> None:
        self.buckets.debit(key, amount)


# One statement takes the tokens and says whether it could: the row lock of the upsert serializes
# concurrent takers of one key across every process and machine; the database clock is the only clock
# (no skew between app servers). SET expressions read the row as it was before the update.
_TAKE = text(
    """
    INSERT INTO rate_limit_buckets AS b (scope, key, tokens, seen, allowed)
    SELECT :scope, :key,
           CASE WHEN :burst >= :amount THEN :burst - :amount ELSE :burst END,
           extract(epoch FROM clock_timestamp()), :burst >= :amount
    ON CONFLICT (scope, key) DO UPDATE SET
      tokens = LEAST(:burst, b.tokens + GREATEST(0, EXCLUDED.seen - b.seen) * :rate)
               - CASE WHEN LEAST(:burst, b.tokens + GREATEST(0, EXCLUDED.seen - b.seen) * :rate) >= :amount
                      THEN :amount ELSE 0 END,
      allowed = LEAST(:burst, b.tokens + GREATEST(0, EXCLUDED.seen - b.seen) * :rate) >= :amount,
      seen = GREATEST(b.seen, EXCLUDED.seen)
    RETURNING b.tokens, b.allowed
    """
).bindparams(
    bindparam("scope", type_=String()),
    bindparam("key", type_=String()),
    bindparam("burst", type_=Float()),
    bindparam("amount", type_=Float()),
    bindparam("rate", type_=Float()),
)
# Work measured after it was allowed: the bucket may go below zero (down to -burst).
_DEBIT = text(
    """
    INSERT INTO rate_limit_buckets AS b (scope, key, tokens, seen, allowed)
    SELECT :scope, :key, GREATEST(-:burst, :burst - :amount), extract(epoch FROM clock_timestamp()), true
    ON CONFLICT (scope, key) DO UPDATE SET
      tokens = GREATEST(-:burst, LEAST(:burst, b.tokens + GREATEST(0, EXCLUDED.seen - b.seen) * :rate)
                                 - :amount),
      seen = GREATEST(b.seen, EXCLUDED.seen)
    """
).bindparams(
    bindparam("scope", type_=String()),
    bindparam("key", type_=String()),
    bindparam("burst", type_=Float()),
    bindparam("amount", type_=Float()),
    bindparam("rate", type_=Float()),
)
# Buckets full again (idle for longer than a full refill) carry no information: forget them.
_PRUNE = text(
    "DELETE FROM rate_limit_buckets"
    " WHERE scope = :scope AND seen < extract(epoch FROM clock_timestamp()) - :idle"
).bindparams(bindparam("scope", type_=String()), bindparam("idle", type_=Float()))
PRUNE_EVERY = 1000


class SharedLimiter:
    """A token bucket per key in the PostgreSQL table ``rate_limit_buckets``, shared by every process
    using the database: ``--workers 4`` or four machines allow what one would.

    ``scope`` names the limiter *and its configuration*, so a changed rate starts from full buckets.
    Each take is one statement on its own short transaction (never the request's, which may roll
    back). If the database cannot be reached the process falls back to its own in-memory buckets
    (the request itself will most likely fail on the database anyway).
    """

    def __init__(self, engine: AsyncEngine, name: str, per_minute: int, burst: int, max_clients: int) -> None:
        self.engine = engine
        self.scope = f"{name}:{per_minute}:{burst}"[:64]
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.fallback = RateLimiter(per_minute, burst, max_clients)
        self._takes = 0

    def _params(self, key: str, amount: float) -> dict[str, Any]:
        """The bind parameters of a take or a debit on ``key``'s bucket (long keys by their digest)."""
        stored = key if len(key) <= 128 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return {
            "scope": self.scope,
            "key": stored,
            "burst": self.burst,
            "amount": float(amount),
            "rate": self.rate,
        }

    async def acquire(self, key: str, amount: float = 1.0) -> float | None:
        params = self._params(key, amount)
        try:
            async with self.engine.begin() as conn:
                tokens, allowed = (await conn.execute(_TAKE, params)).one()
                self._takes += 1
                if self._takes % PRUNE_EVERY == 0:
                    idle = self.burst / self.rate + 60.0
                    await conn.execute(_PRUNE, {"scope": self.scope, "idle": idle})
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("shared rate limit unavailable (%s); using this process's buckets", exc)
            return self.fallback.acquire(key, amount)
        if allowed:
            return None
        return max(1.0, math.ceil((amount - float(tokens)) / self.rate))

    async def debit(self, key: str, amount: float) -> None:
        params = self._params(key, amount)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_DEBIT, params)
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("shared rate limit unavailable (%s); using this process's buckets", exc)
            self.fallback.debit(key, amount)


def make_limiter(
    state: Any, settings: Settings, name: str, per_minute: int, burst: int, max_clients: int
) -> Limiter:
    """The limiter ``settings.limits.rate_limit_store`` asks for, on the app's database
    (``state.db``): shared through PostgreSQL, or in this process."""
    store = settings.limits.rate_limit_store
    database = getattr(state, "db", None)
    on_postgres = database is not None and database.dialect == "postgresql"
    if store == "database" or (store == "auto" and on_postgres):
        if database is None or not on_postgres:
            raise RuntimeError("limits.rate_limit_store=database needs PostgreSQL")
        return SharedLimiter(database.engine, name, per_minute, burst, max_clients)
    return LocalLimiter(per_minute, burst, max_clients)
