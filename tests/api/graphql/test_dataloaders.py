"""Links resolve through per-request dataloaders: the statement count does not grow with the page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import Database
from service.roster.schemas import (
    AcademicSessionCreate,
    ClassCreate,
    EnrollmentCreate,
    OrgCreate,
    PersonCreate,
)
from service.roster.service import RosterService
from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors

CLASSES = """
query($limit: Int!) {
  classes(limit: $limit) {
    total
    items {
      title
      school { name }
      academicSession { title }
      enrollments(limit: 3) { role person { givenName orgs { name } } class { title } }
    }
  }
}
"""
LEARNERS = """
query($limit: Int!) {
  learners(limit: $limit) { items { givenName orgs { name } classes { title school { name } } } }
}
"""


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before_cursor_execute)


async def _roster(session: AsyncSession, tenant_id: uuid.UUID, n: int) -> None:
    """``n`` classes spread over 3 schools and 2 terms, ``n`` learners each in 2 classes."""
    roster = RosterService(session, tenant_id)
    schools = [await roster.create_org(OrgCreate(name=f"School {i}", type="school")) for i in range(3)]
    terms = [
        await roster.create_academic_session(
            AcademicSessionCreate(
                title=f"Term {i}",
                type="term",
                start_date=date(2026, 1 + 6 * i, 1),
                end_date=date(2026, 6 + 6 * i, 28),
                school_year=2026,
            )
        )
        for i in range(2)
    ]
    classes = [
        await roster.create_class(
            ClassCreate(
                title=f"Class {i:02}", school_id=schools[i % 3].id, academic_session_id=terms[i % 2].id
            )
        )
        for i in range(n)
    ]
    for i in range(n):
        learner = await roster.create_person(
            PersonCreate(
                role="student", given_name=f"L{i:02}", family_name="Learner", org_ids=[schools[i % 3].id]
            )
        )
        for klass in (classes[i], classes[(i + 1) % n]):
            await roster.create_enrollment(
                EnrollmentCreate(class_id=klass.id, person_id=learner.id, role="student")
            )
    await session.commit()


async def test_statement_count_does_not_grow_with_the_page(
    gql: GraphQL, actors: Actors, session: AsyncSession, db: Database
) -> None:
    await _roster(session, actors.a.tenant.id, 50)
    headers = await actors.a.headers("roster:read")
    # One request first: the token check's client row is cached after it (service.hotcache), so
    # that every measured request runs the same statements.
    (await gql(LEARNERS, {"limit": 1}, headers)).ok()

    counts: dict[str, dict[int, int]] = {"classes": {}, "learners": {}}
    for name, query in (("classes", CLASSES), ("learners", LEARNERS)):
        for size in (5, 50):
            with count_statements(db) as statements:
                data = (await gql(query, {"limit": size}, headers)).ok()
            counts[name][size] = len(statements)
            items = data[name]["items"]
            assert len(items) == size
            if name == "classes":
                assert data["classes"]["total"] == 50
                assert all(c["school"]["name"].startswith("School ") for c in items)
                assert all(c["academicSession"]["title"].startswith("Term ") for c in items)
                assert all(len(c["enrollments"]) == 2 for c in items)
                assert all(e["class"]["title"] == c["title"] for c in items for e in c["enrollments"])
                assert all(
                    e["person"]["orgs"][0]["name"].startswith("School ")
                    for c in items
                    for e in c["enrollments"]
                )
            else:
                assert all(len(p["classes"]) == 2 for p in items)
                assert all(p["orgs"] and p["classes"][0]["school"] for p in items)

    assert counts["classes"][5] == counts["classes"][50], counts
    assert counts["learners"][5] == counts["learners"][50], counts
    # auth + count + page + one per loader batch: a handful, nowhere near one per row.
    assert counts["classes"][50] < 20, counts
    assert counts["learners"][50] < 20, counts


async def test_loaders_follow_the_callers_tenant(gql: GraphQL, actors: Actors, session: AsyncSession) -> None:
    """Each district's page links only to its own rows."""
    await _roster(session, actors.a.tenant.id, 3)
    await _roster(session, actors.b.tenant.id, 4)
    for district, n in ((actors.a, 3), (actors.b, 4)):
        data = (await gql(CLASSES, {"limit": 50}, await district.headers("roster:read"))).ok()
        assert data["classes"]["total"] == n
        people = {e["person"]["givenName"] for c in data["classes"]["items"] for e in c["enrollments"]}
        assert people == {f"L{i:02}" for i in range(n)}
