"""Evidence answers say what happened to awards; an award's status follows its credential's revocation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import OutboundSettings, Settings
from service.webhooks.models import WebhookDelivery
from tests.badges.helpers import earn
from tests.factories import Actors, PortraitFixture, make_portrait

NOW = "2026-10-01T12:00:00Z"


def _evidence(p: PortraitFixture, learner: int = 0, competency: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "learner_id": str(p.learner_ids[learner]),
        "competency_id": str(p.competency_ids[competency]),
        "source": "rubric",
        "level": 2,
        "class_id": str(p.class_ids[0]),
        "observed_at": NOW,
        **extra,
    }


async def _achievement(
    http: httpx.AsyncClient, h: dict[str, str], rule: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/achievements",
        json={"title": "Badge", "description": "d", "criteria": "c", "rule": rule, **extra},
        headers=h,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _one_piece(p: PortraitFixture, competency: int = 0) -> dict[str, Any]:
    return {"type": "evidence", "competency_ids": [str(p.competency_ids[competency])], "min_level": 2}


@pytest.fixture
async def portrait(session: AsyncSession, actors: Actors) -> PortraitFixture:
    return await make_portrait(session, actors.a.tenant.id)


async def test_single_evidence_lists_the_awards_it_created_with_composites_and_review(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:write")
    first = await _achievement(http, h, _one_piece(portrait, 0), title="First")
    second = await _achievement(http, h, _one_piece(portrait, 1), title="Second")
    both = await _achievement(
        http, h, {"type": "composite", "achievement_ids": [first["id"], second["id"]]}, title="Both"
    )
    reviewed = await _achievement(http, h, _one_piece(portrait, 0), title="Reviewed", award_mode="review")

    below = await http.post("/api/v1/evidence", json=_evidence(portrait, level=1), headers=h)
    assert below.status_code == 201, below.text
    assert below.json()["awards"] == []

    one = await http.post("/api/v1/evidence", json=_evidence(portrait), headers=h)
    assert one.status_code == 201, one.text
    changes = {c["achievement_id"]: c for c in one.json()["awards"]}
    assert set(changes) == {first["id"], reviewed["id"]}
    assert changes[first["id"]]["status"] == "awarded" and changes[first["id"]]["change"] == "created"
    assert changes[reviewed["id"]]["status"] == "pending_review"
    assert {c["learner_id"] for c in changes.values()} == {str(portrait.learner_ids[0])}

    # The second badge earns the composite in turn: both are listed.
    two = await http.post("/api/v1/evidence", json=_evidence(portrait, competency=1), headers=h)
    assert {c["achievement_id"] for c in two.json()["awards"]} == {second["id"], both["id"]}
    listed = (await http.get("/api/v1/awards", params={"limit": 10}, headers=h)).json()["items"]
    assert {a["id"] for a in listed} == {
        c["award_id"] for c in [*one.json()["awards"], *two.json()["awards"]]
    }

    # Evidence that changes nothing (the learner has the badges) lists nothing.
    again = await http.post("/api/v1/evidence", json=_evidence(portrait), headers=h)
    assert again.json()["awards"] == []


async def test_bulk_lists_awards_and_keeps_the_count(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:write")
    badge = await _achievement(http, h, _one_piece(portrait))
    records = [_evidence(portrait, learner=0), _evidence(portrait, learner=1), _evidence(portrait, learner=1)]
    response = await http.post("/api/v1/evidence", json=records, headers=h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["awards_created"] == 2 == len(body["awards"])
    assert sorted(c["learner_id"] for c in body["awards"]) == sorted(str(x) for x in portrait.learner_ids[:2])
    assert {(c["achievement_id"], c["change"], c["status"]) for c in body["awards"]} == {
        (badge["id"], "created", "awarded")
    }
    # The NDJSON form answers alike; a replay (Idempotency-Key) gives the same list back.
    nd_h = {**h, "Content-Type": "application/x-ndjson", "Idempotency-Key": "nd-1"}
    line = json.dumps(_evidence(portrait, learner=2)).encode()
    nd = await http.post("/api/v1/evidence", content=line, headers=nd_h)
    replay = await http.post("/api/v1/evidence", content=line, headers=nd_h)
    assert nd.json()["awards"] == replay.json()["awards"]
    assert [c["learner_id"] for c in nd.json()["awards"]] == [str(portrait.learner_ids[2])]


async def test_withdrawal_and_correction_list_the_awards_flagged_for_review(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:write")
    await _achievement(http, h, _one_piece(portrait))
    made = (await http.post("/api/v1/evidence", json=_evidence(portrait), headers=h)).json()
    award = made["awards"][0]
    withdrawn = await http.post(
        f"/api/v1/evidence/{made['id']}/withdraw", json={"reason": "wrong learner"}, headers=h
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["awards"] == [{**award, "change": "flagged_for_review", "status": "awarded"}]
    read = (await http.get(f"/api/v1/awards/{award['award_id']}", headers=h)).json()
    assert read["needs_review"] is True and read["status"] == "awarded"

    # A correction of a piece that backs no award flags nothing; of one that does, flags it.
    other = (
        await http.post("/api/v1/evidence", json=_evidence(portrait, learner=1, level=1), headers=h)
    ).json()
    assert other["awards"] == []
    fix = await http.post(
        "/api/v1/evidence",
        json={**_evidence(portrait, learner=1, level=0), "supersedes_id": other["id"]},
        headers=h,
    )
    assert fix.status_code == 201 and fix.json()["awards"] == []
    backing = (await http.post("/api/v1/evidence", json=_evidence(portrait, learner=2), headers=h)).json()
    corrected = await http.post(
        "/api/v1/evidence",
        json={**_evidence(portrait, learner=2, level=3), "supersedes_id": backing["id"]},
        headers=h,
    )
    assert [(c["award_id"], c["change"]) for c in corrected.json()["awards"]] == [
        (backing["awards"][0]["award_id"], "flagged_for_review")
    ]


async def test_revoking_a_credential_revokes_its_award(
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "outbound", OutboundSettings(allowed_hosts=["hooks.example.test"]))
    earned = await earn(session, actors.a.tenant.id, learners=2)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    await session.commit()
    credentials = {r.award_id: r.id for r in service.issued}
    h = await actors.a.headers(
        "credentials:write", "awards:read", "awards:write", "webhooks:write", "webhooks:read"
    )
    hook = await http.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.test/a", "events": ["award.updated"]},
        headers=h,
    )
    assert hook.status_code == 201, hook.text
    target, other = earned.award_ids
    before = (await http.get(f"/api/v1/awards/{target}", headers=h)).json()
    assert (before["status"], before["issuance_status"]) == ("awarded", "issued")

    revoked = await http.post(
        f"/api/v1/credentials/{credentials[target]}/revoke", json={"reason": "issued in error"}, headers=h
    )
    assert revoked.status_code == 200, revoked.text
    after = (await http.get(f"/api/v1/awards/{target}", headers=h)).json()
    assert (after["status"], after["issuance_status"]) == ("revoked", "revoked")
    assert after["needs_review"] is False and after["decided_at"] is not None
    untouched = (await http.get(f"/api/v1/awards/{other}", headers=h)).json()
    assert (untouched["status"], untouched["issuance_status"]) == ("awarded", "issued")
    revoked_list = (await http.get("/api/v1/awards", params={"status": "revoked"}, headers=h)).json()
    assert [a["id"] for a in revoked_list["items"]] == [str(target)]

    deliveries = (await http.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=h)).json()
    assert deliveries["total"] == 1
    row = await session.get(WebhookDelivery, uuid.UUID(deliveries["items"][0]["id"]))
    assert row is not None
    assert json.loads(row.body)["data"]["award"] == {
        **json.loads(row.body)["data"]["award"],
        "id": str(target),
        "status": "revoked",
    }
    # A revoked award is final: a decision on it is refused.
    decided = await http.post(f"/api/v1/awards/{target}/decision", json={"decision": "keep"}, headers=h)
    assert decided.status_code == 409
