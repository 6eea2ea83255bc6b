"""TranscriptView: what readers see, read from the CLR 2.0 test vector and from credentials built here."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from service.credentials import resolve_did_key_method, validate, verify_credential
from service.credentials.schema import CLR_CREDENTIAL_SCHEMA
from service.transcripts.view import build_transcript_view
from tests.credentials.conftest import fragment_key_resolver
from tests.transcripts.clr_sample import PUBLIC_URL, TRANSCRIPT_ID, build_clr, load_vector


@pytest.fixture(scope="module")
def clr() -> dict[str, Any]:
    return build_clr()


def test_the_sample_is_a_valid_signed_clr(clr: dict[str, Any]) -> None:
    """The sample the reading tests use is what the spec asks for, or the tests prove little."""
    validate(clr, CLR_CREDENTIAL_SCHEMA)
    result = verify_credential(clr, resolve_key=resolve_did_key_method, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert result.verified, result.to_json()


def test_official_test_vector() -> None:
    vector = load_vector()
    assert verify_credential(
        vector, resolve_key=fragment_key_resolver, now=datetime(2025, 1, 1, tzinfo=UTC)
    ).verified
    view = build_transcript_view(vector, learner_name="Sample Learner")
    assert view.id == "http://example.edu/credentials/3732"
    assert view.name == "Sample Transcript"
    assert view.issuer_name == "Example University"
    assert view.district_name == "Example University"  # defaults to the issuer's name
    assert view.issuer_id == "https://example.edu/issuers/565049"
    assert view.subject_id == "did:example:ebfeb1f712ebc6f1c276e12ec21"
    assert view.valid_from == datetime(2010, 1, 1, tzinfo=UTC)
    assert view.learner_name == "Sample Learner"
    assert view.verify_url == "http://example.edu/credentials/3732"
    # Its one nested AchievementCredential is a badge (no type of achievement, not a competency).
    assert [(b.name, b.achievement, b.issued_on) for b in view.badges] == [
        ("Example University Degree", "Achievement 1", date(2010, 1, 1))
    ]
    assert view.attributes == ()  # no Competency definitions: no chart
    assert view.terms == ()
    assert view.achievement_count == 2
    assert view.credential_count == 1
    assert view.partial is None


def test_portrait_levels_badges_and_courses(clr: dict[str, Any]) -> None:
    view = build_transcript_view(
        clr, learner_name="Ada Lovelace", school_name="North High", district_name="North Valley USD"
    )
    assert view.id == f"{PUBLIC_URL}/transcripts/{TRANSCRIPT_ID}"
    assert (view.learner_name, view.school_name, view.district_name) == (
        "Ada Lovelace",
        "North High",
        "North Valley USD",
    )
    assert view.issuer_name == "North Valley Unified"
    assert view.portrait_name == "Portrait of a Graduate"
    assert view.framework_version == "2026.1"
    assert view.partial is False
    assert [a.name for a in view.attributes] == ["Communicator", "Collaborator", "Critical thinker"]
    reached = {c.name: (c.reached.name if c.reached else None) for c in view.competencies}
    assert reached == {
        "Communicates clearly": "Proficient",  # from the badge's result, aligned through the CFItem URL
        "Listens actively": "Developing",  # from the competency record
        "Collaborates in teams": "Advanced",
        "Leads with empathy": None,
        "Solves complex problems": "Beginning",
    }
    comm = view.competencies[0]
    assert [lv.name for lv in comm.levels] == ["Beginning", "Developing", "Proficient", "Advanced"]
    assert comm.fraction == 0.75
    assert comm.attribute == "Communicator"
    assert comm.sources == ("Communicates clearly badge",)
    assert view.competencies[1].sources == ()  # a record is not a badge
    # Badges: only the two OpenBadgeCredentials; records are not listed as badges.
    assert [(b.name, b.issued_on, b.level) for b in view.badges] == [
        ("Collaborates in teams badge", date(2026, 3, 2), "Advanced"),
        ("Communicates clearly badge", date(2026, 3, 2), "Proficient"),
    ]
    # Courses by term, in term order, with grades and credits.
    assert [t.title for t in view.terms] == ["Fall 2025", "Spring 2026", "Fall 2026"]
    fall = view.terms[0]
    assert [(c.title, c.code, c.grade, c.credits_earned) for c in fall.courses] == [
        ("Algebra II", "MATH-201", "A-", 1.0),
        ("World History", "HIST-110", "B+", 1.0),
    ]
    assert fall.credits_earned == 2.0
    assert view.credits_earned == 3.5
    calculus = view.terms[2].courses[0]
    assert calculus.in_progress and calculus.credits_earned is None and calculus.credits_available == 1.0
    assert view.courses[2].subject == "Science"


def test_highest_level_wins_and_unknown_levels_are_ignored(clr: dict[str, Any]) -> None:
    doc = copy.deepcopy(clr)
    records = [
        vc
        for vc in doc["credentialSubject"]["verifiableCredential"]
        if vc["credentialSubject"]["achievement"]["id"].endswith("/listen")
    ]
    assert len(records) == 1
    extra = copy.deepcopy(records[0])
    extra["credentialSubject"]["result"][0]["achievedLevel"] = extra["credentialSubject"]["result"][0][
        "achievedLevel"
    ].replace("level-2", "level-4")
    lower = copy.deepcopy(records[0])
    lower["credentialSubject"]["result"][0]["achievedLevel"] = "urn:nowhere"
    doc["credentialSubject"]["verifiableCredential"] += [extra, lower]
    listen = build_transcript_view(doc).competencies[1]
    assert listen.name == "Listens actively"
    assert listen.reached is not None and listen.reached.name == "Advanced"


def test_partial_and_empty_credentials() -> None:
    view = build_transcript_view(build_clr(with_courses=False, with_badges=False))
    assert view.partial is True
    assert view.terms == () and view.badges == ()
    assert len(view.competencies) == 5  # the Portrait is still drawn, with what the records say
    assert sum(1 for c in view.competencies if c.reached) == 2
    empty = build_transcript_view({"type": ["VerifiableCredential", "ClrCredential"]})
    assert (
        empty.name == "Comprehensive Learner Record" and empty.attributes == () and empty.verify_url is None
    )


@pytest.mark.parametrize(
    "mutation",
    [
        lambda d: d["credentialSubject"].update(achievement="nonsense"),
        lambda d: d["credentialSubject"].update(
            verifiableCredential=[1, "eyJ.x.y", None, {"credentialSubject": 5}]
        ),
        lambda d: d["credentialSubject"].update(association=[{"associationType": "isChildOf"}, 3]),
        lambda d: d.update(validFrom="yesterday", issuer=["x"]),
        lambda d: d["credentialSubject"]["achievement"][3]["resultDescription"][0].update(
            rubricCriterionLevel=[{"level": float("nan")}, "x"]
        ),
    ],
)
def test_odd_shapes_are_skipped_not_fatal(clr: dict[str, Any], mutation: Any) -> None:
    doc = copy.deepcopy(clr)
    mutation(doc)
    view = build_transcript_view(doc)
    assert view.name == "Extended transcript"


def test_jws_nested_credentials_are_counted() -> None:
    doc = load_vector()
    doc["credentialSubject"]["verifiableCredential"].append("eyJhbGciOiJFZERTQSJ9.e30.c2ln")
    view = build_transcript_view(doc)
    assert view.enveloped_count == 1 and view.credential_count == 2 and len(view.badges) == 1
