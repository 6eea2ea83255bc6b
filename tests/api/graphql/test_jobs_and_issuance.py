"""GraphQL parity for what an LMS does around issuance: issueCredential (idempotent),
issueCredentialBatch and issueWaitingCredentials (jobs), and jobs / job / cancelJob with REST's per-area
scopes, through the same services as REST."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.badges.helpers import earn
from tests.factories import Actors

ISSUE = (
    "mutation($i: IssueCredentialInput!) { issueCredential(input: $i) "
    "{ uuid learnerId achievementId status awardId } }"
)
BATCH = (
    "mutation($i: IssueCredentialBatchInput!) { issueCredentialBatch(input: $i) "
    "{ id kind area state params } }"
)
WAITING = "mutation { issueWaitingCredentials { id kind state } }"
JOB = "query($id: UUID!) { job(id: $id) { id kind state cancelRequested } }"
JOBS = "query($k: String) { jobs(kind: $k) { total items { id kind state } } }"
CANCEL = "mutation($id: UUID!) { cancelJob(id: $id) { id state } }"


async def _gql(http: httpx.AsyncClient, query: str, headers: dict[str, str], **variables: Any) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_issue_credential_directly_and_idempotently(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    earned = await earn(session, actors.a.tenant.id, learners=1)
    learner = str(earned.portrait.learner_ids[0])
    item = {"achievementId": str(earned.achievement_id), "learnerId": learner, "idempotencyKey": "lms-42"}
    write = await actors.a.headers("credentials:write")

    first = await _gql(http, ISSUE, write, i=item)
    issued = first["data"]["issueCredential"]
    assert issued["learnerId"] == learner and issued["status"] == "ACTIVE" and issued["awardId"] is None
    again = await _gql(http, ISSUE, write, i=item)
    assert again["data"]["issueCredential"]["uuid"] == issued["uuid"]

    listed = await http.get(
        "/api/v1/credentials",
        params={"learner_id": learner},
        headers=await actors.a.headers("credentials:read"),
    )
    assert issued["uuid"] in {c["uuid"] for c in listed.json()["items"]}

    denied = await _gql(http, ISSUE, await actors.a.headers("credentials:read"), i=item)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = await _gql(http, ISSUE, await actors.b.headers("credentials:write"), i=item)
    assert foreign["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # not a learner of district b
    bad = await _gql(http, ISSUE, write, i={**item, "idempotencyKey": ""})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "input.idempotencyKey" in str(bad["errors"][0]["extensions"])


async def test_batch_and_waiting_issuance_are_jobs_readable_and_cancellable(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    earned = await earn(session, actors.a.tenant.id, learners=2)
    items = [
        {"achievementId": str(earned.achievement_id), "learnerId": str(learner)}
        for learner in earned.portrait.learner_ids
    ]
    write = await actors.a.headers("credentials:write")
    read = await actors.a.headers("credentials:read")

    empty = await _gql(http, BATCH, write, i={"items": []})
    assert empty["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    queued = (await _gql(http, BATCH, write, i={"items": items}))["data"]["issueCredentialBatch"]
    assert queued["kind"] == "badges.issue_batch" and queued["area"] == "credentials"
    assert queued["state"] == "QUEUED" and len(queued["params"]["items"]) == 2
    waiting = (await _gql(http, WAITING, write))["data"]["issueWaitingCredentials"]
    assert waiting["kind"] == "badges.issue_awards"

    seen = await _gql(http, JOB, read, id=queued["id"])
    assert seen["data"]["job"] == {
        "id": queued["id"],
        "kind": "badges.issue_batch",
        "state": "QUEUED",
        "cancelRequested": False,
    }
    listed = await _gql(http, JOBS, read, k="badges.issue_batch")
    assert [j["id"] for j in listed["data"]["jobs"]["items"]] == [queued["id"]]
    # Another area's token does not see credentials jobs; another district gets NOT_FOUND.
    other_area = await _gql(http, JOB, await actors.a.headers("sync:read"), id=queued["id"])
    assert other_area["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = await _gql(http, JOBS, await actors.a.headers("sync:read"), k="badges.issue_batch")
    assert hidden["data"]["jobs"]["total"] == 0
    foreign = await _gql(http, JOB, await actors.b.headers("credentials:read"), id=queued["id"])
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    refused = await _gql(http, CANCEL, read, id=queued["id"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    cancelled = await _gql(http, CANCEL, write, id=queued["id"])
    assert cancelled["data"]["cancelJob"] == {"id": queued["id"], "state": "CANCELLED"}
    twice = await _gql(http, CANCEL, write, id=queued["id"])
    assert twice["errors"][0]["extensions"]["code"] == "CONFLICT"
    rest = await http.get(f"/api/v1/jobs/{queued['id']}", headers=read)
    assert rest.json()["state"] == "cancelled"
