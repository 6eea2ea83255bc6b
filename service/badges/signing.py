"""CPU-bound Data Integrity signing off the event loop: a process pool sized to the CPUs.

Canonicalization (pyld, pure Python) holds the GIL, so a thread would keep the event loop responsive
but add no throughput; a pool of worker processes lets a server process accept and answer requests
while the other cores sign. A worker gets the document, the Ed25519 private key's 32 raw bytes and the
verification method; it returns the signed document, or the error that the caller turns into a 4xx.
Private keys never leave the machine: the workers are children of the server process, fed over pipes.

``settings.badges.signing_processes``: ``None`` (default) one worker per CPU, ``0`` sign in a thread
of the server process instead (no extra processes: small deployments, tests).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

import orjson
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials.builder import Signer, check_credential, sign_data_integrity
from service.credentials.errors import CredentialError, SafeModeError, SchemaValidationError

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()
_worker_keys: dict[bytes, ed25519.Ed25519PrivateKey] = {}


def _warm() -> None:
    """Worker start: load the pinned contexts and fill pyld's caches once, not on the first request."""
    from service.credentials.contexts import OB_V3P0, VC_V2
    from service.credentials.linked_data import canonicalize

    canonicalize({"@context": [VC_V2, OB_V3P0], "type": ["VerifiableCredential"], "name": "warm"})


def _ready() -> None:
    """A no-op job: submitting one per worker starts them all (see _executor)."""


def sign_job(
    document: dict[str, Any],
    private_raw: bytes,
    verification_method: str,
    created: datetime | None,
    check: bool,
) -> tuple[str, Any]:
    """Run in a worker (or a thread): schema check when asked, then eddsa-rdfc-2022 signing."""
    key = _worker_keys.get(private_raw)
    if key is None:
        if len(_worker_keys) > 256:
            _worker_keys.clear()
        key = _worker_keys[private_raw] = ed25519.Ed25519PrivateKey.from_private_bytes(private_raw)
    try:
        if check:
            # Safe-mode expansion happens in the signing itself (canonicalization expands in safe mode).
            check_credential(document, check_json_ld=False)
        return "ok", sign_data_integrity(document, Signer(verification_method, key), created=created)
    except SchemaValidationError as exc:
        return "schema", exc.errors
    except SafeModeError as exc:
        return "safe", (str(exc), exc.term, exc.path)
    except CredentialError as exc:
        return "error", str(exc)


def _executor(processes: int | None) -> Executor | None:
    global _pool, _pool_size
    size = (os.cpu_count() or 1) if processes is None else processes
    if size <= 0:
        return None
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=False)
            context: BaseContext
            if os.name == "posix":
                context = multiprocessing.get_context("forkserver")
                # The fork server imports the signing code once; each worker forks from it with the
                # modules loaded, instead of importing the service (the main module too) afresh.
                context.set_forkserver_preload(["__main__", "service.badges.signing"])
            else:
                context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_warm)
            _pool_size = size
            # Start every worker now: the pool would start the second one only when two jobs overlap,
            # and the requests in flight at that moment would wait for its start (seconds on a busy
            # machine: the 16-in-flight tail of bench_vc_api).
            for _ in range(size):
                _pool.submit(_ready)
        return _pool


def shutdown() -> None:
    """Stop the pool's workers (and wait for them). A process that multiprocessing started itself (a
    benchmark's worker, ``uvicorn --workers``) must call this before it returns: such a process joins its
    children before the pool's own exit hook runs, and would wait for the idle workers forever."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _reset(broken: Executor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None


async def sign(
    document: dict[str, Any],
    signer: Signer,
    *,
    created: datetime | None,
    check: bool,
    processes: int | None,
) -> dict[str, Any]:
    """Sign ``document`` (eddsa-rdfc-2022) off the event loop; raises what the library would raise:
    :class:`SchemaValidationError`, :class:`SafeModeError` or :class:`CredentialError`."""
    signed: dict[str, Any] = orjson.loads(
        await sign_json(document, signer, created=created, check=check, processes=processes)
    )
    return signed


async def sign_json(
    document: dict[str, Any],
    signer: Signer,
    *,
    created: datetime | None,
    check: bool,
    processes: int | None,
) -> bytes:
    """:func:`sign`, answering the signed document's compact JSON (UTF-8), serialized in the worker: the
    caller that only sends or stores it neither unpickles a document nor serializes it again.

    Under concurrency the jobs of several requests travel to the pool together (see :class:`_Batcher`);
    with a worker free, a job is sent at once, alone."""
    if not isinstance(signer.private_key, ed25519.Ed25519PrivateKey):
        raise CredentialError("eddsa-rdfc-2022 needs an Ed25519 key")
    raw = signer.private_key.private_bytes_raw()
    item = (document, raw, signer.verification_method, created, check)
    executor = _executor(processes)
    if executor is None:
        outcome = await asyncio.to_thread(_sign_json_job, *item)
    else:
        outcome = await _batcher().submit(item, processes)
    result = _result(outcome)
    if isinstance(result, CredentialError):
        raise result
    assert isinstance(result, bytes)
    return result


def _dumps(document: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; the standard library where orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _sign_json_job(
    document: dict[str, Any],
    private_raw: bytes,
    verification_method: str,
    created: datetime | None,
    check: bool,
) -> tuple[str, Any]:
    """:func:`sign_job`, the signed document as compact JSON bytes."""
    kind, value = sign_job(document, private_raw, verification_method, created, check)
    return (kind, _dumps(value)) if kind == "ok" else (kind, value)


def sign_batch_job(
    items: list[tuple[dict[str, Any], bytes, str, datetime | None, bool]],
) -> list[tuple[str, Any]]:
    """Run in a worker: several requests' jobs received in one message (each with its own key)."""
    return [_sign_json_job(*item) for item in items]


#: At most this many requests' jobs travel to a worker in one message.
MAX_JOBS_PER_MESSAGE = 8

SignItem = tuple[dict[str, Any], bytes, str, datetime | None, bool]


class _Batcher:
    """Sends the signing jobs of concurrent requests to the pool: at once while a worker is free, and
    otherwise queued; when a worker's task ends, the jobs queued meanwhile (up to
    :data:`MAX_JOBS_PER_MESSAGE`) go to it in one message. At one request in flight nothing waits; at
    16 in flight on 2 workers, one message (one pickling, one pipe wake-up each way, one result
    hand-back to the event loop) carries several documents. There is no timer: a job never waits for
    company, only for a busy worker, where it would have waited anyway."""

    def __init__(self) -> None:
        self.queue: list[tuple[SignItem, asyncio.Future[tuple[str, Any]]]] = []
        self.running = 0
        self.tasks: set[asyncio.Task[list[tuple[str, Any]]]] = set()
        #: Messages sent and jobs they carried (tests, benchmarks).
        self.messages = 0
        self.jobs = 0

    def submit(self, item: SignItem, processes: int | None) -> asyncio.Future[tuple[str, Any]]:
        future: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        if self.running < max(1, _pool_size):
            self._send(processes)
        return future

    def _send(self, processes: int | None) -> None:
        batch, self.queue = self.queue[:MAX_JOBS_PER_MESSAGE], self.queue[MAX_JOBS_PER_MESSAGE:]
        self.running += 1
        self.messages += 1
        self.jobs += len(batch)
        job = run_in_pool(sign_batch_job, [item for item, _ in batch], processes=processes)
        task = asyncio.get_running_loop().create_task(job)
        self.tasks.add(task)  # a reference while it runs

        def done(finished: asyncio.Future[list[tuple[str, Any]]]) -> None:
            self.tasks.discard(task)
            self.running -= 1
            cancelled = finished.cancelled()
            error = None if cancelled else finished.exception()
            for index, (_, future) in enumerate(batch):
                if future.done():
                    continue
                if cancelled:
                    future.cancel()
                elif error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(finished.result()[index])
            if self.queue:
                self._send(processes)

        task.add_done_callback(done)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = weakref.WeakKeyDictionary()


def _batcher() -> _Batcher:
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        found = _batchers[loop] = _Batcher()
    return found


def _result(outcome: tuple[str, Any]) -> Any:
    """The signed document (a dict, or its JSON bytes from the ``_json`` jobs) or the error."""
    kind, value = outcome
    if kind == "ok":
        assert isinstance(value, dict | bytes)
        return value
    if kind == "schema":
        return SchemaValidationError(list(value))
    if kind == "safe":
        message, term, path = value
        return SafeModeError(message, term=term, path=path)
    return CredentialError(str(value))


def sign_many_job(
    items: list[tuple[dict[str, Any], datetime | None]],
    private_raw: bytes,
    verification_method: str,
    check: bool,
) -> list[tuple[str, Any]]:
    """Run in a worker: :func:`sign_job` for each ``(document, created)``; one task for many documents,
    so that a batch pays one round trip to the pool per worker, not one per credential."""
    return [sign_job(doc, private_raw, verification_method, created, check) for doc, created in items]


def sign_many_json_job(
    items: list[tuple[dict[str, Any], datetime | None]],
    private_raw: bytes,
    verification_method: str,
    check: bool,
) -> list[tuple[str, Any]]:
    """:func:`sign_many_job`, each signed document as compact JSON bytes (serialized in the worker)."""
    return [_sign_json_job(doc, private_raw, verification_method, created, check) for doc, created in items]


async def sign_many(
    items: list[tuple[dict[str, Any], datetime | None]],
    signer: Signer,
    *,
    check: bool,
    processes: int | None,
    as_json: bool = False,
) -> list[Any]:
    """Sign many ``(document, created)`` pairs (eddsa-rdfc-2022) off the event loop, split into one
    task per pool worker so that a batch uses every core; per item the signed document or the error
    :func:`sign` would raise for it (:class:`SchemaValidationError`, :class:`SafeModeError`,
    :class:`CredentialError`), in order. ``as_json``: each signed document as its compact JSON bytes,
    serialized in the worker (for a caller that stores the text)."""
    if not items:
        return []
    if not isinstance(signer.private_key, ed25519.Ed25519PrivateKey):
        raise CredentialError("eddsa-rdfc-2022 needs an Ed25519 key")
    raw = signer.private_key.private_bytes_raw()
    parts = max(1, min(_pool_size if _executor(processes) is not None else 1, len(items)))
    size = -(-len(items) // parts)
    results = await asyncio.gather(
        *(
            run_in_pool(
                sign_many_json_job if as_json else sign_many_job,
                items[start : start + size],
                raw,
                signer.verification_method,
                check,
                processes=processes,
            )
            for start in range(0, len(items), size)
        )
    )
    return [_result(outcome) for chunk in results for outcome in chunk]


T = TypeVar("T")


async def run_in_pool(fn: Callable[..., T], *args: Any, processes: int | None) -> T:
    """Run ``fn(*args)`` (a picklable top-level function) in this pool, or in a thread when the pool is
    off (``processes`` 0): for other CPU-bound signing, e.g. a cohort's transcripts
    (:mod:`service.transcripts.signing`), and :func:`sign` and :func:`sign_many` themselves. A dead
    worker (the OOM killer...) costs one fresh pool and one more try."""
    executor = _executor(processes)
    if executor is None:
        return await asyncio.to_thread(fn, *args)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(executor, fn, *args)
    except BrokenProcessPool:
        _reset(executor)
        executor = _executor(processes)
        assert executor is not None
        return await loop.run_in_executor(executor, fn, *args)
