"""Database engine, sessions, metadata conventions and column types shared by every domain."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    MetaData,
    Uuid,
    any_,
    bindparam,
    event,
    func,
    insert,
    literal_column,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from service.errors import FieldError, ValidationFailedError
from service.schemas import COUNT_LIMIT, PageParams

M = TypeVar("M")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def one_of(
    session: AsyncSession, column: Any, values: Sequence[Any], *, item_type: TypeEngine[Any] | None = None
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY($n::type[])``, the values in one array parameter
    (``item_type``, UUIDs by default).

    Bulk requests and sync pages ask about thousands of ids per statement. As an IN list each value is
    its own bind parameter: the statement text changes with the count, so every request compiles and
    plans a new statement (measured: 22 to 70 ms of app CPU for 5,000 learners against 8 to 12 ms as one
    array). SQLite has no arrays and keeps the IN list.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = ARRAY(item_type if item_type is not None else Uuid())
        return column == any_(bindparam(None, list(values), type_=array))  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def time_ordered_id() -> uuid.UUID:
    """A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Evidence is the largest table (30 million rows for a million learners), awards the next. With random
    (version 4) ids every insert lands on a random leaf of the primary key, and once that index outgrows
    the database's cache each one is a page read and later a page write; ids that grow with time append
    to the right-hand edge of the index instead. Still unguessable enough for an id (74 random bits), and the
    time it reveals is the row's created_at, which the API shows anyway.
    """
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)


def time_ordered_ids(count: int) -> Iterator[uuid.UUID]:
    """``count`` ids as :func:`time_ordered_id` makes them, the random bits of all read at once (one
    system call per batch instead of one per record)."""
    pool = secrets.token_bytes(10 * count)
    for n in range(count):
        value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(pool[10 * n : 10 * n + 10])
        value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
        value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
        yield uuid.UUID(int=value)


#: Connection execution option: this transaction will write (SQLite then begins IMMEDIATE).
WRITE_INTENT = "portrait_write_intent"


async def declare_write_intent(session: AsyncSession) -> None:
    """Call before the first statement of a session that will write (requests that change data, jobs)."""
    await session.connection(execution_options={WRITE_INTENT: True})


#: ``session.info`` key of read-only sessions (:meth:`Database.read_sessionmaker`): any write is refused.
READ_ONLY = "portrait_read_only"


class ReadOnlySessionWrite(RuntimeError):
    """A write in a session opened for a read-only route: a programming error (the route must not be
    marked read-only), refused before anything reaches the database."""


@event.listens_for(Session, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY):
        raise ReadOnlySessionWrite("a read-only session cannot flush changes")


@event.listens_for(Session, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlySessionWrite("a read-only session cannot run INSERT, UPDATE or DELETE")


AFTER_COMMIT = "after_commit"
AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the transport has committed this session (webhooks, job wake-ups).

    Side effects never run for a transaction that rolls back.
    """
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop(AFTER_COMMIT, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # a side effect must never turn a committed request into an error
            logging.getLogger(__name__).exception("after-commit callback failed")


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(AFTER_COMMIT, None)


async def fetch_page(
    session: AsyncSession, query: SelectOfScalar[M], page: PageParams, *order: Any
) -> tuple[Sequence[M], int]:
    """One page of ``query`` in ``order``, and the number of rows it matches, counted up to
    COUNT_LIMIT + 1 (an index range read stops there instead of counting every match).

    One statement: the count rides along as an uncorrelated scalar subquery (evaluated once, as an
    InitPlan on PostgreSQL), so a page costs one database round trip, not two. Only a page past the
    end (no rows at a positive offset) needs a second statement for its total."""
    # In the page's order, so that the planner walks the same index and stops at the limit (unordered,
    # it may collect every match in a bitmap first).
    matches: Any = query.with_only_columns(literal_column("1"), maintain_column_froms=True)
    counted = matches.order_by(*order).limit(COUNT_LIMIT + 1).subquery()
    count = select(func.count()).select_from(counted)
    total_column = count.correlate(None).scalar_subquery().label("portrait_total")
    entity = _page_entity(query)
    if page.offset >= DEFERRED_JOIN_OFFSET and entity is not None:
        # A deep page: find its ids first (an index-only walk over the skipped rows when an index covers
        # the filter, the order and ``id``), then read just those rows. The plain form fetches every
        # skipped row from the table only to throw it away.
        ids = query.with_only_columns(entity.id, maintain_column_froms=True)
        ids = ids.order_by(*order).limit(page.limit).offset(page.offset)
        paged: Any = query.where(entity.id.in_(ids.scalar_subquery())).add_columns(total_column)
        paged = paged.order_by(*order)
    else:
        paged = query.add_columns(total_column).order_by(*order).limit(page.limit).offset(page.offset)
    rows = (await session.execute(paged)).all()
    if rows:
        return [row[0] for row in rows], int(rows[0][1])
    if page.offset == 0:
        return [], 0
    return [], int(await session.scalar(count) or 0)


@dataclass(frozen=True)
class Keyset:
    """The order of a list that also pages by cursor: newest first, ``(at DESC, id DESC)``, with an
    index whose trailing columns are ``(at, id)`` behind the filters' equality columns."""

    at: Any
    id: Any

    def cursor(self, row: Any) -> str:
        """The opaque cursor after ``row`` (a mapped object with both attributes)."""
        at = getattr(row, self.at.key)
        raw = f"{at.isoformat()}|{getattr(row, self.id.key)}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def after(self, cursor: str) -> ColumnElement[bool]:
        """The rows after a cursor in this order: one row-value comparison, so that PostgreSQL starts
        the index walk at the cursor instead of reading and skipping every row before it."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            at_text, _, id_text = raw.partition("|")
            at = datetime.fromisoformat(at_text)
            row_id = uuid.UUID(id_text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad_cursor() from exc
        if at.tzinfo is None:
            raise _bad_cursor()
        return tuple_(self.at, self.id) < tuple_(
            bindparam(None, at, type_=self.at.type), bindparam(None, row_id, type_=self.id.type)
        )


def _bad_cursor() -> InvalidCursor:
    return InvalidCursor(
        "after is not a cursor of this list",
        [
            FieldError(
                "query.after", "not a cursor this service made (use the `next` of a page)", "invalid_cursor"
            )
        ],
    )


class InvalidCursor(ValidationFailedError):
    """A paging cursor this service did not make (422 naming ``after``)."""

    code = "invalid_cursor"


async def fetch_keyset_page(
    session: AsyncSession, query: SelectOfScalar[M], page: PageParams, keyset: Keyset, after: str | None
) -> tuple[Sequence[M], int, str | None]:
    """:func:`fetch_page` that also pages by cursor: with ``after`` (a cursor from an earlier page),
    the page starts right after that row, however deep (``page.offset`` is then 0); without it, the
    offset pages as before. Returns the rows, the count of every match of the filters (the cursor
    aside) and the cursor of the next page (``None`` on the last page)."""
    order = (keyset.at.desc(), keyset.id.desc())
    if after is None:
        rows, total = await fetch_page(session, query, page, *order)
        more = len(rows) == page.limit and (page.offset + len(rows) < total or total > COUNT_LIMIT)
        return rows, total, keyset.cursor(rows[-1]) if more else None
    condition = keyset.after(after)
    matches: Any = query.with_only_columns(literal_column("1"), maintain_column_froms=True)
    count = select(func.count()).select_from(matches.order_by(*order).limit(COUNT_LIMIT + 1).subquery())
    total_column = count.correlate(None).scalar_subquery().label("portrait_total")
    # One row more than the page: whether a next page exists, without a second statement.
    paged: Any = query.where(condition).add_columns(total_column).order_by(*order).limit(page.limit + 1)
    result = (await session.execute(paged)).all()
    if not result:
        return [], int(await session.scalar(count) or 0), None
    found = [row[0] for row in result[: page.limit]]
    return found, int(result[0][1]), keyset.cursor(found[-1]) if len(result) > page.limit else None


#: From this offset on, :func:`fetch_page` finds a page's ids before it reads the rows (a deferred join).
DEFERRED_JOIN_OFFSET = 1_000


def _page_entity(query: Any) -> Any:
    """The mapped class a list query selects, when it has an ``id`` primary key column, else None."""
    descriptions = query.column_descriptions
    if len(descriptions) != 1:
        return None
    entity = descriptions[0].get("entity")
    return entity if entity is not None and hasattr(entity, "id") else None


#: From this many rows on, a bulk insert on PostgreSQL goes through COPY instead of INSERT.
COPY_THRESHOLD = 200


async def bulk_insert(
    session: AsyncSession,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    *,
    json_columns: frozenset[str] = frozenset(),
) -> None:
    """Insert plain-dict rows in the session's transaction, as fast as the dialect allows.

    COPY on PostgreSQL is several times faster than a multi-row INSERT for thousands of rows, and
    stays inside the same transaction; every row must carry the same keys.
    """
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        raw = await connection.get_raw_connection()
        columns = list(rows[0])
        records = [tuple(json.dumps(r[c]) if c in json_columns else r[c] for c in columns) for r in rows]
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            str(model.__tablename__), records=records, columns=columns
        )
        return
    await session.execute(insert(model), list(rows))


class Database:
    """Owns one engine and its session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False, pgbouncer: bool = False) -> None:
        self.url = url
        #: Behind a transaction-mode pooler (settings.database_pgbouncer): no prepared statements kept.
        self.pgbouncer = pgbouncer
        self.engine: AsyncEngine = create_engine(url, pool_size=pool_size, echo=echo, pgbouncer=pgbouncer)
        self.sessionmaker = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self._default_sessionmaker = self.sessionmaker
        # Sessions that will write take SQLite's write lock with their first statement (BEGIN
        # IMMEDIATE then), not when the session opens: a request whose reads are all cached
        # (service.hotcache) and that writes nothing (VC-API issuance without status) never queues
        # behind the writer, and one that writes holds the lock for less time.
        self._write_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{WRITE_INTENT: True}),
            class_=AsyncSession,
            expire_on_commit=False,
            autoflush=False,
        )

        # Sessions of routes that only read (service.api.deps.read_only), on PostgreSQL: no BEGIN and
        # no COMMIT, two database round trips fewer per request. At READ COMMITTED (the default, never
        # changed here) every statement takes its own snapshot inside a transaction too, so what a
        # read sees is the same. SQLite keeps its deferred read transaction (a snapshot across the
        # request's statements, and no round trip to save).
        self._read_sessionmaker = (
            async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                class_=AsyncSession,
                expire_on_commit=False,
                autoflush=False,
                info={READ_ONLY: True},
            )
            if self.engine.dialect.name == "postgresql"
            else None
        )

    def read_sessionmaker(self) -> async_sessionmaker[AsyncSession] | None:
        """A factory of read-only sessions without an explicit transaction (PostgreSQL), or ``None``
        where reads keep a transaction: SQLite, and sessions bound by tests (factory replaced)."""
        if self.sessionmaker is not self._default_sessionmaker:
            return None
        return self._read_sessionmaker

    def write_sessionmaker(self) -> async_sessionmaker[AsyncSession] | None:
        """A factory of sessions that declare their write intent lazily, or ``None`` when the session
        factory was replaced (tests bind sessions to a connection: declare the intent eagerly there)."""
        return self._write_sessionmaker if self.sessionmaker is self._default_sessionmaker else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def private_file(path: Path) -> None:
    """The SQLite file holds learners' personal data: created 0600 before SQLite opens it (its journal
    and WAL files take the database file's mode), and an existing readable one is tightened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, pgbouncer: bool = False
) -> AsyncEngine:
    """``pgbouncer``: the URL reaches PostgreSQL through PgBouncer in transaction mode, where a prepared
    statement cannot be kept across transactions (the next one may run on another server connection,
    where its name is unknown or taken). asyncpg's statement cache and SQLAlchemy's prepared statement
    cache are turned off: asyncpg (>= 0.29) then uses unnamed statements only, which live as long as
    one statement. Ignored on SQLite."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if pgbouncer and parsed.get_backend_name() != "sqlite":
        kwargs["connect_args"] = {"statement_cache_size": 0, "prepared_statement_cache_size": 0}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            private_file(Path(database))
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # At most 2 x pool_size connections, as before (pool_size kept + as many overflow), but all of
        # them kept once opened: an overflow connection was closed on its return whenever the pool was
        # full, and under steady concurrency above pool_size every few requests paid a new connection
        # (TCP, SSL attempt, authentication) and re-prepared their statements on it (measured: an
        # eighth of the server's CPU in bench_api). Connections still open only when needed.
        kwargs["pool_size"] = 2 * pool_size
        kwargs["max_overflow"] = 0
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    else:
        _ping_idle_connections(engine)
    return engine


#: A pooled connection idle for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """``pool_pre_ping`` for connections that sat idle only: a connection checked in a moment ago is
    alive, and pinging it would cost a database round trip on every request (measured: an eighth of
    the server's time in bench_api). One idle past :data:`PING_AFTER_IDLE_SECONDS` (a database restart,
    a proxy's idle timeout) is pinged; a dead one is replaced before the request sees it."""
    from sqlalchemy import exc

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new (just connected) or recently used
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error
        if not alive:
            raise exc.DisconnectionError("idle connection failed its ping")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is turned off so that SQLAlchemy emits BEGIN
        # itself (SAVEPOINTs in tests, BEGIN IMMEDIATE below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that means to write takes the write lock up front (IMMEDIATE): a deferred one
        # that reads, then writes after another connection committed (a job next to a request) fails
        # at once with "database is locked" instead of waiting its turn (busy_timeout). Readers stay
        # deferred so that they never queue behind writers (WAL).
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # probes and other read-only checks run outside any transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_INTENT) else "BEGIN")
