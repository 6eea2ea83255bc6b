"""Courses and course records over GraphQL: mutations (idempotencyKey), queries, validation naming
the field, tenant isolation, and learners' records through dataloaders (statements do not grow)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import Database
from service.roster.schemas import CourseCreate, CourseRecordCreate, PersonCreate
from service.roster.service import RosterService
from tests.api.graphql.conftest import GraphQL
from tests.api.graphql.test_dataloaders import count_statements
from tests.factories import Actors

CREATE_LEARNER = 'mutation { createLearner(input: {givenName: "Ada", familyName: "Lovelace"}) { id } }'
CREATE_COURSE = """
mutation($key: String) {
  createCourse(input: {title: "Algebra I", courseCode: "MATH101", credits: 1}, idempotencyKey: $key) {
    id title
  }
}
"""
CREATE_RECORD = """
mutation($learner: UUID!, $input: CreateCourseRecordInput!, $key: String) {
  createCourseRecord(learnerId: $learner, input: $input, idempotencyKey: $key) {
    id courseTitle courseCode grade status source course { title }
  }
}
"""
RECORDS = """
query($learner: UUID!) {
  courseRecords(learnerId: $learner) { total items { id courseTitle grade status } }
  learner(id: $learner) { courseRecords { courseTitle } }
}
"""


async def test_course_record_mutations_and_queries(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("roster:read", "roster:write")
    learner = (await gql(CREATE_LEARNER, None, headers)).ok()["createLearner"]["id"]
    course = (await gql(CREATE_COURSE, {"key": "c-1"}, headers)).ok()["createCourse"]
    again = (await gql(CREATE_COURSE, {"key": "c-1"}, headers)).ok()["createCourse"]
    assert again["id"] == course["id"]
    record_input = {
        "courseId": course["id"],
        "schoolYear": "2025-2026",
        "grade": "A",
        "termTitle": "Fall 2025",
    }
    created = (
        await gql(CREATE_RECORD, {"learner": learner, "input": record_input, "key": "r-1"}, headers)
    ).ok()["createCourseRecord"]
    assert created["courseTitle"] == "Algebra I" and created["course"] == {"title": "Algebra I"}
    assert (created["status"], created["source"]) == ("COMPLETED", "API")
    replay = (
        await gql(CREATE_RECORD, {"learner": learner, "input": record_input, "key": "r-1"}, headers)
    ).ok()["createCourseRecord"]
    assert replay["id"] == created["id"]
    transfer = {"courseTitle": "Latin I", "schoolYear": "2023-2024", "grade": "P", "schoolName": "Prior"}
    (await gql(CREATE_RECORD, {"learner": learner, "input": transfer}, headers)).ok()

    update = 'mutation($id: UUID!) { updateCourseRecord(id: $id, input: {grade: "A-"}) { grade } }'
    assert (await gql(update, {"id": created["id"]}, headers)).ok()["updateCourseRecord"]["grade"] == "A-"
    withdraw = "mutation($id: UUID!) { withdrawCourseRecord(id: $id) { status } }"
    assert (await gql(withdraw, {"id": created["id"]}, headers)).ok()["withdrawCourseRecord"][
        "status"
    ] == "WITHDRAWN"
    data = (await gql(RECORDS, {"learner": learner}, headers)).ok()
    assert data["courseRecords"]["total"] == 2  # withdrawn included in the full list
    assert data["learner"]["courseRecords"] == [{"courseTitle": "Latin I"}]  # not in the current record

    bad = {"courseTitle": "X", "schoolYear": "2025-2026", "grade": "A", "creditsEarned": -1}
    error = (await gql(CREATE_RECORD, {"learner": learner, "input": bad}, headers)).error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "input.creditsEarned" in [e["loc"] for e in error["extensions"]["errors"]], error
    no_title = {"schoolYear": "2025-2026", "grade": "A"}
    error = (await gql(CREATE_RECORD, {"learner": learner, "input": no_title}, headers)).error()
    assert "input.courseTitle" in [e["loc"] for e in error["extensions"]["errors"]], error
    courses = (await gql('{ courses(q: "alg") { total items { title } } }', None, headers)).ok()
    assert courses["courses"]["items"] == [{"title": "Algebra I"}]


async def test_other_district_sees_nothing(gql: GraphQL, actors: Actors) -> None:
    b = await actors.b.headers("roster:read", "roster:write")
    learner = (await gql(CREATE_LEARNER, None, b)).ok()["createLearner"]["id"]
    record_input = {"courseTitle": "Secret", "schoolYear": "2025-2026", "grade": "A"}
    record = (await gql(CREATE_RECORD, {"learner": learner, "input": record_input}, b)).ok()[
        "createCourseRecord"
    ]
    a = await actors.a.headers("roster:read", "roster:write")
    refused = await gql(RECORDS, {"learner": learner}, a)
    assert refused.codes == ["NOT_FOUND", "NOT_FOUND"] and refused.data == {
        "courseRecords": None,
        "learner": None,
    }
    error = (await gql(CREATE_RECORD, {"learner": learner, "input": record_input}, a)).error()
    assert error["extensions"]["code"] == "NOT_FOUND"
    one = "query($id: UUID!) { courseRecord(id: $id) { grade } }"
    assert (await gql(one, {"id": record["id"]}, a)).error()["extensions"]["code"] == "NOT_FOUND"
    withdraw = "mutation($id: UUID!) { withdrawCourseRecord(id: $id) { status } }"
    assert (await gql(withdraw, {"id": record["id"]}, a)).error()["extensions"]["code"] == "NOT_FOUND"
    assert (await gql(one, {"id": record["id"]}, b)).ok()["courseRecord"]["grade"] == "A"


LEARNERS_WITH_RECORDS = """
query($limit: Int!) {
  learners(limit: $limit) { items { givenName courseRecords { courseTitle grade course { title } } } }
}
"""


async def test_learner_records_statement_count(
    gql: GraphQL, actors: Actors, session: AsyncSession, db: Database
) -> None:
    roster = RosterService(session, actors.a.tenant.id)
    courses = [await roster.create_course(CourseCreate(title=f"Course {i}")) for i in range(3)]
    for i in range(30):
        learner = await roster.create_person(
            PersonCreate(role="student", given_name=f"L{i:02}", family_name="X")
        )
        for course in courses:
            await roster.create_course_record(
                learner.id, CourseRecordCreate(course_id=course.id, school_year="2025-2026", grade="B")
            )
    await session.commit()
    headers = await actors.a.headers("roster:read")
    # One request first: the token check's client row is cached after it (service.hotcache), so
    # that both measured requests run the same statements.
    (await gql(LEARNERS_WITH_RECORDS, {"limit": 1}, headers)).ok()
    counts = {}
    for size in (3, 30):
        with count_statements(db) as statements:
            data = (await gql(LEARNERS_WITH_RECORDS, {"limit": size}, headers)).ok()
        counts[size] = len(statements)
        items = data["learners"]["items"]
        assert len(items) == size
        assert all(
            [r["course"]["title"] for r in p["courseRecords"]] == ["Course 0", "Course 1", "Course 2"]
            for p in items
        )
    assert counts[3] == counts[30] and counts[30] < 15, counts
