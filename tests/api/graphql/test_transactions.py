"""A GraphQL request is one transaction: a failing mutation keeps no write of the request."""

from __future__ import annotations

import uuid

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.roster.models import Org, Person
from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors


async def _count_orgs(session: AsyncSession, name: str) -> int:
    return int((await session.exec(select(func.count()).where(col(Org.name) == name))).one())


async def test_successful_mutations_commit(gql: GraphQL, actors: Actors, session: AsyncSession) -> None:
    headers = await actors.a.headers("roster:write")
    result = await gql(
        'mutation { a: createOrg(input: {name: "Kept", type: SCHOOL}) { id } '
        'b: createOrg(input: {name: "Kept", type: SCHOOL, sourcedId: "k2"}) { id } }',
        headers=headers,
    )
    result.ok()
    assert await _count_orgs(session, "Kept") == 2


async def test_a_failing_mutation_rolls_back_the_earlier_ones(
    gql: GraphQL, actors: Actors, session: AsyncSession
) -> None:
    headers = await actors.a.headers("roster:write")
    result = await gql(
        """mutation {
          first: createOrg(input: {name: "Doomed", type: SCHOOL, sourcedId: "same"}) { id }
          second: createOrg(input: {name: "Doomed", type: SCHOOL, sourcedId: "same"}) { id }
          third: createOrg(input: {name: "Doomed", type: SCHOOL}) { id }
        }""",
        headers=headers,
    )
    # The first write ran, the second failed (its sourcedId is now taken); nothing is kept.
    assert [(e["path"], e["extensions"]["code"]) for e in result.errors] == [(["second"], "CONFLICT")]
    assert result.data is None  # mutation results are non-null: no field claims a kept write
    assert await _count_orgs(session, "Doomed") == 0
    listed = await gql("{ orgs { total } }", headers=await actors.a.headers("roster:read"))
    assert listed.ok() == {"orgs": {"total": 0}}


async def test_a_failing_update_keeps_none_of_its_own_flushed_changes(
    gql: GraphQL, actors: Actors, session: AsyncSession
) -> None:
    """The service flushes the new name before it finds the bad org id; nothing of it may stay."""
    headers = await actors.a.headers("roster:write")
    created = await gql(
        'mutation { createLearner(input: {givenName: "Ada", familyName: "Lovelace"}) { id } }',
        headers=headers,
    )
    learner_id = created.ok()["createLearner"]["id"]
    failed = await gql(
        """mutation($id: UUID!, $orgs: [UUID!]) {
          updateLearner(id: $id, input: {givenName: "Changed", orgIds: $orgs}) { givenName }
        }""",
        {"id": learner_id, "orgs": [str(uuid.uuid4())]},
        headers,
    )
    error = failed.error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["errors"][0]["loc"] == "input.orgIds"
    names = (await session.exec(select(Person.given_name).where(col(Person.family_name) == "Lovelace"))).all()
    assert list(names) == ["Ada"]
    got = await gql("query($id: UUID!) { learner(id: $id) { givenName } }", {"id": learner_id}, headers)
    assert got.ok() == {"learner": {"givenName": "Ada"}}


async def test_validation_failure_writes_nothing(gql: GraphQL, actors: Actors, session: AsyncSession) -> None:
    headers = await actors.a.headers("roster:write")
    result = await gql(
        'mutation { ok: createOrg(input: {name: "Half", type: SCHOOL}) { id } '
        'bad: createOrg(input: {name: "", type: SCHOOL}) { id } }',
        headers=headers,
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["errors"][0]["loc"] == "input.name"
    assert await _count_orgs(session, "Half") == 0


async def test_the_next_request_is_not_affected(gql: GraphQL, actors: Actors, session: AsyncSession) -> None:
    headers = await actors.a.headers("roster:write")
    failed = await gql('mutation { createOrg(input: {name: "", type: SCHOOL}) { id } }', headers=headers)
    assert failed.codes == ["BAD_USER_INPUT"]
    ok = await gql('mutation { createOrg(input: {name: "After", type: SCHOOL}) { name } }', headers=headers)
    assert ok.ok() == {"createOrg": {"name": "After"}}
    assert await _count_orgs(session, "After") == 1
