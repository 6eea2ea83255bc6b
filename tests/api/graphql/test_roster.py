"""Roster over GraphQL: mutations, queries with links, filters, paging, validation, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors, District

ORG = "mutation($i: CreateOrgInput!) { createOrg(input: $i) { id name type status sourcedId } }"
SESSION = "mutation($i: CreateAcademicSessionInput!) { createAcademicSession(input: $i) { id title type } }"
CLASS = """
mutation($i: CreateClassInput!) {
  createClass(input: $i) { id title classType school { id name } academicSession { id title } }
}
"""
LEARNER = """
mutation($i: CreateLearnerInput!) {
  createLearner(input: $i) { id role givenName familyName middleName email grades orgIds orgs { name } }
}
"""
ENROLL = """
mutation($i: CreateEnrollmentInput!) {
  createEnrollment(input: $i) { id role primary person { givenName } class { title } }
}
"""


async def _run(gql: GraphQL, d: District, query: str, variables: dict[str, Any]) -> Any:
    return (await gql(query, variables, await d.headers("roster:write"))).ok()


async def _school(gql: GraphQL, d: District, name: str = "Lincoln High", **extra: Any) -> dict[str, Any]:
    data = await _run(gql, d, ORG, {"i": {"name": name, "type": "SCHOOL", **extra}})
    return dict(data["createOrg"])


async def _term(gql: GraphQL, d: District) -> dict[str, Any]:
    data = await _run(
        gql,
        d,
        SESSION,
        {
            "i": {
                "title": "Fall 2026",
                "type": "SEMESTER",
                "startDate": "2026-08-24",
                "endDate": "2027-01-15",
                "schoolYear": 2027,
            }
        },
    )
    return dict(data["createAcademicSession"])


async def _class(gql: GraphQL, d: District, title: str, school_id: str, **extra: Any) -> dict[str, Any]:
    data = await _run(gql, d, CLASS, {"i": {"title": title, "schoolId": school_id, **extra}})
    return dict(data["createClass"])


async def _learner(gql: GraphQL, d: District, given: str, family: str, **extra: Any) -> dict[str, Any]:
    data = await _run(gql, d, LEARNER, {"i": {"givenName": given, "familyName": family, **extra}})
    return dict(data["createLearner"])


async def test_build_a_roster_and_read_it_back_with_links(gql: GraphQL, actors: Actors) -> None:
    d = actors.a
    school = await _school(gql, d, sourcedId="sch-1")
    assert (school["type"], school["status"], school["sourcedId"]) == ("SCHOOL", "ACTIVE", "sch-1")
    term = await _term(gql, d)
    algebra = await _class(gql, d, "Algebra I", school["id"], academicSessionId=term["id"], classCode="ALG1")
    assert algebra["school"] == {"id": school["id"], "name": "Lincoln High"}
    assert algebra["academicSession"] == {"id": term["id"], "title": "Fall 2026"}
    assert algebra["classType"] == "SCHEDULED"
    biology = await _class(gql, d, "Biology", school["id"])

    ada = await _learner(
        gql, d, "Ada", "Lovelace", email="ada@example.org", grades=["09"], orgIds=[school["id"]]
    )
    assert ada["role"] == "STUDENT"
    assert ada["orgIds"] == [school["id"]]
    assert ada["orgs"] == [{"name": "Lincoln High"}]
    teacher = (
        await _run(
            gql,
            d,
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id role } }",
            {"i": {"givenName": "Tea", "familyName": "Cher", "role": "TEACHER"}},
        )
    )["createPerson"]
    assert teacher["role"] == "TEACHER"

    for klass in (algebra, biology):
        enrolled = await _run(
            gql, d, ENROLL, {"i": {"classId": klass["id"], "personId": ada["id"], "role": "STUDENT"}}
        )
        assert enrolled["createEnrollment"]["person"] == {"givenName": "Ada"}
        assert enrolled["createEnrollment"]["class"] == {"title": klass["title"]}
    await _run(
        gql,
        d,
        ENROLL,
        {"i": {"classId": algebra["id"], "personId": teacher["id"], "role": "TEACHER", "primary": True}},
    )

    r = await d.headers("roster:read")
    learner = (
        await gql(
            "query($id: UUID!) { learner(id: $id) { givenName email orgs { id } classes { title } } }",
            {"id": ada["id"]},
            r,
        )
    ).ok()["learner"]
    assert learner == {
        "givenName": "Ada",
        "email": "ada@example.org",
        "orgs": [{"id": school["id"]}],
        "classes": [{"title": "Algebra I"}, {"title": "Biology"}],
    }
    first_class_only = (
        await gql(
            "query($id: UUID!) { learner(id: $id) { classes(limit: 1) { title } } }", {"id": ada["id"]}, r
        )
    ).ok()
    assert first_class_only == {"learner": {"classes": [{"title": "Algebra I"}]}}

    klass = (
        await gql(
            """query($id: UUID!) { class(id: $id) {
                 title school { name } academicSession { title }
                 all: enrollments { role person { givenName } }
                 teachers: enrollments(role: TEACHER) { primary person { familyName } }
                 one: enrollments(limit: 1) { role }
               } }""",
            {"id": algebra["id"]},
            r,
        )
    ).ok()["class"]
    assert klass["school"] == {"name": "Lincoln High"}
    assert klass["academicSession"] == {"title": "Fall 2026"}
    assert klass["all"] == [
        {"role": "STUDENT", "person": {"givenName": "Ada"}},
        {"role": "TEACHER", "person": {"givenName": "Tea"}},
    ]
    assert klass["teachers"] == [{"primary": True, "person": {"familyName": "Cher"}}]
    assert klass["one"] == [{"role": "STUDENT"}]

    enrollments = (
        await gql(
            "query($p: UUID) { enrollments(personId: $p) { total items { class { title } } } }",
            {"p": ada["id"]},
            r,
        )
    ).ok()["enrollments"]
    assert enrollments["total"] == 2
    assert sorted(e["class"]["title"] for e in enrollments["items"]) == ["Algebra I", "Biology"]

    people = (await gql("{ people(filter: {role: TEACHER}) { total items { id } } }", headers=r)).ok()
    assert people == {"people": {"total": 1, "items": [{"id": teacher["id"]}]}}
    learners = (await gql("{ learners { total items { id } } }", headers=r)).ok()
    assert learners == {"learners": {"total": 1, "items": [{"id": ada["id"]}]}}
    orgs = (await gql("{ orgs(type: SCHOOL) { total items { id } } }", headers=r)).ok()
    assert orgs == {"orgs": {"total": 1, "items": [{"id": school["id"]}]}}
    sessions = (await gql("{ academicSessions(schoolYear: 2027) { items { id type } } }", headers=r)).ok()
    assert sessions == {"academicSessions": {"items": [{"id": term["id"], "type": "SEMESTER"}]}}
    # A teacher is a person, not a learner.
    not_learner = await gql("query($id: UUID!) { learner(id: $id) { id } }", {"id": teacher["id"]}, r)
    assert not_learner.error()["extensions"]["code"] == "NOT_FOUND"


async def test_learner_filters_and_paging(gql: GraphQL, actors: Actors) -> None:
    d = actors.a
    school = await _school(gql, d)
    other = await _school(gql, d, "Other Middle")
    for i, (given, family) in enumerate([("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")]):
        await _learner(
            gql, d, given, family, sourcedId=f"sis-{i}", orgIds=[school["id"] if i < 2 else other["id"]]
        )
    r = await d.headers("roster:read")
    query = """query($f: LearnerFilter, $limit: Int! = 50, $offset: Int! = 0) {
      learners(filter: $f, limit: $limit, offset: $offset) { total limit offset items { familyName } } }"""

    async def names(variables: dict[str, Any]) -> list[str]:
        data = (await gql(query, variables, r)).ok()["learners"]
        return [p["familyName"] for p in data["items"]]

    assert await names({}) == ["Hopper", "Lovelace", "Turing"]
    assert await names({"f": {"schoolId": school["id"]}}) == ["Hopper", "Lovelace"]
    assert await names({"f": {"sourcedId": "sis-2"}}) == ["Turing"]
    assert await names({"f": {"q": "HOP"}}) == ["Hopper"]
    assert await names({"f": {"q": "%"}}) == []
    assert await names({"f": {"status": "INACTIVE"}}) == []
    page = (await gql(query, {"limit": 2, "offset": 1}, r)).ok()["learners"]
    assert page == {
        "total": 3,
        "limit": 2,
        "offset": 1,
        "items": [{"familyName": "Lovelace"}, {"familyName": "Turing"}],
    }


@pytest.mark.parametrize(
    ("args", "loc"),
    [("limit: 0", "limit"), ("limit: 201", "limit"), ("offset: -1", "offset")],
)
async def test_paging_bounds_are_rests(gql: GraphQL, actors: Actors, args: str, loc: str) -> None:
    headers = await actors.a.headers("roster:read")
    for field in ("learners", "classes", "orgs", "people", "enrollments", "academicSessions"):
        error = (await gql(f"{{ {field}({args}) {{ total }} }}", headers=headers)).error()
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert [e["loc"] for e in error["extensions"]["errors"]] == [loc]
        assert loc in error["message"]


async def test_link_and_filter_bounds(gql: GraphQL, actors: Actors) -> None:
    d = actors.a
    school = await _school(gql, d)
    await _class(gql, d, "Algebra", school["id"])
    r = await d.headers("roster:read")
    too_many = (await gql("{ classes { items { enrollments(limit: 500) { id } } } }", headers=r)).error()
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"
    assert too_many["extensions"]["errors"][0]["loc"] == "limit"
    long_q = (
        await gql("query($q: String) { classes(filter: {q: $q}) { total } }", {"q": "x" * 101}, r)
    ).error()
    assert long_q["extensions"]["errors"][0]["loc"] == "filter.q"
    year = (await gql("{ academicSessions(schoolYear: 1700) { total } }", headers=r)).error()
    assert year["extensions"]["errors"][0]["loc"] == "schoolYear"


async def test_updates_distinguish_absent_from_null(gql: GraphQL, actors: Actors) -> None:
    d = actors.a
    school = await _school(gql, d)
    ada = await _learner(
        gql, d, "Ada", "Lovelace", middleName="King", email="ada@example.org", orgIds=[school["id"]]
    )
    update = """mutation($id: UUID!, $i: UpdatePersonInput!) {
      updateLearner(id: $id, input: $i) { givenName familyName middleName email orgIds } }"""
    changed = await _run(gql, d, update, {"id": ada["id"], "i": {"givenName": "Augusta", "middleName": None}})
    # givenName changed, middleName cleared by the explicit null, the rest untouched.
    assert changed["updateLearner"] == {
        "givenName": "Augusta",
        "familyName": "Lovelace",
        "middleName": None,
        "email": "ada@example.org",
        "orgIds": [school["id"]],
    }
    error = (
        await gql(update, {"id": ada["id"], "i": {"familyName": None}}, await d.headers("roster:write"))
    ).error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["errors"][0]["loc"] == "input.familyName"

    klass = await _class(gql, d, "Algebra", school["id"], location="Room 1")
    renamed = await _run(
        gql,
        d,
        'mutation($id: UUID!) { updateClass(id: $id, input: {title: "Algebra II", classType: HOMEROOM}) '
        "{ title classType location } }",
        {"id": klass["id"]},
    )
    assert renamed["updateClass"] == {"title": "Algebra II", "classType": "HOMEROOM", "location": "Room 1"}


async def test_validation_errors_name_the_field(gql: GraphQL, actors: Actors) -> None:
    d = actors.a
    w = await d.headers("roster:write")
    blank = (await gql(LEARNER, {"i": {"givenName": "  ", "familyName": "X", "email": "nope"}}, w)).error()
    assert blank["extensions"]["code"] == "BAD_USER_INPUT"
    assert blank["extensions"]["status"] == 422
    assert {e["loc"] for e in blank["extensions"]["errors"]} == {"input.givenName", "input.email"}
    assert "input.givenName" in blank["message"]

    grade = (
        await gql(LEARNER, {"i": {"givenName": "A", "familyName": "B", "grades": ["09", "13th"]}}, w)
    ).error()
    assert [e["loc"] for e in grade["extensions"]["errors"]] == ["input.grades.1"]

    dates = (
        await gql(
            SESSION,
            {
                "i": {
                    "title": "T",
                    "type": "TERM",
                    "startDate": "2027-01-01",
                    "endDate": "2026-01-01",
                    "schoolYear": 2027,
                }
            },
            w,
        )
    ).error()
    assert dates["extensions"]["errors"][0]["loc"] == "input"
    assert "end_date is before start_date" in dates["extensions"]["errors"][0]["message"]

    unknown_school = (
        await gql(CLASS, {"i": {"title": "X", "schoolId": "00000000-0000-0000-0000-0000000000aa"}}, w)
    ).error()
    assert unknown_school["extensions"]["code"] == "BAD_USER_INPUT"
    assert unknown_school["extensions"]["errors"][0]["loc"] == "input.schoolId"
    assert unknown_school["extensions"]["errors"][0]["type"] == "invalid_reference"

    wrong_enum = await gql(ORG, {"i": {"name": "X", "type": "CASTLE"}}, w)
    assert wrong_enum.codes == ["BAD_USER_INPUT"]
    assert "CASTLE" in wrong_enum.errors[0]["message"]

    missing = await gql('mutation { createLearner(input: {givenName: "A"}) { id } }', headers=w)
    assert missing.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "familyName" in missing.errors[0]["message"]


async def test_conflicts(gql: GraphQL, actors: Actors) -> None:
    d = actors.a
    await _school(gql, d, sourcedId="dup")
    w = await d.headers("roster:write")
    dup = (await gql(ORG, {"i": {"name": "Again", "type": "SCHOOL", "sourcedId": "dup"}}, w)).error()
    assert dup["extensions"]["code"] == "CONFLICT"
    assert dup["extensions"]["errors"][0]["loc"] == "input.sourcedId"

    school = await _school(gql, d, "S2")
    klass = await _class(gql, d, "C", school["id"])
    ada = await _learner(gql, d, "Ada", "L")
    enroll = {"i": {"classId": klass["id"], "personId": ada["id"], "role": "STUDENT"}}
    await _run(gql, d, ENROLL, enroll)
    again = (await gql(ENROLL, enroll, w)).error()
    assert again["extensions"]["code"] == "CONFLICT"
    assert again["extensions"]["status"] == 409


async def test_one_district_cannot_see_anothers_roster(gql: GraphQL, actors: Actors) -> None:
    a, b = actors.a, actors.b
    school = await _school(gql, a)
    term = await _term(gql, a)
    klass = await _class(gql, a, "A's class", school["id"], academicSessionId=term["id"])
    ada = await _learner(gql, a, "Ada", "Lovelace", orgIds=[school["id"]])
    await _run(gql, a, ENROLL, {"i": {"classId": klass["id"], "personId": ada["id"], "role": "STUDENT"}})

    rb = await b.headers("roster:read", "roster:write")
    for query, obj_id in [
        ("query($id: UUID!) { learner(id: $id) { id givenName } }", ada["id"]),
        ("query($id: UUID!) { person(id: $id) { id } }", ada["id"]),
        ("query($id: UUID!) { class(id: $id) { id title } }", klass["id"]),
        ("query($id: UUID!) { org(id: $id) { id } }", school["id"]),
        ("query($id: UUID!) { academicSession(id: $id) { id } }", term["id"]),
    ]:
        result = await gql(query, {"id": obj_id}, rb)
        error = result.error()
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert list(result.data.values()) == [None]
        assert "Ada" not in str(result.body) and "A's class" not in str(result.body)

    lists = (
        await gql(
            "{ learners { total } people { total } classes { total } orgs { total } "
            "academicSessions { total } enrollments { total } }",
            headers=rb,
        )
    ).ok()
    assert all(page["total"] == 0 for page in lists.values()), lists
    # Filters naming A's objects find nothing either.
    by_class = (
        await gql("query($c: UUID) { learners(filter: {classId: $c}) { total } }", {"c": klass["id"]}, rb)
    ).ok()
    assert by_class == {"learners": {"total": 0}}

    # Nor can B write to A's objects or point at them.
    update = (
        await gql(
            'mutation($id: UUID!) { updateLearner(id: $id, input: {givenName: "Eve"}) { id } }',
            {"id": ada["id"]},
            rb,
        )
    ).error()
    assert update["extensions"]["code"] == "NOT_FOUND"
    enroll = (
        await gql(ENROLL, {"i": {"classId": klass["id"], "personId": ada["id"], "role": "STUDENT"}}, rb)
    ).error()
    assert enroll["extensions"]["code"] == "BAD_USER_INPUT"
    still = (
        await gql(
            "query($id: UUID!) { learner(id: $id) { givenName } }",
            {"id": ada["id"]},
            await a.headers("roster:read"),
        )
    ).ok()
    assert still == {"learner": {"givenName": "Ada"}}
