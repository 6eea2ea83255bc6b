"""The cyclic garbage collector, tuned once per serving or worker process.

A bulk request allocates hundreds of thousands of short-lived objects (5,000 parsed records, their rows,
facts and award checks). With CPython's default thresholds (700, 10, 10) that triggers thousands of
young collections and, every hundred or so, a full one that walks every object the process holds: the
imported modules, the ORM mappers, every Pydantic and GraphQL schema, well over a million objects. Measured
with tests/bench/bench_scale.py (evidence ingest in batches of 5,000 to random learners, 2026-12-07): the
collector was 40 to 60% of the ingesting process's time; frozen and with a larger young generation,
the app's CPU per record went from 478 to 160 microseconds.

``gc.freeze()`` moves what exists once the app is built (long-lived by construction) out of the
collector's reach; a young generation of 50,000 allocations lets a request's temporaries die by
reference counting before the collector looks at them. Memory stays bounded: reference counting still
frees everything without cycles, and cycles created later are still collected.
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700), then 20 young collections per
#: middle one and 20 middle ones per full one (default 10 and 10).
THRESHOLDS = (50_000, 20, 20)

_tuned = False


def tune() -> bool:
    """Collect once, freeze what survives, and raise the thresholds. Once per process (a test suite that
    builds many apps freezes only at the first); returns whether this call did it."""
    global _tuned
    if _tuned:
        return False
    _tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    return True
