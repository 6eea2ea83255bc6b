"""GraphQL evidence mutations say what happened to awards, as REST does; a credential's revocation shows
in its award's status."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from tests.api.graphql.conftest import GraphQL
from tests.badges.helpers import earn
from tests.factories import Actors, PortraitFixture, make_portrait

NOW = "2026-10-01T12:00:00Z"
ALL = ("evidence:read", "evidence:write", "awards:read", "awards:write")
CHANGES = "awards { awardId learnerId achievementId status change award { id status needsReview } }"
RECORD = f"""
mutation($i: RecordEvidenceInput!, $k: String) {{
  recordEvidence(input: $i, idempotencyKey: $k) {{ id status {CHANGES} }}
}}
"""
BATCH = f"""
mutation($i: [RecordEvidenceInput!]!) {{
  recordEvidenceBatch(input: $i) {{ received awardsCreated {CHANGES} }}
}}
"""
WITHDRAW = f"""
mutation($id: UUID!) {{ withdrawEvidence(id: $id, reason: "wrong learner") {{ status {CHANGES} }} }}
"""
CORRECT = f"""
mutation($id: UUID!, $i: RecordEvidenceInput!) {{ correctEvidence(id: $id, input: $i) {{ id {CHANGES} }} }}
"""


def _piece(p: PortraitFixture, learner: int = 0, level: int = 2) -> dict[str, Any]:
    return {
        "learnerId": str(p.learner_ids[learner]),
        "competencyId": str(p.competency_ids[0]),
        "source": "RUBRIC",
        "level": level,
        "observedAt": NOW,
    }


@pytest.fixture
async def portrait(session: AsyncSession, actors: Actors) -> PortraitFixture:
    p = await make_portrait(session, actors.a.tenant.id)
    await session.commit()
    return p


async def _badge(gql: GraphQL, h: dict[str, str], p: PortraitFixture, **extra: Any) -> str:
    made = await gql(
        "mutation($i: CreateAchievementInput!) { createAchievement(input: $i) { id } }",
        {
            "i": {
                "title": "Badge",
                "description": "d",
                "criteria": "c",
                "rule": {"type": "evidence", "competency_ids": [str(p.competency_ids[0])], "min_level": 2},
                **extra,
            }
        },
        h,
    )
    return str(made.ok()["createAchievement"]["id"])


async def test_mutations_list_created_and_flagged_awards(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers(*ALL)
    badge = await _badge(gql, h, portrait)
    below = (await gql(RECORD, {"i": _piece(portrait, level=1)}, h)).ok()["recordEvidence"]
    assert below["awards"] == []
    made = (await gql(RECORD, {"i": _piece(portrait), "k": "k-1"}, h)).ok()["recordEvidence"]
    [change] = made["awards"]
    assert change["achievementId"] == badge and change["learnerId"] == str(portrait.learner_ids[0])
    assert (change["status"], change["change"]) == ("AWARDED", "CREATED")
    assert change["award"] == {"id": change["awardId"], "status": "AWARDED", "needsReview": False}
    # A replay with the idempotency key answers the first result, awards included.
    replay = (await gql(RECORD, {"i": _piece(portrait), "k": "k-1"}, h)).ok()["recordEvidence"]
    assert replay == made

    batch = (
        await gql(BATCH, {"i": [_piece(portrait, learner=1), _piece(portrait, learner=2, level=0)]}, h)
    ).ok()["recordEvidenceBatch"]
    assert batch["awardsCreated"] == 1
    assert [(c["learnerId"], c["change"]) for c in batch["awards"]] == [
        (str(portrait.learner_ids[1]), "CREATED")
    ]

    withdrawn = (await gql(WITHDRAW, {"id": made["id"]}, h)).ok()["withdrawEvidence"]
    assert withdrawn["status"] == "WITHDRAWN"
    assert [(c["awardId"], c["change"], c["status"]) for c in withdrawn["awards"]] == [
        (change["awardId"], "FLAGGED_FOR_REVIEW", "AWARDED")
    ]
    assert withdrawn["awards"][0]["award"]["needsReview"] is True

    backing = (await gql(RECORD, {"i": _piece(portrait, learner=2)}, h)).ok()["recordEvidence"]
    corrected = (
        await gql(CORRECT, {"id": backing["id"], "i": _piece(portrait, learner=2, level=3)}, h)
    ).ok()["correctEvidence"]
    assert [(c["awardId"], c["change"]) for c in corrected["awards"]] == [
        (backing["awards"][0]["awardId"], "FLAGGED_FOR_REVIEW")
    ]

    # The change itself is readable with evidence:write alone (the linked `award` needs awards:read).
    reviewed = await _badge(gql, h, portrait, awardMode="REVIEW")
    writer = await actors.a.headers("evidence:write")
    only = await gql(
        "mutation($i: RecordEvidenceInput!) { recordEvidence(input: $i) "
        "{ awards { achievementId status change } } }",
        {"i": _piece(portrait, level=3)},
        writer,
    )
    assert only.ok()["recordEvidence"]["awards"] == [
        {"achievementId": reviewed, "status": "PENDING_REVIEW", "change": "CREATED"}
    ]


async def test_revoked_credential_shows_as_a_revoked_award(
    gql: GraphQL, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    earned = await earn(session, actors.a.tenant.id, learners=1)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    await session.commit()
    credential = service.issued[0].id
    h = await actors.a.headers("credentials:write", "awards:read")
    revoked = await gql(
        'mutation($u: UUID!) { revokeCredential(uuid: $u, input: {reason: "duplicate"}) { status } }',
        {"u": str(credential)},
        h,
    )
    assert revoked.ok()["revokeCredential"]["status"] == "REVOKED"
    award = (
        await gql(
            "query($id: UUID!) { award(id: $id) { status issuanceStatus } }",
            {"id": str(earned.award_ids[0])},
            h,
        )
    ).ok()["award"]
    assert award == {"status": "REVOKED", "issuanceStatus": "revoked"}
