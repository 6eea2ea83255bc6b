"""A bounded in-memory token-bucket rate limiter, one bucket per client key (the client IP).

Per process: with several workers each allows the configured rate. The table of buckets is bounded;
when full, the least recently seen client is forgotten (it starts again with a full bucket).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


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
