"""Introspection executed in a process of its own, so that it never holds this process's GIL.

An introspection-only operation (``__schema``, ``__type``, ``__typename`` at the root) runs no resolver
of ours and depends only on the schema, which is static. Walking the schema is CPU-bound Python (the
standard introspection query takes about 100 ms, 20 aliased schema walks 400 ms); run in a worker
thread it shares the GIL with the event loop, and every request in flight (REST included) waits for
it. So it runs in one child process per server process (``spawn``ed on first use, then reused), which
answers the JSON body already encoded; the event loop only sends the bytes.

Only complete answers come from the child: when graphql-core reports an error (a validation error, an
unknown type), the child answers ``None`` and the caller runs the operation through strawberry as
before, so that errors are masked and coded like every other GraphQL error. If the child cannot be
started or dies, the caller falls back in the same way (and a new child is started on the next use).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """A complete introspection answer: the encoded JSON body and the CPU seconds it took."""

    body: bytes
    cpu_seconds: float


def encode(data: Any) -> bytes:
    """The body strawberry would send for a result without errors (``{"data": ...}``), compact."""
    return json.dumps({"data": data}, separators=(",", ":")).encode("utf-8")


def execute(query: str, variables: dict[str, Any] | None, operation_name: str | None) -> Answer | None:
    """Run in the child: the operation against the schema with graphql-core, ``None`` on any error."""
    from graphql import graphql_sync

    from service.api.graphql.schema import schema

    started = time.process_time()
    result = graphql_sync(schema._schema, query, variable_values=variables, operation_name=operation_name)
    if result.errors:
        return None
    body = encode(result.data)
    return Answer(body, time.process_time() - started)


def _warm() -> None:
    """Import the schema in the child as soon as it starts."""
    import service.api.graphql.schema  # noqa: F401


class IntrospectionProcess:
    """One child process that executes introspection-only operations (started lazily)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        #: Operations answered by the child (for tests and benchmarks).
        self.executed = 0

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_warm,
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def run(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> Answer | None:
        """The child's answer, or ``None`` when the caller must execute the operation itself."""
        try:
            pool = self._executor()
        except OSError as exc:  # no processes allowed here
            logger.warning("introspection process unavailable (%s); executing in this process", exc)
            return None
        try:
            answer = await asyncio.get_running_loop().run_in_executor(
                pool, execute, query, variables, operation_name
            )
        except BrokenProcessPool as exc:
            logger.warning("introspection process died (%s); executing in this process", exc)
            self._discard(pool)
            return None
        if answer is not None:
            self.executed += 1
        return answer

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


#: The process's one introspection child (the schema is the module's one schema).
introspection_process = IntrospectionProcess()
