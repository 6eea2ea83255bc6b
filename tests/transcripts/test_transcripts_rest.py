"""Transcripts through REST: generation (201 with the signed ClrCredential), the official CLR schema,
verification of the outer and every nested proof, reuse of signed records, options, the public URL,
revocation, listing, bad input and tenant isolation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import OutboundSettings, Settings
from service.roster.schemas import CourseRecordUpdate, PersonCreate
from service.roster.service import RosterService
from tests.factories import Actors
from tests.transcripts.helpers import nested, official_errors, seed, verify_all

WRITE = "transcripts:write"
READ = "transcripts:read"


def _kinds(credential: dict[str, object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in nested(credential):  # type: ignore[arg-type]
        kind = item["credentialSubject"]["achievement"]["achievementType"]
        out.setdefault(kind, []).append(item["type"][1])
    return out


async def test_generate_validates_verifies_and_is_public(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, actors.a.tenant.id, settings)
    headers = await actors.a.headers(WRITE)
    made = await http.post(f"/api/v1/learners/{seeded.learner_id}/transcripts", json={}, headers=headers)
    assert made.status_code == 201, made.text
    credential = made.json()
    assert credential["type"] == ["VerifiableCredential", "ClrCredential"]
    assert credential["@context"][:3] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    transcript_id = made.headers["Portrait-Transcript-Id"]
    assert (
        credential["id"] == made.headers["Location"] == f"{settings.public_url}/transcripts/{transcript_id}"
    )
    assert official_errors(credential) == []

    # The badge verbatim, a level record for the competency without a badge; the tree and its links.
    subject = credential["credentialSubject"]
    assert _kinds(credential) == {
        "Competency": ["OpenBadgeCredential", "AchievementCredential"],
        "Course": ["AchievementCredential"] * 3,
    }
    badge = nested(credential)[0]
    stored = await http.get("/" + badge["id"].split("/", 3)[3])
    assert stored.status_code == 200 and json.loads(stored.text) == badge  # verbatim, its own proof
    achievements = {a["id"]: a for a in subject["achievement"]}
    types = sorted(a["achievementType"] for a in achievements.values())
    assert types == ["Competency", "Competency", "Course", "Course", "Course", "LearningProgram"]
    courses = {
        c["credentialSubject"]["achievement"]["name"]: c["credentialSubject"] for c in nested(credential)[2:]
    }
    assert list(courses) == ["English 9", "Algebra I", "Chemistry"]  # by school year, then term
    algebra = courses["Algebra I"]
    assert algebra["result"][0]["value"] == "A-" and algebra["result"][0]["status"] == "Completed"
    assert algebra["creditsEarned"] == 1 and algebra["term"] == "Fall 2025 (2025-2026)"
    assert (
        algebra["achievement"]["humanCode"] == "MATH101"
        and algebra["achievement"]["fieldOfStudy"] == "Mathematics"
    )
    assert achievements[algebra["achievement"]["id"]]["resultDescription"][0]["resultType"] == "LetterGrade"
    english = courses["English 9"]
    assert english["creditsEarned"] == 0.5 and "Lincoln Middle School" in english["narrative"]
    assert english["achievement"]["resultDescription"][0]["valueMax"] == "100"
    assert courses["Chemistry"]["result"][0]["status"] == "InProgress"
    root = next(a for a in achievements.values() if a["achievementType"] == "LearningProgram")
    assert root["version"] == "1"
    links = {(a["associationType"], a["sourceId"], a["targetId"]) for a in subject["association"]}
    for competency in (a for a in achievements.values() if a["achievementType"] == "Competency"):
        assert ("isChildOf", competency["id"], root["id"]) in links
        assert ("isParentOf", root["id"], competency["id"]) in links
        levels = competency["resultDescription"][0]["rubricCriterionLevel"]
        assert [lv["name"] for lv in levels] == ["Beginning", "Developing", "Proficient", "Extending"]
    level_record = nested(credential)[1]
    assert level_record["credentialSubject"]["result"][0]["achievedLevel"].endswith(
        next(
            lv["id"]
            for a in achievements.values()
            if a["id"] == level_record["credentialSubject"]["achievement"]["id"]
            for lv in a["resultDescription"][0]["rubricCriterionLevel"]
            if lv["name"] == "Developing"  # the self-assessment at level 3 does not count by default
        )
    )
    assert credential["partial"] is False or credential["partial"] is True
    assert "version 1" in credential["description"] and "as of" in credential["description"]
    assert subject["id"] == nested(credential)[0]["credentialSubject"]["id"]  # the badges' learner URN

    results = await verify_all(http, credential)
    assert [r.verified for r in results] == [True] * 6, [r.checks for r in results]

    # The public URL: JSON byte for byte, and the compact JWS, which verifies too.
    public = await http.get(f"/transcripts/{transcript_id}")
    assert public.status_code == 200 and public.headers["content-type"].startswith("application/vc+ld+json")
    assert public.json() == credential
    token = await http.get(f"/transcripts/{transcript_id}", headers={"Accept": "text/plain"})
    assert token.status_code == 200 and token.text.count(".") == 2
    from tests.badges.helpers import verify_via_http

    assert (await verify_via_http(http, token.text)).verified
    assert (await http.get(f"/transcripts/{transcript_id}.jwt")).text == token.text
    assert (await http.get(f"/transcripts/{uuid.uuid4()}")).status_code == 404
    # The badge routes do not serve it (its page is the transcript's).
    assert (await http.get(f"/credentials/{transcript_id}")).status_code == 404

    # Staff API: detail, listing, and the options recorded.
    read = await actors.a.headers(READ)
    detail = await http.get(f"/api/v1/transcripts/{transcript_id}", headers=read)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["credential"] == credential and body["status"] == "active"
    assert body["counts"]["badges"] == 1 and body["counts"]["competency_levels"] == 1
    assert body["counts"]["courses"] == 3
    assert "self-assessments left out of competency levels" in body["partial_reasons"]
    listed = await http.get(
        "/api/v1/transcripts", params={"learner_id": str(seeded.learner_id)}, headers=read
    )
    assert [item["uuid"] for item in listed.json()["items"]] == [transcript_id]


async def test_records_are_reused_while_unchanged_and_options_apply(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, actors.a.tenant.id, settings)
    headers = await actors.a.headers(WRITE)
    url = f"/api/v1/learners/{seeded.learner_id}/transcripts"
    first = (await http.post(url, json={}, headers=headers)).json()
    second = (await http.post(url, json={}, headers=headers)).json()
    assert first["id"] != second["id"]
    assert nested(first)[1] == nested(second)[1]  # the same signed level record, not re-signed

    with_self = (await http.post(url, json={"include_self_assessments": True}, headers=headers)).json()
    record = nested(with_self)[1]
    assert record["proof"] != nested(first)[1]["proof"]  # a higher level: a new record
    assert "self-assessments" in record["credentialSubject"]["narrative"]
    assert official_errors(with_self) == []

    assert nested(first)[2:] == nested(second)[2:]  # course records too

    no_progress = (await http.post(url, json={"include_in_progress": False}, headers=headers)).json()
    # Developing is below Proficient and Chemistry is in progress: both left out.
    assert [item["name"] for item in nested(no_progress)[1:]] == ["English 9: 93", "Algebra I: A-"]
    assert no_progress["partial"] is True
    assert official_errors(no_progress) == []

    no_courses = await http.post(url, json={"include_courses": False}, headers=headers)
    assert all(
        item["credentialSubject"]["achievement"]["achievementType"] != "Course"
        for item in nested(no_courses.json())
    )
    assert all(
        a["achievementType"] != "Course" for a in no_courses.json()["credentialSubject"]["achievement"]
    )
    tid = no_courses.headers["Portrait-Transcript-Id"]
    detail = (await http.get(f"/api/v1/transcripts/{tid}", headers=await actors.a.headers(READ))).json()
    assert "3 course records left out" in detail["partial_reasons"] and detail["partial"] is True

    # A changed grade: that course is signed again, the other records are reused.
    await RosterService(session, actors.a.tenant.id).update_course_record(
        seeded.course_record_ids[0], CourseRecordUpdate(grade="A")
    )
    await session.commit()
    third = (await http.post(url, json={}, headers=headers)).json()
    by_name = {item["credentialSubject"]["achievement"]["name"]: item for item in nested(third)}
    before = {item["credentialSubject"]["achievement"]["name"]: item for item in nested(first)}
    assert (
        by_name["Algebra I"]["name"] == "Algebra I: A"
        and by_name["Algebra I"]["id"] != before["Algebra I"]["id"]
    )
    assert by_name["English 9"] == before["English 9"] and by_name["Chemistry"] == before["Chemistry"]


async def test_learner_with_nothing_gets_a_valid_partial_transcript(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    await seed(session, actors.a.tenant.id, settings, learners=1)
    person = await RosterService(session, actors.a.tenant.id).create_person(
        PersonCreate(role="student", given_name="New", family_name="Comer", email="new@example.org")
    )
    await session.commit()
    made = await http.post(
        f"/api/v1/learners/{person.id}/transcripts", json={}, headers=await actors.a.headers(WRITE)
    )
    assert made.status_code == 201, made.text
    credential = made.json()
    assert credential["partial"] is True
    assert official_errors(credential) == []
    assert len(nested(credential)) == 1
    record = nested(credential)[0]
    assert record["credentialSubject"]["achievement"]["achievementType"] == "LearningProgram"
    assert "result" not in record["credentialSubject"]
    assert official_errors(record, "ob_v3p0_achievementcredential_schema.json") == []
    assert all(r.verified for r in await verify_all(http, credential))


async def test_bad_input_and_tenant_isolation(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, actors.a.tenant.id, settings, learners=1)
    a_write, b_write = await actors.a.headers(WRITE), await actors.b.headers(WRITE)
    unknown = await http.post(f"/api/v1/learners/{uuid.uuid4()}/transcripts", json={}, headers=a_write)
    assert unknown.status_code == 404 and unknown.json()["code"] == "learner_not_found"
    other = await http.post(f"/api/v1/learners/{seeded.learner_id}/transcripts", json={}, headers=b_write)
    assert other.status_code == 404
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    late = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts", json={"as_of": future}, headers=a_write
    )
    assert late.status_code == 422 and late.json()["errors"][0]["loc"] == "body.as_of"
    framework = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts",
        json={"framework_id": str(uuid.uuid4())},
        headers=a_write,
    )
    assert framework.status_code == 422 and framework.json()["errors"][0]["loc"] == "body.framework_id"
    typo = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts", json={"include_course": False}, headers=a_write
    )
    assert typo.status_code == 422
    scope = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts",
        json={},
        headers=await actors.a.headers(READ),
    )
    assert scope.status_code == 403

    made = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts",
        json={"as_of": date(2026, 10, 1).isoformat()},
        headers=a_write,
    )
    assert made.status_code == 201, made.text
    assert "as of 2026-10-01" in made.json()["description"]
    tid = made.headers["Portrait-Transcript-Id"]
    b_read = await actors.b.headers(READ)
    assert (await http.get(f"/api/v1/transcripts/{tid}", headers=b_read)).status_code == 404
    assert (await http.get("/api/v1/transcripts", headers=b_read)).json()["total"] == 0
    revoke_b = await http.post(f"/api/v1/transcripts/{tid}/revoke", json={"reason": "x"}, headers=b_write)
    assert revoke_b.status_code == 404


async def test_revocation_through_the_status_list(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, actors.a.tenant.id, settings, learners=1)
    write = await actors.a.headers(WRITE)
    made = await http.post(f"/api/v1/learners/{seeded.learner_id}/transcripts", json={}, headers=write)
    credential, tid = made.json(), made.headers["Portrait-Transcript-Id"]
    revoked = await http.post(
        f"/api/v1/transcripts/{tid}/revoke", json={"reason": "issued in error"}, headers=write
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revocation_reason"] == "issued in error"
    again = await http.post(f"/api/v1/transcripts/{tid}/revoke", json={"reason": "again"}, headers=write)
    assert again.status_code == 409
    results = await verify_all(http, credential)
    assert results[0].verified is False and results[0].failed == ["status"]
    assert all(r.verified for r in results[1:])  # the badges inside stand on their own
    read = await actors.a.headers(READ)
    listed = await http.get("/api/v1/transcripts", params={"status": "revoked"}, headers=read)
    assert [i["uuid"] for i in listed.json()["items"]] == [tid]
    active = await http.get("/api/v1/transcripts", params={"status": "active"}, headers=read)
    assert active.json()["total"] == 0


async def test_webhooks_announce_issue_and_revocation(
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # hooks.example.test is allowed without resolving it (this machine has no public DNS).
    monkeypatch.setattr(settings, "outbound", OutboundSettings(allowed_hosts=["hooks.example.test"]))
    seeded = await seed(session, actors.a.tenant.id, settings, learners=1)
    hooks = await actors.a.headers("webhooks:write")
    created = await http.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.test/clr", "events": ["transcript.issued", "transcript.revoked"]},
        headers=hooks,
    )
    assert created.status_code == 201, created.text
    write = await actors.a.headers(WRITE)
    made = await http.post(f"/api/v1/learners/{seeded.learner_id}/transcripts", json={}, headers=write)
    tid = made.headers["Portrait-Transcript-Id"]
    await http.post(f"/api/v1/transcripts/{tid}/revoke", json={"reason": "typo"}, headers=write)
    page = await http.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries", headers=hooks)
    assert sorted(item["event_type"] for item in page.json()["items"]) == [
        "transcript.issued",
        "transcript.revoked",
    ]
    bodies = [item.get("payload") or item.get("body") for item in page.json()["items"]]
    assert all(tid in json.dumps(body) for body in bodies if body is not None)
