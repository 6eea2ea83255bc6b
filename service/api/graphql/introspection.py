"""Introspection executed in a process of its own, so that it never holds this process's GIL.

An introspection-only operation (``__schema``, ``__type``, ``__typename`` at the root) runs no resolver
of ours and depends only on the schema, which is static. Walking the schema is CPU-bound Python (the
standard introspection query takes about 100 ms, 20 aliased schema walks 400 ms); run in a worker
thread it shares the GIL with the event loop, and every request in flight (REST included) waits for
it. So it runs in one child process per server process, started on first use and reused, which
answers the JSON body already encoded; the event loop only sends the bytes.

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
        #: Operations answered by the child (for tests and benchmarks).
        self.executed = 0

    def _start(self) -> subprocess.Popen[bytes]:
        from graphql import print_schema

        root = str(Path(__file__).resolve().parents[3])
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        # The child needs no settings of ours (nor their secrets).
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTRAIT_")}
        env["PYTHONPATH"] = path
        child = subprocess.Popen(  # noqa: S603 - this interpreter and this module
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        assert child.stdin is not None
        setup = {"sdl": print_schema(self.schema), "types": list(self.schema.type_map)}
        _write(child.stdin, json.dumps(setup).encode("utf-8"))
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
