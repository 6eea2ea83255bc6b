"""In-process caches for rows that hot paths read on every request but that change rarely (API clients
and their tenants for the token check, a district's slug and signing keys for issuance), with
invalidation that is correct across processes.

How a cached value stays correct
--------------------------------
Every database (engine) has one :class:`Invalidation`: an *epoch* that changes whenever a watched row
changes, in this process or in any other process using the same database. A cache entry records the
epoch read *before* its value was read from the database, and is used only while the epoch is still the
same. A change committed by anyone therefore invalidates every entry read before it, including one read
concurrently with the change.

What changes the epoch:

* in this process, a flush that changes a watched row (an ``ApiClient``'s status, scopes or tenant,
  a ``Tenant``'s status or slug, either created or deleted; code that writes ``issuer_keys`` or a
  signed ``status_lists`` row through Core calls :func:`mark_changed`), and again when that transaction
  commits or rolls back;
* across processes, on SQLite (one machine by design): the size of a small file beside the database
  (``<db>-cache-epoch``), to which every committing writer appends one byte; ``os.stat`` per check;
* across processes and machines, on PostgreSQL: ``NOTIFY portrait_cache`` sent inside the writing
  transaction (PostgreSQL delivers it on commit, never for a rollback) and received by each API
  process's ``LISTEN`` connection. While that connection is down, :meth:`Invalidation.current`
  answers ``None`` and every cache is bypassed (the database is read as before); reconnecting starts a
  new epoch.

Entries also expire after :data:`MAX_AGE` seconds, a bound in case a notification is ever lost.
Entries are keyed by globally unique ids (API client id, tenant id) or URLs (the verifier's own DID
documents and status lists), never shared between tenants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

#: Seconds after which a cache entry is re-read even without any invalidation.
MAX_AGE = 60.0
CHANNEL = "portrait_cache"
SESSION_FLAG = "portrait_hotcache_changed"
MAX_ENTRIES = 10_000

# Keyed by the connection pool: an engine and its execution-option copies share one pool.
_registry: weakref.WeakKeyDictionary[Any, Invalidation] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def _watched() -> dict[type, tuple[str, ...]]:
    """Models and the attributes whose change invalidates (a token's last use does not)."""
    from service.tenancy.models import ApiClient, Tenant

    return {ApiClient: ("status", "scopes", "tenant_id"), Tenant: ("status", "slug")}


def _touches_watched(session: Session) -> bool:
    watched = _watched()
    for obj in (*session.new, *session.deleted):
        if type(obj) in watched:
            return True
    for obj in session.dirty:
        names = watched.get(type(obj))
        if names is not None:
            state = sa_inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in names):
                return True
    return False


class Invalidation:
    """The cache epoch of one database, and the caches that depend on it."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self._local = 0
        self._notified = 0
        self._listening = False
        self._listener: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._url = url
        self._caches: dict[str, dict[Hashable, tuple[Any, float, Any]]] = {}
        self._epoch_file: Path | None = None
        #: False: caches bypassed for good (behind a transaction-mode pooler with no direct URL to LISTEN).
        self.enabled = True
        #: Set on every notification received (PostgreSQL); tests wait on it.
        self.notified = asyncio.Event()
        if self.backend == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                self._epoch_file = Path(f"{database}-cache-epoch")
                with contextlib.suppress(OSError):
                    self._epoch_file.touch(exist_ok=True)

    # -- the epoch ---------------------------------------------------------------------------------

    def current(self) -> Hashable | None:
        """The epoch now, or ``None`` when caching must be bypassed."""
        if not self.enabled:
            return None
        if self.backend == "sqlite":
            if self._epoch_file is None:
                return (self._local,)
            try:
                return (self._local, self._epoch_file.stat().st_size)
            except OSError:
                return None
        if self.backend == "postgresql":
            return (self._local, self._notified) if self._listening else None
        return None

    def bump_local(self) -> None:
        self._local += 1
        for cache in self._caches.values():
            cache.clear()

    def committed_change(self) -> None:
        """A watched change was committed by this process: tell the other processes (SQLite)."""
        self.bump_local()
        if self._epoch_file is not None:
            try:
                fd = os.open(self._epoch_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, b".")
                finally:
                    os.close(fd)
            except OSError:  # pragma: no cover - the var dir vanished
                logger.exception("could not record a cache invalidation in %s", self._epoch_file)

    # -- the caches --------------------------------------------------------------------------------

    def get(self, name: str, key: Hashable) -> Any | None:
        epoch = self.current()
        if epoch is None:
            return None
        entry = self._caches.get(name, {}).get(key)
        if entry is None or entry[0] != epoch or time.monotonic() - entry[1] > MAX_AGE:
            return None
        return entry[2]

    def put(self, name: str, key: Hashable, epoch: Hashable | None, value: Any) -> None:
        """Store ``value`` read from the database after :meth:`current` answered ``epoch``."""
        if epoch is None or value is None:
            return
        cache = self._caches.setdefault(name, {})
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[key] = (epoch, time.monotonic(), value)

    # -- PostgreSQL LISTEN ---------------------------------------------------------------------------

    def listen_through(self, *, pgbouncer: bool, listen_url: str) -> None:
        """Where to LISTEN: ``listen_url`` when given; behind a transaction-mode pooler without one, a
        LISTEN would hear nothing, so the caches are switched off rather than left stale."""
        if listen_url:
            self._url = listen_url
        elif pgbouncer and self.backend == "postgresql":
            self.enabled = False

    async def start(self) -> None:
        """Start listening for invalidations (PostgreSQL; a no-op elsewhere)."""
        if self.backend != "postgresql" or self._task is not None or not self.enabled:
            return
        self._stopping = False
        connected = asyncio.Event()
        self._task = asyncio.create_task(self._listen(connected), name="hotcache-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connected.wait(), timeout=5)

    async def stop(self) -> None:
        self._stopping = True
        self._listening = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._close_listener()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)

    def _on_notify(self, *_args: Any) -> None:
        self._notified += 1
        self.notified.set()
        for cache in self._caches.values():
            cache.clear()

    def _on_lost(self, *_args: Any) -> None:
        self._listening = False

    async def _listen(self, connected: asyncio.Event) -> None:
        import asyncpg

        parsed = make_url(self._url)
        delay = 0.5
        while not self._stopping:
            try:
                self._listener = await asyncpg.connect(
                    host=parsed.host or "127.0.0.1",
                    port=parsed.port or 5432,
                    user=parsed.username,
                    password=parsed.password,
                    database=parsed.database,
                    timeout=10,
                )
                self._listener.add_termination_listener(self._on_lost)
                await self._listener.add_listener(CHANNEL, self._on_notify)
                self._notified += 1  # anything may have changed while nobody listened
                self._listening = True
                connected.set()
                delay = 0.5
                while not self._listener.is_closed() and self._listening:
                    await asyncio.sleep(1)
                    # a cheap probe: a dead socket shows up here, not only as a termination event
                    await asyncio.wait_for(self._listener.execute("SELECT 1"), timeout=5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("cache invalidation listener down (%s); caches bypassed", exc)
            self._listening = False
            await self._close_listener()
            if not self._stopping:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)


def for_engine(engine: Engine) -> Invalidation:
    with _registry_lock:
        found = _registry.get(engine.pool)
        if found is None:
            found = _registry[engine.pool] = Invalidation(engine.url.render_as_string(hide_password=False))
        return found


def for_session(session: Any) -> Invalidation | None:
    """The invalidation of the database an (async or sync) session is bound to."""
    sync = getattr(session, "sync_session", session)
    try:
        bind = sync.get_bind()
    except Exception:
        return None
    engine = getattr(bind, "engine", bind)
    return for_engine(engine) if isinstance(engine, Engine) else None


async def mark_changed(session: Any) -> None:
    """Declare that this (async) session changes a watched row through Core statements (issuer keys)."""
    session.sync_session.info[SESSION_FLAG] = True
    invalidation = for_session(session)
    if invalidation is None:
        return
    invalidation.bump_local()
    if invalidation.backend == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


def _changed_in_transaction(session: Session) -> None:
    invalidation = for_session(session)
    if invalidation is None:
        return
    invalidation.bump_local()
    if invalidation.backend == "postgresql":
        # Delivered by PostgreSQL on commit only: every listening process drops its caches.
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush_context: Any) -> None:
    if _touches_watched(session):
        session.info[SESSION_FLAG] = True
        _changed_in_transaction(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(SESSION_FLAG, False):
        invalidation = for_session(session)
        if invalidation is not None:
            invalidation.committed_change()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    if session.info.pop(SESSION_FLAG, False):
        invalidation = for_session(session)
        if invalidation is not None:
            invalidation.bump_local()
