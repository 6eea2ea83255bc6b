"""Introspection executed in a process of its own, so that it never holds this process's GIL.

An introspection-only operation (``__schema``, ``__type``, ``__typename`` at the root) runs no resolver
of ours and depends only on the schema, which is static. Walking the schema is CPU-bound Python (the
standard introspection query takes about 100 ms, 20 aliased schema walks 400 ms); run in a worker
thread it shares the GIL with the event loop, and every request in flight (REST included) waits for
it. So it runs in one child process per server process, started with the application
(``limits.graphql_introspection_process``; else on first use) and reused, which answers the JSON body
already encoded; the event loop only sends the bytes. The child runs at a lower priority
(:data:`CHILD_NICENESS`), so that on a busy machine it does not take CPU time from the server, and
reports the CPU time of each answer, which is charged to an anonymous caller's budget.

The child imports graphql-core only, not the service: it gets the schema as SDL
(``print_schema``) and the order of its types, builds it with ``build_schema`` and puts the types in
the same order, so its answers equal graphql-core's on the strawberry schema (the tests compare them).
Requests and answers are length-prefixed frames on the child's stdin and stdout, exchanged from a
worker thread that waits on the pipe without holding the GIL.

Only complete answers come from the child: when graphql-core reports an error (a validation error, an
unknown type), the child answers "no answer" and the caller runs the operation through strawberry,
so that errors are masked and coded like every other GraphQL error. If the child cannot be started or
dies, the caller falls back in the same way (and a new child is started on the next use).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from graphql import GraphQLSchema

logger = logging.getLogger(__name__)
_LENGTH = struct.Struct(">I")
_CPU = struct.Struct(">d")
_CHILD = "from service.api.graphql.introspection import serve; serve()"
#: Added to the child's nice value: it yields the CPU to the server process it works for.
CHILD_NICENESS = 10


@dataclass(frozen=True)
class Answer:
    """A complete introspection answer: the encoded JSON body and the child's CPU seconds for it."""

    body: bytes
    cpu_seconds: float


def encode(data: Any) -> bytes:
    """The body strawberry sends for a result without errors (``{"data": ...}``), compact."""
    return json.dumps({"data": data}, separators=(",", ":")).encode("utf-8")


def _write(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def _read(stream: IO[bytes]) -> bytes:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError("introspection process closed its output")
    (size,) = _LENGTH.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("introspection process closed its output")
    return payload


def serve() -> None:
    """The child's loop: first frame the schema, then one answer per request until stdin closes."""
    from graphql import build_schema, graphql_sync

    # Below the server in the scheduler's eyes: on a busy machine a schema walk takes the CPU time the
    # server process leaves, not the other way round (requests in flight wait for the server).
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICENESS)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    setup = json.loads(_read(stdin))
    schema = build_schema(setup["sdl"])
    schema.type_map = {name: schema.type_map[name] for name in setup["types"]}
    while True:
        try:
            request = json.loads(_read(stdin))
        except EOFError:
            return
        started = time.process_time()
        result = graphql_sync(
            schema,
            request["query"],
            variable_values=request["variables"],
            operation_name=request["operation"],
        )
        if result.errors:
            _write(stdout, b"0")
            continue
        body = encode(result.data)
        _write(stdout, b"1" + _CPU.pack(time.process_time() - started) + body)


class IntrospectionProcess:
    """One child process that executes introspection-only operations against ``schema``; call
    :meth:`run` from a worker thread (it blocks on the pipe, without the GIL)."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._setup: bytes | None = None
        #: Operations answered by the child (for tests and benchmarks).
        self.executed = 0

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def start(self) -> None:
        """Start the child now (``limits.graphql_introspection_process = "at_startup"``) rather than
        on the first introspection, which would otherwise wait for it and pay for printing the
        schema's SDL on the server's interpreter. Blocking: call it from a worker thread."""
        with self._lock:
            try:
                if self._child is None or self._child.poll() is not None:
                    self._child = self._start()
            except (OSError, ValueError) as exc:
                logger.warning("introspection process not started (%s); it is tried on first use", exc)

    def _start(self) -> subprocess.Popen[bytes]:
        from graphql import print_schema

        if self._setup is None:
            setup = {"sdl": print_schema(self.schema), "types": list(self.schema.type_map)}
            self._setup = json.dumps(setup).encode("utf-8")
        root = str(Path(__file__).resolve().parents[3])
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        # The child needs no settings of ours (nor their secrets).
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTRAIT_")}
        env["PYTHONPATH"] = path
        child = subprocess.Popen(  # noqa: S603 - this interpreter and this module
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        assert child.stdin is not None
        _write(child.stdin, self._setup)
        return child

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        if self._child is child:
            self._child = None
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def run(self, query: str, variables: dict[str, Any] | None, operation_name: str | None) -> Answer | None:
        """The child's answer, or ``None`` when the caller must execute the operation itself."""
        request = json.dumps({"query": query, "variables": variables, "operation": operation_name})
        with self._lock:
            try:
                if self._child is None or self._child.poll() is not None:
                    self._child = self._start()
                child = self._child
                assert child.stdin is not None and child.stdout is not None
                _write(child.stdin, request.encode("utf-8"))
                answer = _read(child.stdout)
            except (OSError, EOFError, ValueError) as exc:
                logger.warning("introspection process unavailable (%s); executing in this process", exc)
                if self._child is not None:
                    self._stop(self._child)
                return None
        if answer[:1] != b"1":
            return None
        self.executed += 1
        (cpu,) = _CPU.unpack(answer[1 : 1 + _CPU.size])
        return Answer(answer[1 + _CPU.size :], cpu)

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._stop(self._child)
