"""Job handlers and periodic passes, registered by kind; the context a handler runs with.

Writing a handler::

    from service.jobs.registry import JobContext, register

    @register("oneroster.sync")
    async def sync(ctx: JobContext) -> dict[str, Any]:
        cursor = ctx.last_progress.get("cursor")          # where a previous attempt got to
        async with ctx.transaction() as session:         # commits, then runs after-commit effects
            ...
        await ctx.progress({"cursor": next_cursor, "users": 1200})
        await ctx.raise_if_cancelled()
        return {"created": 10}                            # the job's report

and add the module to :data:`HANDLER_MODULES` so every worker process imports it.

**Handlers must be resumable and idempotent.** A job runs at least once, not exactly once: a crash
(process killed, machine lost) leaves it ``running`` without heartbeats, and a backend starts it again
from the top with ``ctx.attempt`` incremented and ``ctx.last_progress`` holding the last persisted
progress. So: commit work in short transactions, persist a resume point with ``ctx.progress``, write
with upserts or "already done?" checks, and never let a side effect outside the database (an e-mail,
an HTTP call) be repeated harmfully. What a job commits stays committed when it later fails.

Periodic passes (``@register_periodic(name)``, ``async def f(db, settings) -> None``) run on every
backend tick: every ~30 s in-process, every minute on one procrastinate worker. They must be cheap
when there is nothing to do and safe to run concurrently with themselves.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import Database, utcnow
from service.jobs.errors import JobCancelled, UnknownJobKind


@dataclass
class JobContext:
    """What a handler gets: its job, a database of its own, and progress/cancellation helpers."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    area: str
    params: dict[str, Any]
    #: 1 on the first run, more when resumed after a crash or a restart.
    attempt: int
    #: The progress persisted by an earlier attempt (empty on the first): the resume point.
    last_progress: dict[str, Any]
    db: Database
    settings: Settings

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A plain session: the handler commits it itself."""
        return self.db.session()

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session committed on success (then after-commit effects run), rolled back on error."""
        from service.jobs.service import transaction

        return transaction(self.db)

    async def progress(self, data: dict[str, Any]) -> None:
        """Replace the job's progress (JSON), in a short transaction of its own; also a heartbeat."""
        from service.jobs.repository import JobRunRepository

        async with self.db.session() as session:
            await JobRunRepository(session).set_progress(self.job_id, dict(data), utcnow())
            await session.commit()

    async def cancelled(self) -> bool:
        """Whether a client asked to cancel the job (read from the database)."""
        from service.jobs.repository import JobRunRepository

        async with self.db.session() as session:
            return await JobRunRepository(session).cancel_requested(self.job_id)

    async def raise_if_cancelled(self) -> None:
        if await self.cancelled():
            raise JobCancelled(f"job {self.job_id} was cancelled")


Handler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]
Periodic = Callable[[Database, Settings], Awaitable[object]]
H = TypeVar("H", bound=Handler)
P = TypeVar("P", bound=Periodic)

#: Modules whose import registers handlers and periodic passes; every backend imports them all.
HANDLER_MODULES: tuple[str, ...] = (
    "service.webhooks.delivery",
    "service.awards.jobs",
    "service.badges.jobs",
    "service.transcripts.jobs",
    "service.adapters.oneroster.sync",
)

_handlers: dict[str, Handler] = {}
_periodic: dict[str, Periodic] = {}
_loaded = False


def register(kind: str) -> Callable[[H], H]:
    """Decorator: ``handler`` runs the jobs of ``kind``."""

    def decorate(handler: H) -> H:
        existing = _handlers.get(kind)
        if existing is not None and existing is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        _handlers[kind] = handler
        return handler

    return decorate


def register_periodic(name: str) -> Callable[[P], P]:
    """Decorator: ``fn(db, settings)`` runs on every backend tick."""

    def decorate(fn: P) -> P:
        _periodic[name] = fn
        return fn

    return decorate


def load_handlers() -> None:
    global _loaded
    if _loaded:
        return
    # Every table on the metadata: a worker process may touch any of them (foreign keys too).
    importlib.import_module("service.models")
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    _loaded = True


def get_handler(kind: str) -> Handler:
    load_handlers()
    try:
        return _handlers[kind]
    except KeyError:
        raise UnknownJobKind(f"no handler is registered for job kind {kind!r}") from None


def kinds() -> list[str]:
    load_handlers()
    return sorted(_handlers)


def periodic_passes() -> dict[str, Periodic]:
    load_handlers()
    return dict(_periodic)
