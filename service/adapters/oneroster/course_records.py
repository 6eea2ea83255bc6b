"""OneRoster final results -> course records.

A connection's :class:`FinalResultsSetting` says which line items carry final grades. After each page
of results the sync writes (full or delta), :func:`after_page` turns the page's results of final line
items into course records through the roster service: course via the line item's class, term and school
year via its grading period (or the class's term), grade and scale from the score and the line item's
range. A changed result updates its record (and a line item that becomes final brings its results); a
result the provider deleted, tombstoned or deactivated withdraws it (:func:`after_deleted_results`).
Records are found again by the result's sourcedId (``source`` "oneroster", ``source_ref``).

Kept out of sync.py on purpose: the sync calls the two hooks and knows nothing else of this.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.models import (
    Category,
    FinalResultsSetting,
    LineItem,
    OneRosterConnection,
    Result,
)
from service.adapters.oneroster.schemas import FinalResultsRead, FinalResultsUpdate
from service.db import utcnow
from service.errors import NotFoundError
from service.roster.models import AcademicSession, Class, Course
from service.roster.service import RosterService

SOURCE = "oneroster"
BATCH = 1000
#: OneRoster scoreStatus values of a grade still being given: the record is in progress.
IN_PROGRESS = {"submitted", "partially graded", "not submitted"}


class Tally(Protocol):
    """Where a sync counts what it did (the sync's state)."""

    course_records: dict[str, int]


# -- pure rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinalRule:
    category_sourced_ids: frozenset[str]
    category_titles: frozenset[str]
    title_pattern: str | None
    min_passing_percent: float | None

    @classmethod
    def of(cls, setting: FinalResultsSetting) -> FinalRule:
        return cls(
            frozenset(setting.category_sourced_ids),
            frozenset(t.casefold() for t in setting.category_titles),
            setting.line_item_title_pattern.casefold() if setting.line_item_title_pattern else None,
            setting.min_passing_percent,
        )

    @property
    def empty(self) -> bool:
        return not self.category_sourced_ids and not self.category_titles and self.title_pattern is None

    def is_final(self, title: str, category_sourced_id: str | None, category_title: str | None) -> bool:
        if category_sourced_id is not None and category_sourced_id in self.category_sourced_ids:
            return True
        if category_title is not None and category_title.casefold() in self.category_titles:
            return True
        return self.title_pattern is not None and fnmatch.fnmatchcase(title.casefold(), self.title_pattern)


def school_year_label(year: int) -> str:
    """OneRoster's schoolYear is the year the school year ends: 2026 -> "2025-2026"."""
    return f"{year - 1}-{year}"


def grade_text(score: float) -> str:
    return f"{score:g}"


def record_values(
    rule: FinalRule,
    result: Result,
    item: LineItem,
    klass: Class | None,
    course: Course | None,
    term: AcademicSession | None,
) -> dict[str, Any]:
    """The course record a final result stands for (every column but ids and source)."""
    assert result.score is not None
    status = "completed"
    if result.status != "active":
        status = "withdrawn"
    elif (result.score_status or "").strip().casefold() in IN_PROGRESS:
        status = "in_progress"
    low, high = item.result_value_min, item.result_value_max
    scale = f"{low:g}-{high:g}" if low is not None and high is not None else None
    credits = course.credits if course is not None else None
    earned: float | None = None
    if status == "completed" and credits is not None:
        earned = credits
        if rule.min_passing_percent is not None and high is not None and high > (low or 0.0):
            percent = (result.score - (low or 0.0)) / (high - (low or 0.0)) * 100
            earned = credits if percent >= rule.min_passing_percent else 0.0
    if term is not None:
        year = school_year_label(term.school_year)
    else:
        when = result.score_date or utcnow().date()
        year = school_year_label(when.year + 1 if when.month >= 7 else when.year)
    title = course.title if course is not None else (klass.title if klass is not None else item.title)
    code = (course.course_code if course is not None else None) or (klass.class_code if klass else None) or ""
    subject = course.subject if course is not None else None
    if subject is None and klass is not None and klass.subjects:
        subject = klass.subjects[0][:255]
    return {
        "learner_id": result.learner_id,
        "course_id": course.id if course is not None else None,
        "course_title": title,
        "course_code": code,
        "subject": subject,
        "academic_session_id": term.id if term is not None else None,
        "term_title": term.title if term is not None else None,
        "school_year": year,
        "school_name": None,
        "grade": grade_text(result.score),
        "grade_numeric": result.score,
        "grade_scale": scale,
        "credits_attempted": credits,
        "credits_earned": earned,
        "status": status,
        "source_ref": result.sourced_id,
        "completed_on": result.score_date if status == "completed" else None,
    }


# -- queries --------------------------------------------------------------------------------------


class FinalResultsRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def connection(self, connection_id: uuid.UUID) -> OneRosterConnection | None:
        query = select(OneRosterConnection).where(
            col(OneRosterConnection.tenant_id) == self.tenant_id, col(OneRosterConnection.id) == connection_id
        )
        return (await self.session.exec(query)).first()

    async def setting(self, connection_id: uuid.UUID) -> FinalResultsSetting | None:
        query = select(FinalResultsSetting).where(
            col(FinalResultsSetting.tenant_id) == self.tenant_id,
            col(FinalResultsSetting.connection_id) == connection_id,
        )
        return (await self.session.exec(query)).first()

    async def save(self, setting: FinalResultsSetting) -> None:
        self.session.add(setting)
        await self.session.flush()

    async def _by_ids(self, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
        wanted = list({i for i in ids if i is not None})
        out: dict[uuid.UUID, Any] = {}
        for start in range(0, len(wanted), BATCH):
            query = select(model).where(
                col(model.tenant_id) == self.tenant_id, col(model.id).in_(wanted[start : start + BATCH])
            )
            out.update({row.id: row for row in (await self.session.exec(query)).all()})
        return out

    async def results(self, ids: Iterable[uuid.UUID]) -> list[Result]:
        return list((await self._by_ids(Result, ids)).values())

    async def final_line_item_ids(self, rule: FinalRule) -> list[uuid.UUID]:
        """Every line item of the tenant the rule makes final (for applying a new setting)."""
        categories = {
            c.id: c
            for c in (
                await self.session.exec(select(Category).where(col(Category.tenant_id) == self.tenant_id))
            ).all()
        }
        query = select(LineItem.id, LineItem.title, LineItem.category_id).where(
            col(LineItem.tenant_id) == self.tenant_id
        )
        out = []
        for item_id, title, category_id in (await self.session.exec(query)).all():
            category = categories.get(category_id) if category_id else None
            if rule.is_final(
                title, category.sourced_id if category else None, category.title if category else None
            ):
                out.append(item_id)
        return out

    async def result_ids_of(self, line_item_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        for start in range(0, len(line_item_ids), BATCH):
            query = select(Result.id).where(
                col(Result.tenant_id) == self.tenant_id,
                col(Result.line_item_id).in_(list(line_item_ids[start : start + BATCH])),
            )
            out.extend((await self.session.exec(query)).all())
        return out


# -- use cases ------------------------------------------------------------------------------------


async def _apply(
    session: AsyncSession, tenant_id: uuid.UUID, rule: FinalRule, result_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """Course records for the results among ``result_ids`` whose line item is final."""
    repo = FinalResultsRepository(session, tenant_id)
    results = [r for r in await repo.results(result_ids) if r.score is not None]
    if not results:
        return {}
    items: dict[uuid.UUID, LineItem] = await repo._by_ids(LineItem, (r.line_item_id for r in results))
    categories: dict[uuid.UUID, Category] = await repo._by_ids(
        Category, (i.category_id for i in items.values())
    )
    final: dict[uuid.UUID, LineItem] = {}
    for item_id, item in items.items():
        category = categories.get(item.category_id) if item.category_id else None
        if rule.is_final(
            item.title, category.sourced_id if category else None, category.title if category else None
        ):
            final[item_id] = item
    results = [r for r in results if r.line_item_id in final]
    if not results:
        return {}
    classes: dict[uuid.UUID, Class] = await repo._by_ids(Class, (i.class_id for i in final.values()))
    courses: dict[uuid.UUID, Course] = await repo._by_ids(Course, (c.course_id for c in classes.values()))
    terms: dict[uuid.UUID, AcademicSession] = await repo._by_ids(
        AcademicSession,
        [i.academic_session_id for i in final.values()] + [c.academic_session_id for c in classes.values()],
    )
    rows = []
    for result in results:
        item = final[result.line_item_id]
        klass = classes.get(item.class_id) if item.class_id else None
        course = courses.get(klass.course_id) if klass is not None and klass.course_id else None
        term_id = item.academic_session_id or (klass.academic_session_id if klass is not None else None)
        rows.append(record_values(rule, result, item, klass, course, terms.get(term_id) if term_id else None))
    return await RosterService(session, tenant_id).upsert_sourced_course_records(SOURCE, rows)


def _count(state: Tally, tally: dict[str, int]) -> None:
    for key, value in tally.items():
        if value:
            state.course_records[key] = state.course_records.get(key, 0) + value


async def after_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    collection: str,
    written: Sequence[uuid.UUID],
    state: Tally,
) -> None:
    """Sync hook: a page of ``collection`` was written (``written``: ids of the created and changed rows).
    Results: those of final line items become records. Line items: one that became final (new title or
    category) brings the results already synced."""
    if not written or collection not in ("results", "lineItems"):
        return
    repo = FinalResultsRepository(session, tenant_id)
    setting = await repo.setting(connection_id)
    if setting is None or FinalRule.of(setting).empty:
        return
    result_ids = list(written) if collection == "results" else await repo.result_ids_of(list(written))
    for start in range(0, len(result_ids), BATCH):
        _count(
            state, await _apply(session, tenant_id, FinalRule.of(setting), result_ids[start : start + BATCH])
        )


async def after_deleted_results(
    session: AsyncSession, tenant_id: uuid.UUID, sourced_ids: Sequence[str], state: Tally
) -> None:
    """Sync hook: the provider deleted these results (tombstone, or gone from a full sync)."""
    if sourced_ids:
        withdrawn = await RosterService(session, tenant_id).withdraw_sourced_course_records(
            SOURCE, sourced_ids
        )
        _count(state, {"withdrawn": withdrawn})


class FinalResultsService:
    """The per-connection setting; saving it applies it to the results already synced."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = FinalResultsRepository(session, tenant_id)

    async def _connection(self, connection_id: uuid.UUID) -> None:
        if await self.repo.connection(connection_id) is None:
            raise NotFoundError(f"OneRoster connection {connection_id} not found")

    async def get(self, connection_id: uuid.UUID) -> FinalResultsRead:
        await self._connection(connection_id)
        setting = await self.repo.setting(connection_id)
        if setting is None:
            return FinalResultsRead(
                connection_id=connection_id,
                category_sourced_ids=[],
                category_titles=[],
                line_item_title_pattern=None,
                min_passing_percent=None,
                updated_at=None,
            )
        return FinalResultsRead.model_validate(setting)

    async def put(self, connection_id: uuid.UUID, data: FinalResultsUpdate) -> FinalResultsRead:
        await self._connection(connection_id)
        setting = await self.repo.setting(connection_id)
        if setting is None:
            setting = FinalResultsSetting(connection_id=connection_id, tenant_id=self.tenant_id)
        setting.category_sourced_ids = list(dict.fromkeys(data.category_sourced_ids))
        setting.category_titles = list(dict.fromkeys(data.category_titles))
        setting.line_item_title_pattern = data.line_item_title_pattern
        setting.min_passing_percent = data.min_passing_percent
        setting.updated_at = utcnow()
        await self.repo.save(setting)
        rule = FinalRule.of(setting)
        tally: dict[str, int] = {"created": 0, "updated": 0, "unchanged": 0}
        if not rule.empty:
            ids = await self.repo.result_ids_of(await self.repo.final_line_item_ids(rule))
            for start in range(0, len(ids), BATCH):
                for key, value in (
                    await _apply(self.session, self.tenant_id, rule, ids[start : start + BATCH])
                ).items():
                    tally[key] = tally.get(key, 0) + value
        read = FinalResultsRead.model_validate(setting)
        read.course_records = tally
        return read
