"""Issuance from awards and by direct call: schema-valid, verifiable in both formats, exactly once."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.models import Award
from service.badges.issuance import CredentialService
from service.config import Settings
from tests.badges.helpers import earn, official_schema_errors, verify_via_http
from tests.factories import Actors


async def test_an_award_is_issued_once_and_verifies_in_both_formats(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    earned = await earn(session, actors.a.tenant.id)
    assert len(earned.award_ids) == 1
    service = CredentialService(session, actors.a.tenant.id, settings)
    assert await service.issue_awards(earned.award_ids) == 1
    # A second run (a retried job) issues nothing and the award points at the one credential.
    assert await CredentialService(session, actors.a.tenant.id, settings).issue_awards(earned.award_ids) == 0
    again = await CredentialService(session, actors.a.tenant.id, settings).issue_award(earned.award_ids[0])
    row = service.issued[0]
    assert again.id == row.id
    award = await session.get(Award, (actors.a.tenant.id, earned.award_ids[0]))
    assert award is not None and award.issuance_status == "issued" and award.credential_id == row.id
    await session.commit()

    doc = json.loads(row.document)
    assert official_schema_errors(doc) == []
    assert doc["id"] == f"{settings.public_url}/credentials/{row.id}"
    assert doc["issuer"]["id"] == f"did:web:portrait.test:issuers:{actors.a.tenant.slug}"
    subject = doc["credentialSubject"]
    assert subject["id"].startswith("urn:uuid:")
    assert (
        subject["identifier"][0]["identityType"] == "sourcedId" and subject["identifier"][0]["hashed"] is True
    )
    achievement = subject["achievement"]
    assert achievement["alignment"][0]["targetUrl"] == (
        f"{settings.public_url}/ims/case/v1p1/CFItems/{earned.portrait.competency_ids[0]}"
    )
    levels = achievement["resultDescription"][0]["rubricCriterionLevel"]
    assert [lv["name"] for lv in levels] == ["Beginning", "Developing", "Proficient", "Extending"]
    assert subject["result"][0]["achievedLevel"] == levels[2]["id"]
    assert doc["evidence"][0]["narrative"] == "Good work"
    assert doc["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"

    # The VC-JWT is signed on its first request and stored once; later requests read it back.
    assert row.jwt is None
    token = await service.jwt(row)
    assert service.jwt_stored and row.jwt == token
    reader = CredentialService(session, actors.a.tenant.id, settings)
    assert await reader.jwt(await reader.get(row.id)) == token and not reader.jwt_stored
    for form in (doc, token):
        result = await verify_via_http(http, form)
        assert result.verified, [c.to_json() for c in result.checks]
        assert official_schema_errors(result.credential or {}) == []


async def test_direct_issuance_over_rest_with_idempotency_and_bad_input(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    earned = await earn(session, actors.a.tenant.id)
    h = await actors.a.headers("credentials:write")
    body = {
        "achievement_id": str(earned.achievement_id),
        "learner_id": str(earned.portrait.learner_ids[0]),
        "idempotency_key": "k-1",
    }
    first = await http.post("/api/v1/credentials", json=body, headers=h)
    assert first.status_code == 201, first.text
    retry = await http.post("/api/v1/credentials", json=body, headers=h)
    assert retry.status_code == 200 and retry.json()["uuid"] == first.json()["uuid"]
    made = first.json()
    assert made["id"].endswith(f"/credentials/{made['uuid']}") and made["status"] == "active"
    assert official_schema_errors(made["credential"]) == []
    assert (await verify_via_http(http, made["credential"])).verified
    assert (await verify_via_http(http, made["jwt"])).verified

    unknown = await http.post(
        "/api/v1/credentials",
        json={**body, "learner_id": str(uuid.uuid4()), "idempotency_key": "k-2"},
        headers=h,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == "body.learner_id"
    missing = await http.post("/api/v1/credentials", json={"learner_id": body["learner_id"]}, headers=h)
    assert missing.status_code == 422 and "body.achievement_id" in missing.text
    no_scope = await http.post(
        "/api/v1/credentials", json=body, headers=await actors.a.headers("credentials:read")
    )
    assert no_scope.status_code == 403
    # Another district's learner and achievement are unknown here.
    foreign = await http.post(
        "/api/v1/credentials",
        json={**body, "idempotency_key": "k-3"},
        headers=await actors.b.headers("credentials:write"),
    )
    assert foreign.status_code == 422


async def test_one_failing_award_does_not_block_the_others(
    actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    from service.roster.models import Person

    earned = await earn(session, actors.a.tenant.id, learners=2)
    broken = await session.get(Person, earned.portrait.learner_ids[0])
    assert broken is not None
    broken.role = "teacher"  # no longer a learner: its award cannot be issued
    session.add(broken)
    await session.flush()
    failures: list[dict[str, str]] = []
    service = CredentialService(session, actors.a.tenant.id, settings)
    assert await service.issue_awards(earned.award_ids, failures=failures) == 1
    assert len(failures) == 1 and "unknown learner" in failures[0]["error"]
    assert [row.learner_id for row in service.issued] == [earned.portrait.learner_ids[1]]
