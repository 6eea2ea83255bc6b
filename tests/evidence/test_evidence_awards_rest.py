"""Evidence ingest and automatic, exactly-once awards over REST."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import OutboundSettings, Settings
from service.webhooks.models import WebhookDelivery
from tests.factories import Actors, PortraitFixture, make_portrait

NOW = "2026-10-01T12:00:00Z"


def _evidence(
    p: PortraitFixture, learner: int = 0, level: int = 2, klass: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "learner_id": str(p.learner_ids[learner]),
        "competency_id": str(p.competency_ids[0]),
        "source": "rubric",
        "level": level,
        "class_id": str(p.class_ids[klass]),
        "observed_at": NOW,
        "assessor_id": str(p.teacher_id),
        **extra,
    }


def _rule(p: PortraitFixture, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "evidence",
        "competency_ids": [str(p.competency_ids[0])],
        "min_level": 2,
        "min_count": 2,
        **overrides,
    }


async def _achievement(
    http: httpx.AsyncClient, headers: dict[str, str], rule: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/achievements",
        json={
            "title": "Collaborator",
            "description": "Collaborates.",
            "criteria": "Two pieces at Proficient.",
            "rule": rule,
            **extra,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
async def portrait(session: AsyncSession, actors: Actors) -> PortraitFixture:
    return await make_portrait(session, actors.a.tenant.id)


async def test_award_is_made_when_the_threshold_is_met_and_only_once(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:write")
    achievement = await _achievement(http, h, _rule(portrait, min_distinct_contexts=2))
    first = await http.post("/api/v1/evidence", json=_evidence(portrait, klass=0), headers=h)
    assert first.status_code == 201, first.text
    assert first.json()["level_position"] == 2
    assert (await http.get("/api/v1/awards", headers=h)).json()["total"] == 0
    same_class = await http.post("/api/v1/evidence", json=_evidence(portrait, klass=0), headers=h)
    assert same_class.status_code == 201
    progress = (await http.get(f"/api/v1/learners/{portrait.learner_ids[0]}/progress", headers=h)).json()
    mine = next(a for a in progress["achievements"] if a["achievement_id"] == achievement["id"])
    assert mine["earned"] is False
    assert any("class" in r for r in mine["reasons"]), mine["reasons"]
    other_class = await http.post("/api/v1/evidence", json=_evidence(portrait, klass=1), headers=h)
    assert other_class.status_code == 201
    awards = (
        await http.get("/api/v1/awards", params={"learner_id": str(portrait.learner_ids[0])}, headers=h)
    ).json()
    assert awards["total"] == 1
    award = awards["items"][0]
    assert award["status"] == "awarded" and award["method"] == "rule"
    assert other_class.json()["id"] in award["evidence_ids"]
    assert award["rule_version"] == 1
    more = await http.post("/api/v1/evidence", json=_evidence(portrait, klass=2), headers=h)
    assert more.status_code == 201
    assert (await http.get("/api/v1/awards", headers=h)).json()["total"] == 1
    progress = (await http.get(f"/api/v1/learners/{portrait.learner_ids[0]}/progress", headers=h)).json()
    assert (
        next(a for a in progress["achievements"] if a["achievement_id"] == achievement["id"])["earned"]
        is True
    )
    level = next(c for c in progress["competencies"] if c["competency_id"] == str(portrait.competency_ids[0]))
    assert level["level"] == 2 and level["level_title"] == "Proficient" and level["evidence_count"] == 4


async def test_bulk_array_and_ndjson_report_per_record(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "evidence:read", "awards:write")
    await _achievement(http, h, _rule(portrait))
    records = [
        _evidence(portrait, learner=0),
        _evidence(portrait, learner=0, klass=1),
        {**_evidence(portrait, learner=1), "level": 9},
        {**_evidence(portrait, learner=1), "learner_id": str(uuid.uuid4())},
        {"nonsense": True},
        _evidence(portrait, learner=2, level=1),
    ]
    response = await http.post("/api/v1/evidence", json=records, headers=h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["index"] for a in body["accepted"]] == [0, 1, 5]
    assert [e["index"] for e in body["errors"]] == [2, 3, 4]
    assert body["errors"][0]["errors"][0]["loc"] == "level"
    assert body["errors"][1]["errors"][0]["loc"] == "learner_id"
    assert body["awards_created"] == 1
    listed = (await http.get("/api/v1/evidence", headers=h)).json()
    assert listed["total"] == 3

    lines = [
        json.dumps(_evidence(portrait, learner=1)),
        "",
        "{not json",
        json.dumps(_evidence(portrait, learner=1, klass=2)),
    ]
    nd = await http.post(
        "/api/v1/evidence",
        content="\n".join(lines).encode(),
        headers={**h, "Content-Type": "application/x-ndjson"},
    )
    assert nd.status_code == 200, nd.text
    assert [a["index"] for a in nd.json()["accepted"]] == [0, 3]
    assert nd.json()["errors"][0]["index"] == 2
    assert nd.json()["errors"][0]["errors"][0]["type"] == "json_invalid"
    assert nd.json()["awards_created"] == 1


async def test_idempotent_retry_returns_the_first_result(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = {**(await actors.a.headers("evidence:write", "evidence:read")), "Idempotency-Key": "retry-1"}
    body = _evidence(portrait)
    first = await http.post("/api/v1/evidence", json=body, headers=h)
    second = await http.post("/api/v1/evidence", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert (await http.get("/api/v1/evidence", headers=h)).json()["total"] == 1
    different = await http.post("/api/v1/evidence", json={**body, "level": 3}, headers=h)
    assert different.status_code == 422
    assert different.json()["code"] == "idempotency_key_reused"
    bulk_h = {**h, "Idempotency-Key": "bulk-1"}
    b1 = await http.post("/api/v1/evidence", json=[body, body], headers=bulk_h)
    b2 = await http.post("/api/v1/evidence", json=[body, body], headers=bulk_h)
    assert b1.json() == b2.json()
    assert (await http.get("/api/v1/evidence", headers=h)).json()["total"] == 3


async def test_withdrawal_flags_the_award_for_review_and_never_revokes(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:write")
    await _achievement(http, h, _rule(portrait))
    ids = [
        (await http.post("/api/v1/evidence", json=_evidence(portrait, klass=k), headers=h)).json()["id"]
        for k in (0, 1)
    ]
    award = (await http.get("/api/v1/awards", headers=h)).json()["items"][0]
    withdrawn = await http.post(
        f"/api/v1/evidence/{ids[0]}/withdraw", json={"reason": "wrong learner"}, headers=h
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    again = await http.post(f"/api/v1/evidence/{ids[0]}/withdraw", json={"reason": "x"}, headers=h)
    assert again.status_code == 409
    flagged = (await http.get(f"/api/v1/awards/{award['id']}", headers=h)).json()
    assert flagged["status"] == "awarded"
    assert flagged["needs_review"] is True
    assert "wrong learner" in flagged["review_reason"]
    kept = await http.post(f"/api/v1/awards/{award['id']}/decision", json={"decision": "keep"}, headers=h)
    assert kept.status_code == 200 and kept.json()["needs_review"] is False
    # Kept once: keeping it again is a conflict naming the award's state, and records nothing.
    twice = await http.post(f"/api/v1/awards/{award['id']}/decision", json={"decision": "keep"}, headers=h)
    assert twice.status_code == 409, twice.text
    assert twice.json()["code"] == "invalid_award_transition"
    assert "is awarded and not flagged for review" in twice.json()["detail"]
    after = (await http.get(f"/api/v1/awards/{award['id']}", headers=h)).json()
    fields = ("status", "needs_review", "decided_by", "decided_at")
    assert {k: after[k] for k in fields} == {k: kept.json()[k] for k in fields}
    # A correction supersedes: the old piece is withdrawn and linked to its replacement.
    fix = await http.post(
        "/api/v1/evidence", json={**_evidence(portrait, level=3), "supersedes_id": ids[1]}, headers=h
    )
    assert fix.status_code == 201, fix.text
    old = (
        await http.get(f"/api/v1/evidence/{ids[1]}", headers=await actors.a.headers("evidence:read"))
    ).json()
    assert old["status"] == "withdrawn" and old["superseded_by_id"] == fix.json()["id"]


async def test_review_mode_and_composites(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:write")
    single = []
    for i, comp in enumerate(portrait.competency_ids[:2]):
        single.append(
            await _achievement(
                http,
                h,
                {"type": "evidence", "competency_ids": [str(comp)], "min_level": 2, "min_count": 1},
                title=f"Badge {i}",
                award_mode="review" if i == 1 else "automatic",
            )
        )
    whole = await _achievement(
        http, h, {"type": "composite", "achievement_ids": [a["id"] for a in single]}, title="Portrait badge"
    )
    for comp in portrait.competency_ids[:2]:
        response = await http.post(
            "/api/v1/evidence", json={**_evidence(portrait), "competency_id": str(comp)}, headers=h
        )
        assert response.status_code == 201
    awards = {a["achievement_id"]: a for a in (await http.get("/api/v1/awards", headers=h)).json()["items"]}
    assert awards[single[0]["id"]]["status"] == "awarded"
    assert awards[single[1]["id"]]["status"] == "pending_review"
    assert whole["id"] not in awards  # the reviewed badge is not earned yet
    approved = await http.post(
        f"/api/v1/awards/{awards[single[1]['id']]['id']}/decision", json={"decision": "approve"}, headers=h
    )
    assert approved.status_code == 200 and approved.json()["status"] == "awarded"
    awards = {a["achievement_id"]: a for a in (await http.get("/api/v1/awards", headers=h)).json()["items"]}
    assert awards[whole["id"]]["status"] == "awarded"


async def test_rules_are_validated_and_versioned(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("awards:write")
    bad = await http.post(
        "/api/v1/achievements",
        json={"title": "x", "description": "d", "criteria": "c", "rule": {**_rule(portrait), "min_count": 0}},
        headers=h,
    )
    assert bad.status_code == 422
    assert any(e["loc"].startswith("body.rule") and "min_count" in e["loc"] for e in bad.json()["errors"])
    unknown = await http.post(
        "/api/v1/achievements",
        json={
            "title": "x",
            "description": "d",
            "criteria": "c",
            "rule": {**_rule(portrait), "competency_ids": [str(uuid.uuid4())]},
        },
        headers=h,
    )
    assert unknown.status_code == 422
    made = await _achievement(http, h, _rule(portrait))
    changed = await http.patch(
        f"/api/v1/achievements/{made['id']}", json={"rule": _rule(portrait, min_count=3)}, headers=h
    )
    assert changed.status_code == 200
    assert changed.json()["rule_version"] == 2 and changed.json()["rule"]["min_count"] == 3
    same = await http.patch(
        f"/api/v1/achievements/{made['id']}", json={"rule": _rule(portrait, min_count=3)}, headers=h
    )
    assert same.json()["rule_version"] == 2


async def test_evidence_validation_and_isolation(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "evidence:read")
    cases = [
        ({**_evidence(portrait), "observed_at": "2026-10-01T12:00:00"}, "body.observed_at"),
        ({**_evidence(portrait), "level": None, "source": "rubric"}, "body"),
        ({**_evidence(portrait), "score": 5, "score_max": 4, "level": None}, "body"),
        ({**_evidence(portrait), "artifacts": [{"name": "a", "url": "ftp://x"}]}, "body.artifacts.0.url"),
        ({**_evidence(portrait), "observed_at": "2099-01-01T00:00:00Z"}, "body.observed_at"),
        ({**_evidence(portrait), "learner_id": str(portrait.teacher_id)}, "body.learner_id"),
    ]
    for body, loc in cases:
        response = await http.post("/api/v1/evidence", json=body, headers=h)
        assert response.status_code == 422, (body, response.text)
        assert any(e["loc"] == loc for e in response.json()["errors"]), (loc, response.json())
    assert (await http.get("/api/v1/evidence", headers=h)).json()["total"] == 0
    created = (await http.post("/api/v1/evidence", json=_evidence(portrait), headers=h)).json()
    b = await actors.b.headers("evidence:write", "evidence:read", "awards:read")
    assert (await http.get(f"/api/v1/evidence/{created['id']}", headers=b)).status_code == 404
    assert (await http.get("/api/v1/evidence", headers=b)).json()["total"] == 0
    foreign = await http.post("/api/v1/evidence", json=_evidence(portrait), headers=b)
    assert foreign.status_code == 422
    assert (
        await http.get(f"/api/v1/learners/{portrait.learner_ids[0]}/progress", headers=b)
    ).status_code == 404
    assert (await http.get(f"/api/v1/classes/{portrait.class_ids[0]}/progress", headers=b)).status_code == 404


async def test_class_roster_progress(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("evidence:write", "awards:read")
    for learner, level in ((0, 3), (1, 1)):
        await http.post("/api/v1/evidence", json=_evidence(portrait, learner=learner, level=level), headers=h)
    view = (await http.get(f"/api/v1/classes/{portrait.class_ids[0]}/progress", headers=h)).json()
    assert len(view["learners"]) == 3
    assert [c["title"] for c in view["competencies"]] == ["Competency 0", "Competency 1", "Competency 2"]
    by_learner = {row["learner_id"]: row["cells"][0] for row in view["learners"]}
    assert by_learner[str(portrait.learner_ids[0])]["level_title"] == "Extending"
    assert by_learner[str(portrait.learner_ids[1])]["level"] == 1
    assert by_learner[str(portrait.learner_ids[2])]["level"] is None


async def test_composite_cycles_are_rejected(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("awards:write")
    base = await _achievement(http, h, _rule(portrait), title="Base")
    outer = await _achievement(http, h, {"type": "composite", "achievement_ids": [base["id"]]}, title="Outer")
    top = await _achievement(http, h, {"type": "composite", "achievement_ids": [outer["id"]]}, title="Top")
    cycle = await http.patch(
        f"/api/v1/achievements/{outer['id']}",
        json={"rule": {"type": "composite", "achievement_ids": [top["id"]]}},
        headers=h,
    )
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["type"] == "cycle"
    itself = await http.patch(
        f"/api/v1/achievements/{outer['id']}",
        json={"rule": {"type": "composite", "achievement_ids": [outer["id"]]}},
        headers=h,
    )
    assert itself.status_code == 422


async def test_large_bulk_keeps_every_field(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    """Large batches take the bulk path (COPY on PostgreSQL); nothing may be lost or altered."""
    h = await actors.a.headers("evidence:write", "evidence:read")
    artifact = {"name": "Essay", "url": "https://example.org/essay.pdf", "media_type": "application/pdf"}
    records = [
        {
            **_evidence(portrait, learner=i % 3, klass=i % 3, level=i % 4),
            "narrative": f"piece {i}",
            "artifacts": [artifact],
        }
        for i in range(260)
    ]
    response = await http.post("/api/v1/evidence", json=records, headers=h)
    assert response.status_code == 200, response.text
    assert len(response.json()["accepted"]) == 260
    listed = (await http.get("/api/v1/evidence", params={"limit": 200}, headers=h)).json()
    assert listed["total"] == 260
    sample = listed["items"][0]
    assert sample["artifacts"] == [artifact]
    assert sample["narrative"].startswith("piece ")
    assert sample["observed_at"].startswith("2026-10-01T12:00:00")
    assert sample["status"] == "active"


async def test_awards_emit_webhook_events(
    http: httpx.AsyncClient,
    actors: Actors,
    portrait: PortraitFixture,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    session: AsyncSession,
) -> None:
    monkeypatch.setattr(settings, "outbound", OutboundSettings(allowed_hosts=["hooks.example.test"]))
    h = await actors.a.headers("evidence:write", "awards:write", "webhooks:write", "webhooks:read")
    hook = await http.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.test/a", "events": ["award.created"]},
        headers=h,
    )
    assert hook.status_code == 201, hook.text
    await _achievement(http, h, _rule(portrait, min_count=1))
    created = await http.post("/api/v1/evidence", json=_evidence(portrait), headers=h)
    assert created.status_code == 201
    award = (await http.get("/api/v1/awards", headers=h)).json()["items"][0]
    deliveries = (await http.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=h)).json()
    assert deliveries["total"] == 1
    delivery = deliveries["items"][0]
    assert delivery["event_type"] == "award.created"
    row = await session.get(WebhookDelivery, uuid.UUID(delivery["id"]))
    assert row is not None
    assert json.loads(row.body)["data"]["award"]["id"] == award["id"]
    # District B's subscription hears nothing of district A's awards.
    b = await actors.b.headers("webhooks:write", "webhooks:read")
    b_hook = await http.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example.test/b", "events": ["*"]}, headers=b
    )
    await http.post("/api/v1/evidence", json=_evidence(portrait, learner=1), headers=h)
    b_deliveries = (await http.get(f"/api/v1/webhooks/{b_hook.json()['id']}/deliveries", headers=b)).json()
    assert b_deliveries["total"] == 0
    assert award["status"] == "awarded"


async def test_award_backed_by_hundreds_of_pieces_links_them_all(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    """An award over 250 pieces links every one (the bulk path: COPY on PostgreSQL)."""
    h = await actors.a.headers("evidence:write", "evidence:read", "awards:read", "awards:write")
    await _achievement(http, h, _rule(portrait, min_count=250))
    records = [_evidence(portrait, klass=i % 3, narrative=f"piece {i}") for i in range(250)]
    response = await http.post("/api/v1/evidence", json=records, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["awards_created"] == 1
    awards = (await http.get("/api/v1/awards", headers=h)).json()["items"]
    assert len(awards) == 1
    accepted = {a["id"] for a in response.json()["accepted"]}
    assert set(awards[0]["evidence_ids"]) == accepted
