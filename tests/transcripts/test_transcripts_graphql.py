"""Transcripts over GraphQL: the same service, scopes and errors as REST."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from tests.factories import Actors
from tests.transcripts.helpers import official_errors, seed

GENERATE = """
mutation Gen($learner: UUID!, $input: TranscriptInput) {
  generateTranscript(learnerId: $learner, input: $input) {
    id uuid status partial partialReasons asOf frameworkVersion counts credential jwt
  }
}"""


async def _gql(
    http: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    answer = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_generate_list_get_revoke_and_errors(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, actors.a.tenant.id, settings, learners=1)
    write = await actors.a.headers("transcripts:write", "transcripts:read")
    made = await _gql(http, write, GENERATE, learner=str(seeded.learner_id), input={"includeCourses": False})
    assert "errors" not in made, made
    transcript = made["data"]["generateTranscript"]
    assert transcript["status"] == "ACTIVE" and transcript["frameworkVersion"] == "1"
    assert transcript["credential"]["id"] == transcript["id"] and transcript["jwt"].count(".") == 2
    assert official_errors(transcript["credential"]) == []
    assert "3 course records left out" in transcript["partialReasons"]

    listed = await _gql(
        http,
        write,
        "query($l: UUID) { transcripts(learnerId: $l) { total items { uuid credential } } }",
        l=str(seeded.learner_id),
    )
    assert listed["data"]["transcripts"]["total"] == 1
    assert listed["data"]["transcripts"]["items"][0]["credential"] is None  # lists stay light
    one = await _gql(
        http, write, "query($u: UUID!) { transcript(uuid: $u) { uuid credential } }", u=transcript["uuid"]
    )
    assert one["data"]["transcript"]["credential"] == transcript["credential"]

    revoked = await _gql(
        http,
        write,
        'mutation($u: UUID!) { revokeTranscript(uuid: $u, input: {reason: "mistake"}) '
        "{ status revocationReason } }",
        u=transcript["uuid"],
    )
    assert revoked["data"]["revokeTranscript"] == {"status": "REVOKED", "revocationReason": "mistake"}

    unknown = await _gql(http, write, GENERATE, learner=str(uuid.uuid4()))
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    future = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    late = await _gql(http, write, GENERATE, learner=str(seeded.learner_id), input={"asOf": future})
    assert late["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    other = await _gql(
        http,
        await actors.b.headers("transcripts:read"),
        "query($u: UUID!) { transcript(uuid: $u) { uuid } }",
        u=transcript["uuid"],
    )
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    denied = await _gql(
        http, await actors.a.headers("transcripts:read"), GENERATE, learner=str(seeded.learner_id)
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
