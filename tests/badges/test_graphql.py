"""GraphQL: the credentials query and the revokeCredential mutation, over the same service as REST."""

from __future__ import annotations

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from tests.badges.helpers import earn
from tests.factories import Actors

LIST = (
    "query($s: CredentialStatus) "
    "{ credentials(status: $s) { total items { id uuid status revocationReason } } }"
)
REVOKE = (
    "mutation($u: UUID!, $r: String!) { revokeCredential(uuid: $u, input: {reason: $r}) "
    "{ uuid status revocationReason revokedAt } }"
)


async def test_query_and_revoke(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    earned = await earn(session, actors.a.tenant.id, learners=2)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    target = str(service.issued[0].id)
    await session.commit()

    async def gql(query: str, headers: dict[str, str], **variables: object) -> dict:  # type: ignore[type-arg]
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    read = await actors.a.headers("credentials:read")
    listed = await gql(LIST, read)
    assert listed["data"]["credentials"]["total"] == 2
    assert all(i["id"].endswith(f"/credentials/{i['uuid']}") for i in listed["data"]["credentials"]["items"])

    denied = await gql(REVOKE, read, u=target, r="no")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = await gql(REVOKE, await actors.b.headers("credentials:write"), u=target, r="no")
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    empty = await gql(REVOKE, await actors.a.headers("credentials:write"), u=target, r="")
    assert empty["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    done = await gql(REVOKE, await actors.a.headers("credentials:write"), u=target, r="duplicate")
    assert done["data"]["revokeCredential"]["status"] == "REVOKED"
    assert done["data"]["revokeCredential"]["revocationReason"] == "duplicate"
    revoked = await gql(LIST, read, s="REVOKED")
    assert [i["uuid"] for i in revoked["data"]["credentials"]["items"]] == [target]
    b_list = await gql(LIST, await actors.b.headers("credentials:read"))
    assert b_list["data"]["credentials"]["total"] == 0
