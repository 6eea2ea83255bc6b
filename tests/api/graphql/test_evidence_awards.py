"""Evidence, achievements, awards and progress over GraphQL: the same services as REST, named errors,
scopes, isolation, and progress views whose statement count does not grow with the class."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import Database
from service.roster.schemas import EnrollmentCreate, PersonCreate
from service.roster.service import RosterService
from tests.api.graphql.conftest import GraphQL
from tests.api.graphql.test_dataloaders import count_statements
from tests.factories import Actors, District, PortraitFixture, make_portrait

NOW = "2026-10-01T12:00:00Z"
ALL = (
    "evidence:read",
    "evidence:write",
    "awards:read",
    "awards:write",
    "roster:read",
    "frameworks:read",
)

RECORD = """
mutation($i: RecordEvidenceInput!) {
  recordEvidence(input: $i) {
    id status source levelPosition observedAt artifacts { name url mediaType }
    learner { givenName } competency { code } level { title }
  }
}
"""
BATCH = """
mutation($i: [RecordEvidenceInput!]!) {
  recordEvidenceBatch(input: $i) {
    received awardsCreated
    accepted { index id evidence { levelPosition } }
    rejected { index errors { loc message type } }
  }
}
"""
CREATE_ACHIEVEMENT = """
mutation($i: CreateAchievementInput!) {
  createAchievement(input: $i) { id title rule ruleVersion awardMode status framework { title } }
}
"""
AWARDS = """
query($f: AwardFilter) {
  awards(filter: $f) {
    total
    items {
      id status method ruleVersion needsReview reviewReason evidenceIds
      learner { givenName } achievement { title } evidence { id levelPosition }
    }
  }
}
"""
PROGRESS = """
query($l: UUID!, $m: MasteryMethod) {
  learnerProgress(learnerId: $l, method: $m) {
    learnerId method learner { givenName }
    competencies { competencyId title level levelTitle evidenceCount competency { code } }
    achievements { achievementId title earned awardStatus reasons progress achievement { ruleVersion } }
  }
}
"""
CLASS_PROGRESS = """
query($c: UUID!) {
  classProgress(classId: $c) {
    classId method class { title }
    competencies { id title code }
    learners { learnerId givenName familyName cells { competencyId level levelTitle evidenceCount } }
  }
}
"""


def _piece(
    p: PortraitFixture, learner: int = 0, level: int = 2, klass: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "learnerId": str(p.learner_ids[learner]),
        "competencyId": str(p.competency_ids[0]),
        "source": "RUBRIC",
        "level": level,
        "classId": str(p.class_ids[klass]),
        "observedAt": NOW,
        "assessorId": str(p.teacher_id),
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
    gql: GraphQL, h: dict[str, str], rule: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    variables = {
        "i": {
            "title": "Collaborator",
            "description": "Collaborates.",
            "criteria": "Two pieces at Proficient.",
            "rule": rule,
            **extra,
        }
    }
    return dict((await gql(CREATE_ACHIEVEMENT, variables, h)).ok()["createAchievement"])


@pytest.fixture
async def portrait(session: AsyncSession, actors: Actors) -> PortraitFixture:
    p = await make_portrait(session, actors.a.tenant.id)
    await session.commit()
    return p


async def _h(d: District) -> dict[str, str]:
    return await d.headers(*ALL)


async def test_evidence_earns_an_award_once_and_progress_says_why_not_yet(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await _h(actors.a)
    achievement = await _achievement(gql, h, _rule(portrait, min_distinct_contexts=2))
    assert achievement["ruleVersion"] == 1 and achievement["awardMode"] == "AUTOMATIC"
    assert achievement["rule"]["competency_ids"] == [str(portrait.competency_ids[0])]

    first = (await gql(RECORD, {"i": _piece(portrait, klass=0)}, h)).ok()["recordEvidence"]
    assert first["status"] == "ACTIVE" and first["levelPosition"] == 2
    assert first["learner"] == {"givenName": "L0"} and first["competency"] == {"code": "C0"}
    assert first["level"] == {"title": "Proficient"}
    (await gql(RECORD, {"i": _piece(portrait, klass=0)}, h)).ok()

    progress = (await gql(PROGRESS, {"l": str(portrait.learner_ids[0])}, h)).ok()["learnerProgress"]
    assert progress["method"] == "MOST_RECENT" and progress["learner"] == {"givenName": "L0"}
    mine = next(a for a in progress["achievements"] if a["achievementId"] == achievement["id"])
    assert mine["earned"] is False and mine["awardStatus"] is None
    assert any("class" in r for r in mine["reasons"]), mine["reasons"]
    assert mine["achievement"] == {"ruleVersion": 1}
    level = next(c for c in progress["competencies"] if c["competencyId"] == str(portrait.competency_ids[0]))
    assert level["level"] == 2 and level["levelTitle"] == "Proficient" and level["evidenceCount"] == 2
    assert level["competency"] == {"code": "C0"}

    third = (await gql(RECORD, {"i": _piece(portrait, klass=1)}, h)).ok()["recordEvidence"]
    awards = (await gql(AWARDS, {"f": {"learnerId": str(portrait.learner_ids[0])}}, h)).ok()["awards"]
    assert awards["total"] == 1
    award = awards["items"][0]
    assert award["status"] == "AWARDED" and award["method"] == "RULE" and award["ruleVersion"] == 1
    assert third["id"] in award["evidenceIds"]
    assert {e["id"] for e in award["evidence"]} == set(award["evidenceIds"])
    assert award["learner"] == {"givenName": "L0"} and award["achievement"] == {"title": "Collaborator"}
    (await gql(RECORD, {"i": _piece(portrait, klass=2)}, h)).ok()
    assert (await gql(AWARDS, None, h)).ok()["awards"]["total"] == 1
    progress = (await gql(PROGRESS, {"l": str(portrait.learner_ids[0]), "m": "HIGHEST"}, h)).ok()
    mine = next(
        a for a in progress["learnerProgress"]["achievements"] if a["achievementId"] == achievement["id"]
    )
    assert mine["earned"] is True and mine["awardStatus"] == "AWARDED" and mine["reasons"] == []

    # Withdrawing evidence it relied on flags the award for review; it is never revoked silently.
    withdrawn = (
        await gql(
            'mutation($id: UUID!) { withdrawEvidence(id: $id, reason: "wrong learner") '
            "{ status withdrawnReason } }",
            {"id": third["id"]},
            h,
        )
    ).ok()["withdrawEvidence"]
    assert withdrawn == {"status": "WITHDRAWN", "withdrawnReason": "wrong learner"}
    flagged = (await gql(AWARDS, {"f": {"needsReview": True}}, h)).ok()["awards"]["items"]
    assert [a["status"] for a in flagged] == ["AWARDED"] and "wrong learner" in flagged[0]["reviewReason"]
    again = (
        await gql(
            'mutation($id: UUID!) { withdrawEvidence(id: $id, reason: "x") { id } }', {"id": third["id"]}, h
        )
    ).error()
    assert again["extensions"]["code"] == "CONFLICT"
    kept = (
        await gql(
            "mutation($id: UUID!) { decideAward(id: $id, input: {decision: KEEP}) { status needsReview } }",
            {"id": flagged[0]["id"]},
            h,
        )
    ).ok()["decideAward"]
    assert kept == {"status": "AWARDED", "needsReview": False}
    twice = (
        await gql(
            "mutation($id: UUID!) { decideAward(id: $id, input: {decision: KEEP}) { status } }",
            {"id": flagged[0]["id"]},
            h,
        )
    ).error()
    assert twice["extensions"]["code"] == "CONFLICT" and "not flagged for review" in twice["message"]


async def test_correction_batch_and_evidence_filters(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await _h(actors.a)
    old = (await gql(RECORD, {"i": _piece(portrait, level=1)}, h)).ok()["recordEvidence"]
    corrected = (
        await gql(
            "mutation($id: UUID!, $i: RecordEvidenceInput!) { correctEvidence(id: $id, input: $i) "
            "{ id levelPosition supersedes { id status supersededBy { levelPosition } } } }",
            {"id": old["id"], "i": _piece(portrait, level=3)},
            h,
        )
    ).ok()["correctEvidence"]
    assert corrected["levelPosition"] == 3
    assert corrected["supersedes"] == {
        "id": old["id"],
        "status": "WITHDRAWN",
        "supersededBy": {"levelPosition": 3},
    }
    # A correction must keep the learner: the field is named, nothing is written.
    wrong = (
        await gql(
            "mutation($id: UUID!, $i: RecordEvidenceInput!) { correctEvidence(id: $id, input: $i) { id } }",
            {"id": corrected["id"], "i": _piece(portrait, learner=1)},
            h,
        )
    ).error()
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"
    assert [e["loc"] for e in wrong["extensions"]["errors"]] == ["input.supersedesId"]

    batch = (
        await gql(
            BATCH,
            {
                "i": [
                    _piece(
                        portrait, learner=1, artifacts=[{"name": "Essay", "url": "https://example.org/e.pdf"}]
                    ),
                    _piece(portrait, learner=1, level=9),
                    {**_piece(portrait, learner=2), "learnerId": str(uuid.uuid4())},
                    {**_piece(portrait, learner=2), "source": "SELF_ASSESSMENT", "level": 1},
                ]
            },
            h,
        )
    ).ok()["recordEvidenceBatch"]
    assert batch["received"] == 4
    assert [a["index"] for a in batch["accepted"]] == [0, 3]
    assert batch["accepted"][1]["evidence"] == {"levelPosition": 1}
    assert {r["index"]: [e["loc"] for e in r["errors"]] for r in batch["rejected"]} == {
        1: ["level"],
        2: ["learnerId"],
    }

    query = (
        "query($f: EvidenceFilter) { evidence(filter: $f) { total items { id learnerId source status } } }"
    )
    everything = (await gql(query, None, h)).ok()["evidence"]
    assert everything["total"] == 4
    active_l0 = (
        await gql(query, {"f": {"learnerId": str(portrait.learner_ids[0]), "status": "ACTIVE"}}, h)
    ).ok()
    assert [e["id"] for e in active_l0["evidence"]["items"]] == [corrected["id"]]
    selfs = (await gql(query, {"f": {"source": "SELF_ASSESSMENT"}}, h)).ok()["evidence"]
    assert selfs["total"] == 1 and selfs["items"][0]["learnerId"] == str(portrait.learner_ids[2])
    one = (
        await gql(
            "query($id: UUID!) { evidenceItem(id: $id) { id artifacts { name } } }",
            {"id": batch["accepted"][0]["id"]},
            h,
        )
    ).ok()
    assert one["evidenceItem"]["artifacts"] == [{"name": "Essay"}]


async def test_review_mode_manual_awards_and_rule_versions(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await _h(actors.a)
    reviewed = await _achievement(gql, h, _rule(portrait, min_count=1), awardMode="REVIEW")
    piece = (await gql(RECORD, {"i": _piece(portrait)}, h)).ok()["recordEvidence"]
    pending = (await gql(AWARDS, {"f": {"status": "PENDING_REVIEW"}}, h)).ok()["awards"]["items"]
    assert len(pending) == 1 and pending[0]["evidenceIds"] == [piece["id"]]
    decide = "mutation($id: UUID!, $i: AwardDecisionInput!) { decideAward(id: $id, input: $i) { status } }"
    approved = (
        await gql(decide, {"id": pending[0]["id"], "i": {"decision": "APPROVE", "reason": "ok"}}, h)
    ).ok()
    assert approved["decideAward"]["status"] == "AWARDED"
    twice = (await gql(decide, {"id": pending[0]["id"], "i": {"decision": "REJECT"}}, h)).error()
    assert twice["extensions"]["code"] == "CONFLICT"

    manual = await _achievement(gql, h, None, awardMode="MANUAL", frameworkId=str(portrait.framework_id))
    assert manual["rule"] == {} and manual["framework"] == {"title": "Portrait of a Graduate"}
    give = """
    mutation($i: ManualAwardInput!) { manualAward(input: $i) { status method learner { givenName } } }
    """
    args = {
        "i": {
            "learnerId": str(portrait.learner_ids[1]),
            "achievementId": manual["id"],
            "reason": "Exhibition",
        }
    }
    assert (await gql(give, args, h)).ok()["manualAward"] == {
        "status": "AWARDED",
        "method": "MANUAL",
        "learner": {"givenName": "L1"},
    }
    assert (await gql(give, args, h)).error()["extensions"]["code"] == "CONFLICT"
    foreign_evidence = {
        "i": {**args["i"], "learnerId": str(portrait.learner_ids[2]), "evidenceIds": [piece["id"]]}
    }
    err = (await gql(give, foreign_evidence, h)).error()
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert err["extensions"]["errors"][0]["loc"] == "input.evidenceIds"

    update = """
    mutation($id: UUID!, $i: UpdateAchievementInput!) {
      updateAchievement(id: $id, input: $i) { title ruleVersion rule status }
    }
    """
    new_rule = _rule(portrait, min_count=3)
    updated = (
        await gql(update, {"id": reviewed["id"], "i": {"rule": new_rule, "title": "Team player"}}, h)
    ).ok()
    assert updated["updateAchievement"]["ruleVersion"] == 2
    assert updated["updateAchievement"]["rule"]["min_count"] == 3
    archived = (await gql(update, {"id": reviewed["id"], "i": {"status": "ARCHIVED"}}, h)).ok()
    assert archived["updateAchievement"]["status"] == "ARCHIVED"
    listed = (await gql("{ achievements(status: ACTIVE) { total items { id } } }", None, h)).ok()
    assert listed["achievements"]["items"] == [{"id": manual["id"]}]
    one = (await gql("query($id: UUID!) { achievement(id: $id) { title } }", {"id": reviewed["id"]}, h)).ok()
    assert one["achievement"]["title"] == "Team player"


async def test_bad_input_is_named_and_writes_nothing(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await _h(actors.a)
    bad_rules: list[tuple[Any, str]] = [
        ({"type": "evidence", "competency_ids": [str(uuid.uuid4())]}, "input.rule.competency_ids"),
        ({"type": "evidence", "competency_ids": [], "min_count": 2}, "input.rule.competency_ids"),
        ({"type": "nonsense"}, "input.rule"),
        ([1, 2], "input.rule"),
    ]
    for rule, loc in bad_rules:
        result = await gql(
            CREATE_ACHIEVEMENT, {"i": {"title": "x", "description": "x", "criteria": "x", "rule": rule}}, h
        )
        error = result.error()
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        locs = [e["loc"] for e in error["extensions"]["errors"]]
        assert any(x.startswith(loc) for x in locs), (loc, locs)
    no_rule = (
        await gql(CREATE_ACHIEVEMENT, {"i": {"title": "x", "description": "x", "criteria": "x"}}, h)
    ).error()
    assert [e["loc"] for e in no_rule["extensions"]["errors"]] == ["input.awardMode"]

    checks: list[tuple[dict[str, Any], str]] = [
        ({**_piece(portrait), "observedAt": "2026-10-01T12:00:00"}, "input.observedAt"),
        ({**_piece(portrait), "observedAt": "2099-01-01T00:00:00Z"}, "input.observedAt"),
        ({**_piece(portrait), "observedAt": "0001-01-01T00:00:00+05:00"}, "input.observedAt"),
        ({**_piece(portrait), "level": 7}, "input.level"),
        ({**_piece(portrait), "competencyId": str(uuid.uuid4())}, "input.competencyId"),
        ({**_piece(portrait), "classId": str(uuid.uuid4())}, "input.classId"),
        ({**_piece(portrait), "artifacts": [{"name": "x", "url": "not a url"}]}, "input.artifacts.0.url"),
        ({**_piece(portrait), "narrative": "x" * 20_001}, "input.narrative"),
    ]
    for record, loc in checks:
        error = (await gql(RECORD, {"i": record}, h)).error()
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert loc in [e["loc"] for e in error["extensions"]["errors"]], error
    both = (await gql(RECORD, {"i": {**_piece(portrait), "learnerSourcedId": "x"}}, h)).error()
    assert both["extensions"]["code"] == "BAD_USER_INPUT" and "exactly one" in both["message"] + str(both)
    empty_batch = (await gql(BATCH, {"i": []}, h)).error()
    assert empty_batch["extensions"]["code"] == "BAD_USER_INPUT"
    blank = (
        await gql(
            'mutation($id: UUID!) { withdrawEvidence(id: $id, reason: "  ") { id } }',
            {"id": str(uuid.uuid4())},
            h,
        )
    ).error()
    assert blank["extensions"]["errors"][0]["loc"] == "reason"
    unknown = (
        await gql(
            'mutation($id: UUID!) { withdrawEvidence(id: $id, reason: "x") { id } }',
            {"id": str(uuid.uuid4())},
            h,
        )
    ).error()
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    bad_page = (await gql("{ evidence(limit: 100000) { total } }", None, h)).error()
    assert bad_page["extensions"]["code"] == "BAD_USER_INPUT"
    # Nothing of the failed writes was kept.
    assert (await gql("{ evidence { total } achievements { total } }", None, h)).ok() == {
        "evidence": {"total": 0},
        "achievements": {"total": 0},
    }


async def test_scopes_and_tenant_isolation(gql: GraphQL, actors: Actors, portrait: PortraitFixture) -> None:
    h = await _h(actors.a)
    achievement = await _achievement(gql, h, _rule(portrait, min_count=1))
    piece = (await gql(RECORD, {"i": _piece(portrait)}, h)).ok()["recordEvidence"]
    award_id = (await gql(AWARDS, None, h)).ok()["awards"]["items"][0]["id"]

    # Scopes as REST: evidence:read cannot write, awards:read cannot decide, no token is UNAUTHENTICATED.
    read_only = await actors.a.headers("evidence:read", "awards:read")
    assert (await gql(RECORD, {"i": _piece(portrait)}, read_only)).error()["extensions"][
        "code"
    ] == "FORBIDDEN"
    decide = "mutation($id: UUID!) { decideAward(id: $id, input: {decision: REVOKE}) { id } }"
    assert (await gql(decide, {"id": award_id}, read_only)).error()["extensions"]["code"] == "FORBIDDEN"
    evidence_only = await actors.a.headers("evidence:read")
    assert (await gql(AWARDS, None, evidence_only)).error()["extensions"]["code"] == "FORBIDDEN"
    assert (await gql("{ evidence { total } }")).error()["extensions"]["code"] == "UNAUTHENTICATED"
    # A link into another domain needs that domain's read scope too.
    linked = await gql(
        "query($id: UUID!) { evidenceItem(id: $id) { id learner { givenName } } }",
        {"id": piece["id"]},
        evidence_only,
    )
    assert linked.codes == ["FORBIDDEN"] and linked.data["evidenceItem"]["learner"] is None

    # District B: A's ids are NOT_FOUND, A's rows are invisible, references are named field errors.
    b = await _h(actors.b)
    by_id: list[tuple[str, dict[str, Any]]] = [
        ("query($id: UUID!) { evidenceItem(id: $id) { id } }", {"id": piece["id"]}),
        ("query($id: UUID!) { achievement(id: $id) { id } }", {"id": achievement["id"]}),
        ("query($id: UUID!) { award(id: $id) { id } }", {"id": award_id}),
        (PROGRESS, {"l": str(portrait.learner_ids[0])}),
        (CLASS_PROGRESS, {"c": str(portrait.class_ids[0])}),
        ('mutation($id: UUID!) { withdrawEvidence(id: $id, reason: "x") { id } }', {"id": piece["id"]}),
        (decide, {"id": award_id}),
        (
            'mutation($id: UUID!) { updateAchievement(id: $id, input: {title: "x"}) { id } }',
            {"id": achievement["id"]},
        ),
    ]
    for query, variables in by_id:
        assert (await gql(query, variables, b)).error()["extensions"]["code"] == "NOT_FOUND", query
    listed = (await gql("{ evidence { total } achievements { total } awards { total } }", None, b)).ok()
    assert listed == {"evidence": {"total": 0}, "achievements": {"total": 0}, "awards": {"total": 0}}
    cross = (await gql(RECORD, {"i": _piece(portrait)}, b)).error()
    assert cross["extensions"]["code"] == "BAD_USER_INPUT"
    assert {e["loc"] for e in cross["extensions"]["errors"]} >= {"input.learnerId", "input.competencyId"}
    foreign_rule = (
        await gql(
            CREATE_ACHIEVEMENT,
            {"i": {"title": "x", "description": "x", "criteria": "x", "rule": _rule(portrait)}},
            b,
        )
    ).error()
    assert foreign_rule["extensions"]["errors"][0]["loc"] == "input.rule.competency_ids"
    manual = await _achievement(gql, b, None, awardMode="MANUAL")
    give = "mutation($i: ManualAwardInput!) { manualAward(input: $i) { id } }"
    foreign_learner = {
        "i": {"learnerId": str(portrait.learner_ids[0]), "achievementId": manual["id"], "reason": "x"}
    }
    err = (await gql(give, foreign_learner, b)).error()
    assert err["extensions"]["errors"][0]["loc"] == "input.learnerId"
    # A still has exactly its own rows.
    assert (await gql("{ evidence { total } awards { total } }", None, h)).ok() == {
        "evidence": {"total": 1},
        "awards": {"total": 1},
    }


async def test_class_progress_costs_the_same_for_3_and_35_learners(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture, session: AsyncSession, db: Database
) -> None:
    """Class 0 has the fixture's 3 learners; class 1 gets 32 more (35). Both views: same statements."""
    roster = RosterService(session, actors.a.tenant.id)
    big_class = portrait.class_ids[1]
    extra = []
    for i in range(32):
        person = await roster.create_person(
            PersonCreate(role="student", given_name=f"M{i:02}", family_name="More")
        )
        await roster.create_enrollment(
            EnrollmentCreate(class_id=big_class, person_id=person.id, role="student")
        )
        extra.append(person.id)
    await session.commit()
    h = await _h(actors.a)
    batch = [
        {**_piece(portrait, klass=1, level=i % 4), "learnerId": str(learner), "competencyId": str(comp)}
        for i, learner in enumerate([*portrait.learner_ids, *extra])
        for comp in portrait.competency_ids[:2]
    ]
    result = (await gql(BATCH, {"i": batch}, h)).ok()["recordEvidenceBatch"]
    assert len(result["accepted"]) == 70 and result["rejected"] == []

    counts: dict[int, int] = {}
    views: dict[int, Any] = {}
    for klass in (portrait.class_ids[0], big_class):
        with count_statements(db) as statements:
            view = (await gql(CLASS_PROGRESS, {"c": str(klass)}, h)).ok()["classProgress"]
        counts[len(view["learners"])] = len(statements)
        views[len(view["learners"])] = view
    assert set(counts) == {3, 35}
    assert counts[3] == counts[35], counts
    assert counts[35] <= 12, counts
    big = views[35]
    assert big["class"] == {"title": "Class 1"} and [c["code"] for c in big["competencies"]] == [
        "C0",
        "C1",
        "C2",
    ]
    assert all(len(r["cells"]) == 3 for r in big["learners"])
    m05 = next(r for r in big["learners"] if r["givenName"] == "M05")
    # M05 is the 9th learner of the batch (index 8): level 8 % 4 = 0 in C0 and C1, nothing in C2.
    assert [c["level"] for c in m05["cells"]] == [0, 0, None]
    assert [c["evidenceCount"] for c in m05["cells"]] == [1, 1, 0]
    assert m05["cells"][0]["levelTitle"] == "Beginning"
    small = views[3]
    assert all(c["evidenceCount"] == 1 for r in small["learners"] for c in r["cells"][:2])


async def test_nul_characters_are_refused_by_name(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await _h(actors.a)
    error = (await gql(RECORD, {"i": {**_piece(portrait), "narrative": "good\u0000work"}}, h)).error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert [e["loc"] for e in error["extensions"]["errors"]] == ["input.narrative"]
    batch = (
        await gql(BATCH, {"i": [{**_piece(portrait), "assessorName": "Ms\u0000X"}, _piece(portrait)]}, h)
    ).ok()
    assert [r["index"] for r in batch["recordEvidenceBatch"]["rejected"]] == [0]
    assert batch["recordEvidenceBatch"]["rejected"][0]["errors"][0]["loc"] == "assessorName"
    rule = _rule(portrait, note="x\u0000")
    bad_rule = (
        await gql(
            CREATE_ACHIEVEMENT, {"i": {"title": "x", "description": "x", "criteria": "x", "rule": rule}}, h
        )
    ).error()
    assert [e["loc"] for e in bad_rule["extensions"]["errors"]] == ["input.rule"]
    assert (await gql("{ evidence { total } achievements { total } }", None, h)).ok() == {
        "evidence": {"total": 1},
        "achievements": {"total": 0},
    }


async def test_idempotency_key_replays_the_first_result(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture, session: AsyncSession
) -> None:
    h = await _h(actors.a)
    once = (
        "mutation($i: RecordEvidenceInput!, $k: String) "
        "{ recordEvidence(input: $i, idempotencyKey: $k) { id } }"
    )
    first = (await gql(once, {"i": _piece(portrait), "k": "retry-1"}, h)).ok()["recordEvidence"]
    again = (await gql(once, {"i": _piece(portrait), "k": "retry-1"}, h)).ok()["recordEvidence"]
    assert again == first
    other = (await gql(once, {"i": _piece(portrait, level=1), "k": "retry-1"}, h)).error()
    assert other["extensions"]["code"] == "BAD_USER_INPUT"
    assert [e["loc"] for e in other["extensions"]["errors"]] == ["idempotencyKey"]
    bad_key = (await gql(once, {"i": _piece(portrait), "k": "has space"}, h)).error()
    assert [e["loc"] for e in bad_key["extensions"]["errors"]] == ["idempotencyKey"]
    # District B's keys are its own: the same key there is a first use, never A's result.
    b_portrait = await make_portrait(session, actors.b.tenant.id)
    await session.commit()
    b_first = (await gql(once, {"i": _piece(b_portrait), "k": "retry-1"}, await _h(actors.b))).ok()
    assert b_first["recordEvidence"]["id"] != first["id"]

    batch = """
    mutation($i: [RecordEvidenceInput!]!, $k: String) {
      recordEvidenceBatch(input: $i, idempotencyKey: $k) { accepted { index id } rejected { index } received }
    }
    """
    records = [_piece(portrait, learner=1), _piece(portrait, learner=1, level=9)]
    b1 = (await gql(batch, {"i": records, "k": "batch-1"}, h)).ok()["recordEvidenceBatch"]
    b2 = (await gql(batch, {"i": records, "k": "batch-1"}, h)).ok()["recordEvidenceBatch"]
    assert b1 == b2 and len(b1["accepted"]) == 1 and b1["rejected"] == [{"index": 1}]

    manual = await _achievement(gql, h, None, awardMode="MANUAL")
    give = "mutation($i: ManualAwardInput!, $k: String) { manualAward(input: $i, idempotencyKey: $k) { id } }"
    args = {
        "i": {"learnerId": str(portrait.learner_ids[2]), "achievementId": manual["id"], "reason": "x"},
        "k": "m-1",
    }
    assert (await gql(give, args, h)).ok() == (await gql(give, args, h)).ok()
    counts = (await gql("{ evidence { total } awards { total } }", None, h)).ok()
    assert counts == {"evidence": {"total": 2}, "awards": {"total": 1}}


async def test_award_pages_with_links_cost_the_same_for_3_and_35_awards(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture, session: AsyncSession, db: Database
) -> None:
    """Each award's learner, achievement and evidence come through loaders: no statement per award."""
    roster = RosterService(session, actors.a.tenant.id)
    learners = list(portrait.learner_ids)
    for i in range(32):
        person = await roster.create_person(
            PersonCreate(role="student", given_name=f"M{i:02}", family_name="More")
        )
        learners.append(person.id)
    await session.commit()
    h = await _h(actors.a)
    await _achievement(gql, h, _rule(portrait, min_count=1))
    batch = [{**_piece(portrait), "learnerId": str(learner)} for learner in learners]
    result = (await gql(BATCH, {"i": batch}, h)).ok()["recordEvidenceBatch"]
    assert result["awardsCreated"] == 35

    counts: dict[int, int] = {}
    for limit in (3, 35):
        with count_statements(db) as statements:
            page = (
                await gql(
                    AWARDS.replace("awards(filter: $f)", f"awards(filter: $f, limit: {limit})"), None, h
                )
            ).ok()
        items = page["awards"]["items"]
        assert len(items) == limit and page["awards"]["total"] == 35
        assert all(a["achievement"] == {"title": "Collaborator"} and a["learner"]["givenName"] for a in items)
        assert all(
            [e["id"] for e in a["evidence"]] == a["evidenceIds"] and len(a["evidence"]) == 1 for a in items
        )
        counts[limit] = len(statements)
    assert counts[3] == counts[35], counts
    assert counts[35] <= 12, counts
