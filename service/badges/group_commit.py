"""Group commit of the credentials VC-API requests store (``options.credentialStatus``).

A VC-API request whose reads all came from the hot caches has written nothing and holds no connection
when its signed credential is to be stored. Instead of a transaction of its own (on SQLite a
``BEGIN IMMEDIATE`` that queues behind every other writer, then one INSERT and one COMMIT), its row
joins the rows of the other requests waiting at that moment: one transaction, one multi-row
``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` and one COMMIT for all of them.

There is no timer: a row arriving while no group is being written is written at once, alone (no
added latency at one request in flight); rows arriving while a group is being written wait for it,
and are written together right after (they would have waited for the write lock anyway). Each
request learns whether its row went in (ON CONFLICT: its status index was taken meanwhile, so it
draws again) only after the COMMIT, so a response is never sent for a credential that is not stored.
A group that fails as a whole (a row another transaction's rollback left without its status list...)
is written again row by row, so that one bad row fails only its own request.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.repository import BadgeRepository
from service.db import declare_write_intent

#: Rows per statement (and per transaction) at most.
MAX_ROWS = 64


class GroupWriter:
    """Writes the ``issued_credentials`` rows of concurrent requests together (see the module)."""

    def __init__(self, bind: AsyncEngine) -> None:
        self.bind = bind
        self.queue: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self.task: asyncio.Task[None] | None = None
        #: Transactions written and rows they carried (tests, benchmarks).
        self.groups = 0
        self.rows = 0

    def insert(self, row: dict[str, Any]) -> asyncio.Future[bool]:
        """Queue ``row``; the future answers whether it was inserted (False: it collided), once
        committed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.queue.append((row, future))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        return future

    async def _run(self) -> None:
        try:
            while self.queue:
                group, self.queue = self.queue[:MAX_ROWS], self.queue[MAX_ROWS:]
                try:
                    inserted = await self._write([row for row, _ in group])
                except asyncio.CancelledError:
                    _answer(
                        group + self.queue,
                        RuntimeError("the server stopped before the credential was stored"),
                    )
                    self.queue = []
                    raise
                except Exception as exc:
                    if len(group) == 1:
                        _answer(group, exc)
                        continue
                    for one in group:  # one bad row must not fail the others
                        try:
                            _answer([one], await self._write([one[0]]))
                        except Exception as alone:
                            _answer([one], alone)
                    continue
                _answer(group, inserted)
        finally:
            self.task = None

    async def _write(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        async with AsyncSession(self.bind, expire_on_commit=False, autoflush=False) as session:
            await declare_write_intent(session)
            inserted = await BadgeRepository(session, rows[0]["tenant_id"]).insert_credentials(rows)
            await session.commit()
        self.groups += 1
        self.rows += len(rows)
        return inserted


def _answer(
    group: list[tuple[dict[str, Any], asyncio.Future[bool]]], outcome: set[uuid.UUID] | Exception
) -> None:
    for row, future in group:
        if future.done():  # the request was cancelled: its row is stored all the same (or not)
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(row["id"] in outcome)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, GroupWriter]] = (
    weakref.WeakKeyDictionary()
)


def writer(bind: AsyncEngine) -> GroupWriter:
    """The group writer of this event loop for ``bind``'s database."""
    per_loop = _writers.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(id(bind.sync_engine.pool))
    if found is None or found.bind.sync_engine.pool is not bind.sync_engine.pool:
        found = per_loop[id(bind.sync_engine.pool)] = GroupWriter(bind)
    return found


async def insert(session: AsyncSession, row: dict[str, Any]) -> bool | None:
    """Insert ``row`` (an ``issued_credentials`` row) with the rows of concurrent requests, when
    ``session`` has not begun a transaction (it wrote nothing, holds no lock); whether it went in.
    ``None``: the session is in a transaction (or bound to a connection): the caller inserts in it."""
    bind = session.bind
    if session.in_transaction() or not isinstance(bind, AsyncEngine):
        return None
    return await writer(bind).insert(row)
