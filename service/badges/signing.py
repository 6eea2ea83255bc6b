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
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any, TypeVar

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
            context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            _pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_warm)
            _pool_size = size
        return _pool


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
    if not isinstance(signer.private_key, ed25519.Ed25519PrivateKey):
        raise CredentialError("eddsa-rdfc-2022 needs an Ed25519 key")
    raw = signer.private_key.private_bytes_raw()
    args = (document, raw, signer.verification_method, created, check)
    executor = _executor(processes)
    if executor is None:
        outcome = await asyncio.to_thread(sign_job, *args)
    else:
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(executor, sign_job, *args)
        except BrokenProcessPool:  # a worker died (OOM killer...): a fresh pool, one more try
            _reset(executor)
            executor = _executor(processes)
            assert executor is not None
            outcome = await loop.run_in_executor(executor, sign_job, *args)
    kind, value = outcome
    if kind == "ok":
        assert isinstance(value, dict)
        return value
    if kind == "schema":
        raise SchemaValidationError(list(value))
    if kind == "safe":
        message, term, path = value
        raise SafeModeError(message, term=term, path=path)
    raise CredentialError(str(value))


T = TypeVar("T")


async def run_in_pool(fn: Callable[..., T], *args: Any, processes: int | None) -> T:
    """Run ``fn(*args)`` (a picklable top-level function) in this pool, or in a thread when the pool is
    off (``processes`` 0): for other CPU-bound signing, e.g. a cohort's transcripts
    (:mod:`service.transcripts.signing`). A dead worker is replaced once, as in :func:`sign`."""
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
