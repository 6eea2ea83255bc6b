"""The pure award-rule engine: rule schema, evaluation, reasons, mastery methods, and a brute-force oracle.

No database: nothing here requests the ``db``/``session`` fixtures.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from service.awards.facts import EDUCATOR_SOURCES, SELF_SOURCES, SOURCES, EvidenceFact, LearnerFacts, Scale
from service.awards.rules import (
    RULE_ADAPTER,
    CompositeRule,
    EvidenceRule,
    MasteryMethod,
    Source,
    dump_rule,
    evaluate,
    mastery_level,
    parse_rule,
    rounded_level,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
C1, C2, C3 = (uuid.UUID(int=0xC0 + n) for n in range(1, 4))
CLASS_A, CLASS_B, CLASS_C = (uuid.UUID(int=0xA0 + n) for n in range(1, 4))
TERM_1, TERM_2, TERM_3 = (uuid.UUID(int=0x70 + n) for n in range(1, 4))
SCALE = Scale(("Beginning", "Developing", "Proficient", "Advanced"))
NAMESPACE = uuid.UUID(int=0xE0)


def eid(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


def ev(
    name: str,
    days: float,
    level: int | None = None,
    *,
    source: str = "rubric",
    comp: uuid.UUID = C1,
    ctx: uuid.UUID | None = None,
    sess: uuid.UUID | None = None,
    score: float | None = None,
    score_max: float | None = None,
) -> EvidenceFact:
    """A piece named ``name`` observed ``days`` before NOW."""
    return EvidenceFact(
        id=eid(name),
        competency_id=comp,
        source=source,
        observed_at=NOW - timedelta(days=days),
        level=level,
        score=score,
        score_max=score_max,
        context_id=ctx,
        session_id=sess,
    )


def erule(**fields: Any) -> EvidenceRule:
    rule = parse_rule({"type": "evidence", "competency_ids": [str(C1)], **fields})
    assert isinstance(rule, EvidenceRule)
    return rule


def run(rule: EvidenceRule | CompositeRule, *pieces: EvidenceFact, **facts: Any) -> Any:
    return evaluate(rule, LearnerFacts(evidence=list(pieces), now=NOW, **facts), SCALE)


def names(*items: str) -> tuple[uuid.UUID, ...]:
    return tuple(eid(item) for item in items)


# ------------------------------------------------------------------------------------ evidence rule table


@dataclass(frozen=True)
class Case:
    rule: dict[str, Any]
    evidence: tuple[EvidenceFact, ...]
    met: bool
    #: Expected ``satisfied_by`` piece names, newest first (checked only when met).
    chosen: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    # min_level
    "min-level-reached": Case({"min_level": 2}, (ev("a", 1, 2),), True, ("a",)),
    "min-level-above": Case({"min_level": 2}, (ev("a", 1, 3),), True, ("a",)),
    "min-level-below": Case({"min_level": 2}, (ev("a", 1, 1),), False),
    "min-level-0-unleveled-piece-never-qualifies": Case({"min_level": 0}, (ev("a", 1, None),), False),
    "no-bar-unleveled-piece-qualifies": Case({}, (ev("a", 1, None),), True, ("a",)),
    # min_score_ratio
    "ratio-reached": Case({"min_score_ratio": 0.8}, (ev("a", 1, score=8, score_max=10),), True, ("a",)),
    "ratio-below": Case({"min_score_ratio": 0.8}, (ev("a", 1, score=7.9, score_max=10),), False),
    "ratio-no-max": Case({"min_score_ratio": 0.5}, (ev("a", 1, score=9),), False),
    "ratio-zero-max": Case({"min_score_ratio": 0.5}, (ev("a", 1, score=1, score_max=0),), False),
    "ratio-leveled-unscored-piece": Case({"min_score_ratio": 0.5}, (ev("a", 1, 3),), False),
    "ratio-or-level-by-score": Case(
        {"min_level": 2, "min_score_ratio": 0.8}, (ev("a", 1, 1, score=9, score_max=10),), True, ("a",)
    ),
    "ratio-or-level-by-level": Case(
        {"min_level": 2, "min_score_ratio": 0.8}, (ev("a", 1, 2, score=1, score_max=10),), True, ("a",)
    ),
    "ratio-or-level-neither": Case(
        {"min_level": 2, "min_score_ratio": 0.8}, (ev("a", 1, 1, score=7, score_max=10),), False
    ),
    # count
    "count-short": Case(
        {"min_count": 3, "min_level": 2}, (ev("a", 1, 2), ev("b", 2, 3), ev("c", 3, 1)), False
    ),
    "count-met-newest-chosen": Case(
        {"min_count": 2, "min_level": 2},
        (ev("old", 9, 3), ev("new", 1, 2), ev("low", 0, 1), ev("mid", 5, 2)),
        True,
        ("new", "mid"),
    ),
    # distinct contexts: the greedy-wrong trap (three newest from class A, the only B piece is oldest)
    "contexts-needs-old-piece-from-other-class": Case(
        {"min_count": 3, "min_distinct_contexts": 2},
        (
            ev("a1", 1, ctx=CLASS_A),
            ev("a2", 2, ctx=CLASS_A),
            ev("a3", 3, ctx=CLASS_A),
            ev("b1", 9, ctx=CLASS_B),
        ),
        True,
        ("a1", "a2", "b1"),
    ),
    "contexts-one-class-only": Case(
        {"min_count": 2, "min_distinct_contexts": 2},
        (ev("a1", 1, ctx=CLASS_A), ev("a2", 2, ctx=CLASS_A)),
        False,
    ),
    "contexts-none-does-not-count": Case(
        {"min_distinct_contexts": 2}, (ev("a1", 1, ctx=CLASS_A), ev("x", 2), ev("y", 3)), False
    ),
    "contexts-more-than-count": Case(
        {"min_count": 1, "min_distinct_contexts": 3},
        (ev("a", 1, ctx=CLASS_A), ev("a2", 2, ctx=CLASS_A), ev("b", 3, ctx=CLASS_B), ev("c", 4, ctx=CLASS_C)),
        True,
        ("a", "b", "c"),
    ),
    "contexts-only-of-qualifying-pieces": Case(
        {"min_level": 2, "min_distinct_contexts": 2},
        (ev("a", 1, 3, ctx=CLASS_A), ev("b", 2, 1, ctx=CLASS_B)),
        False,
    ),
    # distinct sessions
    "sessions-same-term": Case(
        {"min_distinct_sessions": 2}, (ev("a", 1, sess=TERM_1), ev("b", 2, sess=TERM_1)), False
    ),
    "sessions-two-terms": Case(
        {"min_distinct_sessions": 2},
        (ev("a", 1, sess=TERM_1), ev("b", 2, sess=TERM_1), ev("c", 3, sess=TERM_2)),
        True,
        ("a", "c"),
    ),
    "contexts-and-sessions-together": Case(
        {"min_count": 2, "min_distinct_contexts": 2, "min_distinct_sessions": 2},
        (
            ev("a", 1, ctx=CLASS_A, sess=TERM_1),
            ev("b", 2, ctx=CLASS_B, sess=TERM_1),
            ev("c", 3, ctx=CLASS_A, sess=TERM_2),
            ev("d", 4, ctx=CLASS_B, sess=TERM_2),
        ),
        True,
        ("a", "d"),
    ),
    # window_days (bounds inclusive; evidence after now is outside the window)
    "window-inside": Case({"window_days": 30}, (ev("a", 29),), True, ("a",)),
    "window-boundary-included": Case({"window_days": 30}, (ev("a", 30),), True, ("a",)),
    "window-outside": Case({"window_days": 30}, (ev("a", 30.01),), False),
    "window-future-excluded": Case({"window_days": 30}, (ev("a", -1),), False),
    "window-count-only-inside": Case(
        {"window_days": 10, "min_count": 2}, (ev("a", 1), ev("b", 11), ev("c", 40)), False
    ),
    # observed_from / observed_until
    "from-until-inside": Case(
        {"observed_from": "2025-05-01T00:00:00Z", "observed_until": "2025-05-31T00:00:00Z"},
        (ev("a", 10), ev("b", 40), ev("c", 0)),
        True,
        ("a",),
    ),
    "from-until-outside": Case(
        {"observed_from": "2025-05-01T00:00:00Z", "observed_until": "2025-05-31T00:00:00Z"},
        (ev("b", 40), ev("c", 0)),
        False,
    ),
    "from-other-offset": Case(
        {"observed_from": "2025-06-01T13:00:00+02:00"}, (ev("a", 0), ev("b", 1)), True, ("a",)
    ),
    "window-and-from-intersect": Case(
        {"window_days": 30, "observed_from": "2025-05-25T00:00:00Z"}, (ev("a", 20),), False
    ),
    # allowed sources
    "allowed-other-source": Case({"allowed_sources": ["rubric"]}, (ev("a", 1, source="artifact"),), False),
    "allowed-source": Case(
        {"allowed_sources": ["rubric", "exhibition"]},
        (ev("a", 1, source="artifact"), ev("b", 2, source="exhibition")),
        True,
        ("b",),
    ),
    # required sources
    "required-educator-missing": Case(
        {"required_sources": [{"sources": list(EDUCATOR_SOURCES)}]}, (ev("a", 1, source="artifact"),), False
    ),
    "required-educator-old-piece-chosen": Case(
        {"min_count": 2, "required_sources": [{"sources": list(EDUCATOR_SOURCES)}]},
        (ev("a", 1, source="artifact"), ev("b", 2, source="artifact"), ev("r", 8, source="oneroster_result")),
        True,
        ("a", "r"),
    ),
    "required-min-2": Case(
        {"required_sources": [{"sources": ["rubric"], "min": 2}]},
        (ev("a", 1, source="rubric"), ev("b", 2, source="artifact")),
        False,
    ),
    "required-two-groups": Case(
        {"min_count": 1, "required_sources": [{"sources": ["rubric"]}, {"sources": ["artifact"]}]},
        (ev("r", 1, source="rubric"), ev("x", 2, source="artifact"), ev("r2", 3, source="rubric")),
        True,
        ("r", "x"),
    ),
    "required-source-must-qualify": Case(
        {"min_level": 2, "required_sources": [{"sources": ["rubric"]}]},
        (ev("r", 1, 1, source="rubric"), ev("x", 2, 3, source="artifact")),
        False,
    ),
    # self-assessment alone
    "self-alone-not-enough": Case({}, (ev("s", 1, source="self_assessment"),), False),
    "self-and-peer-not-enough": Case(
        {"min_count": 1}, (ev("s", 1, source="self_assessment"), ev("p", 2, source="peer")), False
    ),
    "self-alone-allowed": Case(
        {"self_assessment_alone": True}, (ev("s", 1, source="self_assessment"),), True, ("s",)
    ),
    "self-plus-artifact": Case(
        {"min_count": 2},
        (ev("s", 1, source="self_assessment"), ev("p", 2, source="peer"), ev("x", 3, source="artifact")),
        True,
        ("s", "x"),
    ),
    "self-not-enough-picks-old-non-self": Case(
        {"min_count": 1}, (ev("s", 1, source="self_assessment"), ev("x", 5, source="artifact")), True, ("x",)
    ),
    "required-self-group-still-needs-non-self": Case(
        {"required_sources": [{"sources": ["self_assessment"]}]},
        (ev("s", 1, source="self_assessment"), ev("r", 2, source="rubric")),
        True,
        ("s", "r"),
    ),
    # per_competency vs pooled; other competencies ignored
    "pooled-across-competencies": Case(
        {"competency_ids": [str(C1), str(C2)], "min_count": 2},
        (ev("a", 1, comp=C1), ev("b", 2, comp=C2)),
        True,
        ("a", "b"),
    ),
    "pooled-one-competency-may-carry": Case(
        {"competency_ids": [str(C1), str(C2)], "min_count": 2},
        (ev("a", 1, comp=C1), ev("b", 2, comp=C1)),
        True,
        ("a", "b"),
    ),
    "per-competency-each-short": Case(
        {"competency_ids": [str(C1), str(C2)], "min_count": 2, "per_competency": True},
        (ev("a", 1, comp=C1), ev("b", 2, comp=C2), ev("c", 3, comp=C1)),
        False,
    ),
    "per-competency-each-met": Case(
        {"competency_ids": [str(C1), str(C2)], "min_count": 2, "per_competency": True},
        (
            ev("a", 1, comp=C1),
            ev("b", 2, comp=C2),
            ev("c", 3, comp=C1),
            ev("d", 4, comp=C2),
            ev("e", 5, comp=C2),
        ),
        True,
        ("a", "b", "c", "d"),
    ),
    "other-competency-ignored": Case({"min_count": 2}, (ev("a", 1, comp=C1), ev("b", 2, comp=C3)), False),
    # mastery over all in-scope leveled evidence, not only qualifying pieces
    "mastery-mean-dragged-down-by-non-qualifying": Case(
        {"min_level": 2, "mastery": {"method": "mean", "min_level": 2}}, (ev("a", 1, 3), ev("b", 2, 0)), False
    ),
    "mastery-includes-disallowed-sources": Case(
        {"allowed_sources": ["rubric"], "mastery": {"method": "highest", "min_level": 3}},
        (ev("r", 1, 2, source="rubric"), ev("x", 2, 3, source="artifact")),
        True,
        ("r",),
    ),
    "mastery-ignores-out-of-window": Case(
        {"window_days": 30, "mastery": {"method": "mean", "min_level": 2}},
        (ev("a", 1, 2), ev("old", 60, 0)),
        True,
        ("a",),
    ),
    "mastery-most-recent-low": Case(
        {"mastery": {"method": "most_recent", "min_level": 2}}, (ev("a", 1, 1), ev("b", 2, 3)), False
    ),
    "mastery-most-recent-high": Case(
        {"mastery": {"method": "most_recent", "min_level": 2}}, (ev("a", 1, 3), ev("b", 2, 1)), True, ("a",)
    ),
    "mastery-mode": Case(
        {"mastery": {"method": "mode", "min_level": 2}},
        (ev("a", 1, 1), ev("b", 2, 2), ev("c", 3, 2)),
        True,
        ("a",),
    ),
    "mastery-decaying-below": Case(  # 0.35 * 3 + 0.65 * 1 = 1.7
        {"mastery": {"method": "decaying_average", "min_level": 2}}, (ev("new", 1, 1), ev("old", 2, 3)), False
    ),
    "mastery-decaying-above": Case(  # 0.35 * 1 + 0.65 * 3 = 2.3
        {"mastery": {"method": "decaying_average", "min_level": 2}},
        (ev("new", 1, 3), ev("old", 2, 1)),
        True,
        ("new",),
    ),
    "mastery-decaying-exact-run": Case(  # a run of 2s stays exactly 2.0
        {"mastery": {"method": "decaying_average", "decay": 0.3, "min_level": 2}},
        tuple(ev(f"p{n}", n, 2) for n in range(1, 8)),
        True,
        ("p1",),
    ),
    "mastery-no-leveled-evidence": Case(
        {"mastery": {"method": "highest", "min_level": 0}}, (ev("a", 1, None),), False
    ),
    "mastery-each-competency": Case(
        {"competency_ids": [str(C1), str(C2)], "mastery": {"method": "highest", "min_level": 2}},
        (ev("a", 1, 3, comp=C1), ev("b", 2, 1, comp=C2)),
        False,
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_evaluation_without_explanation_decides_the_same(case: Case) -> None:
    """Awarding evaluates with explain=False: the same decision, the same evidence, no words."""
    rule = erule(**case.rule)
    full = run(rule, *case.evidence)
    bare = evaluate(rule, LearnerFacts(evidence=list(case.evidence), now=NOW), SCALE, explain=False)
    assert (bare.met, bare.satisfied_by, bare.mastery) == (full.met, full.satisfied_by, full.mastery)
    assert bare.met is case.met
    assert bare.reasons == () and bare.progress == {}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_evidence_rule(case: Case) -> None:
    rule = erule(**case.rule)
    outcome = run(rule, *case.evidence)
    assert outcome.met is case.met, outcome.reasons
    if case.met:
        assert outcome.satisfied_by == names(*case.chosen)
        assert outcome.reasons == ()
    else:
        assert outcome.satisfied_by == ()
        assert outcome.reasons, "a rule not met must say why"
    assert outcome.progress["met"] is case.met


# ------------------------------------------------------------------------------------ reasons (exact text)

REASONS: dict[str, tuple[dict[str, Any], tuple[EvidenceFact, ...], Scale | None, tuple[str, ...]]] = {
    "count-with-scale": (
        {"min_level": 2, "min_count": 3},
        (ev("a", 1, 2), ev("b", 2, 3), ev("c", 3, 1)),
        SCALE,
        ("2 of 3 pieces at Proficient or above; needs 1 more",),
    ),
    "count-without-scale": (
        {"min_level": 2, "min_count": 3},
        (ev("a", 1, 2),),
        None,
        ("1 of 3 pieces at level 2 or above; needs 2 more",),
    ),
    "count-no-bar": ({"min_count": 2}, (ev("a", 1),), SCALE, ("1 of 2 pieces of evidence; needs 1 more",)),
    "count-ratio-singular": (
        {"min_score_ratio": 0.8},
        (ev("a", 1, score=1, score_max=2),),
        SCALE,
        ("0 of 1 piece scoring at least 80%; needs 1 more",),
    ),
    "count-level-or-ratio": (
        {"min_level": 3, "min_score_ratio": 0.675},
        (),
        SCALE,
        ("0 of 1 piece at Advanced or above or scoring at least 67.5%; needs 1 more",),
    ),
    "one-more-class": (
        {"min_level": 2, "min_count": 3, "min_distinct_contexts": 2},
        (ev("a", 1, 2, ctx=CLASS_A), ev("b", 2, 3, ctx=CLASS_A)),
        SCALE,
        ("2 of 3 pieces at Proficient or above; needs 1 more", "needs evidence from 1 more class"),
    ),
    "two-more-classes-one-more-session": (
        {"min_distinct_contexts": 3, "min_distinct_sessions": 2},
        (ev("a", 1, ctx=CLASS_A, sess=TERM_1),),
        SCALE,
        ("needs evidence from 2 more classes", "needs evidence from 1 more academic session"),
    ),
    "educator-piece": (
        {"required_sources": [{"sources": ["exhibition", "rubric", "oneroster_result"]}]},
        (ev("x", 1, source="artifact"),),
        SCALE,
        ("needs at least 1 educator-assessed piece (rubric, oneroster_result, exhibition)",),
    ),
    "other-sources-with-have": (
        {"required_sources": [{"sources": ["exhibition", "artifact"], "min": 2}]},
        (ev("x", 1, source="artifact"),),
        SCALE,
        ("needs at least 2 pieces from artifact, exhibition; has 1",),
    ),
    "self-alone": (
        {},
        (ev("s", 1, source="self_assessment"),),
        SCALE,
        ("self-assessment alone is not enough",),
    ),
    "no-evidence-no-self-message": ({}, (), SCALE, ("0 of 1 piece of evidence; needs 1 more",)),
    "mastery-mean": (  # levels 1, 1, 1, 2, 2: mean 1.4
        {"mastery": {"method": "mean", "min_level": 2}},
        (ev("a", 1, 1), ev("b", 2, 1), ev("c", 3, 1), ev("d", 4, 2), ev("e", 5, 2)),
        SCALE,
        ("current level Developing (mean 1.4) is below Proficient",),
    ),
    "mastery-mean-rounds-up-but-below": (  # mean 1.5 rounds to 2, still shown below the bar
        {"mastery": {"method": "mean", "min_level": 2}},
        (ev("a", 1, 3), ev("b", 2, 0)),
        SCALE,
        ("current level Developing (mean 1.5) is below Proficient",),
    ),
    "mastery-decaying": (  # 0.35 * 3 + 0.65 * 1 = 1.7
        {"mastery": {"method": "decaying_average", "min_level": 3}},
        (ev("new", 1, 1), ev("old", 2, 3)),
        SCALE,
        ("current level Proficient (decaying average 1.7) is below Advanced",),
    ),
    "mastery-most-recent": (
        {"mastery": {"method": "most_recent", "min_level": 2}},
        (ev("a", 1, 1), ev("b", 2, 3)),
        SCALE,
        ("current level Developing (most recent) is below Proficient",),
    ),
    "mastery-without-scale": (
        {"mastery": {"method": "highest", "min_level": 2}},
        (ev("a", 1, 0),),
        None,
        ("current level 0 (highest) is below level 2",),
    ),
    "mastery-unknown": (
        {"mastery": {"method": "mode", "min_level": 2}},
        (ev("a", 1, None),),
        SCALE,
        ("current level unknown (no leveled evidence); needs Proficient",),
    ),
    "per-competency-named": (
        {"competency_ids": [str(C1), str(C2)], "min_count": 2, "per_competency": True},
        (ev("a", 1, comp=C1), ev("b", 2, comp=C1), ev("c", 3, comp=C2)),
        SCALE,
        ("Collaboration: 1 of 2 pieces of evidence; needs 1 more",),
    ),
    "mastery-competency-by-id": (
        {"competency_ids": [str(C1), str(C3)], "mastery": {"method": "highest", "min_level": 1}},
        (ev("a", 1, 2, comp=C1),),
        SCALE,
        (f"competency {C3}: current level unknown (no leveled evidence); needs Developing",),
    ),
}


@pytest.mark.parametrize(
    ("fields", "evidence", "scale", "expected"), list(REASONS.values()), ids=list(REASONS)
)
def test_reasons(
    fields: dict[str, Any], evidence: tuple[EvidenceFact, ...], scale: Scale | None, expected: tuple[str, ...]
) -> None:
    facts = LearnerFacts(evidence=list(evidence), now=NOW, competency_names={C2: "Collaboration"})
    outcome = evaluate(erule(**fields), facts, scale)
    assert outcome.met is False
    assert outcome.reasons == expected


# ------------------------------------------------------------------------------------ progress and mastery


def test_progress_numbers_pooled() -> None:
    rule = erule(
        min_level=2,
        min_count=3,
        min_distinct_contexts=2,
        min_distinct_sessions=1,
        required_sources=[{"sources": ["exhibition"], "min": 1}],
        mastery={"method": "mean", "min_level": 2},
    )
    outcome = run(rule, ev("a", 1, 2, ctx=CLASS_A, sess=TERM_1), ev("b", 2, 3, ctx=CLASS_A), ev("c", 3, 1))
    assert outcome.progress == {
        "type": "evidence",
        "met": False,
        "per_competency": False,
        "thresholds_met": False,
        "count": 2,
        "needed": 3,
        "contexts": 1,
        "contexts_needed": 2,
        "sessions": 1,
        "sessions_needed": 1,
        "required_sources": [{"sources": ["exhibition"], "count": 0, "needed": 1}],
        "non_self_needed": False,
        "non_self_count": 0,
        "mastery": {str(C1): {"method": "mean", "value": 2.0, "level": 2, "needed": 2, "met": True}},
    }
    assert outcome.mastery == {C1: 2.0}
    json.dumps(outcome.progress)  # machine-readable means JSON-serialisable


def test_progress_numbers_per_competency() -> None:
    rule = erule(competency_ids=[str(C1), str(C2)], min_count=2, per_competency=True)
    outcome = run(rule, ev("a", 1, comp=C1), ev("b", 2, comp=C1), ev("c", 3, comp=C2, source="peer"))
    competencies = outcome.progress["competencies"]
    assert competencies[str(C1)]["thresholds_met"] is True
    assert competencies[str(C2)]["count"] == 1
    assert competencies[str(C2)]["non_self_count"] == 0
    assert outcome.progress["mastery"] == {}
    assert outcome.mastery == {}
    assert outcome.reasons == (
        f"competency {C2}: 1 of 2 pieces of evidence; needs 1 more",
        f"competency {C2}: self-assessment alone is not enough",
    )


def test_mastery_values_reported_when_met() -> None:
    rule = erule(mastery={"method": "decaying_average", "min_level": 2})
    # chronological 1, 3, 2, 2 -> 2.3 -> 2.105 -> 2.03675
    outcome = run(rule, ev("a", 4, 1), ev("b", 3, 3), ev("c", 2, 2), ev("d", 1, 2))
    assert outcome.met is True
    assert outcome.mastery[C1] == pytest.approx(2.03675)
    assert outcome.progress["mastery"][str(C1)]["level"] == 2


def _at(level: int | None, days: int, n: int) -> EvidenceFact:
    return ev(f"m{n}", days, level)


MASTERY: dict[str, tuple[MasteryMethod, list[int | None], float, float | None]] = {
    # levels are listed oldest first
    "highest": ("highest", [1, 3, 2, 2], 0.65, 3.0),
    "most-recent": ("most_recent", [1, 3, 2, 1], 0.65, 1.0),
    "mean": ("mean", [1, 2, 2], 0.65, 5 / 3),
    "mean-skips-unleveled": ("mean", [1, None, 3], 0.65, 2.0),
    # 1 -> 0.35*1 + 0.65*3 = 2.3 -> 0.35*2.3 + 0.65*2 = 2.105 -> 0.35*2.105 + 0.65*2 = 2.03675
    "decaying-average": ("decaying_average", [1, 3, 2, 2], 0.65, 2.03675),
    "decaying-average-two": ("decaying_average", [3, 1], 0.65, 1.7),
    # 0 -> 0.5*0 + 0.5*4 = 2 -> 0.5*2 + 0.5*0 = 1
    "decaying-average-half": ("decaying_average", [0, 4, 0], 0.5, 1.0),
    "decaying-average-decay-1-is-most-recent": ("decaying_average", [3, 0, 2], 1.0, 2.0),
    "decaying-average-single": ("decaying_average", [2], 0.65, 2.0),
    "mode": ("mode", [1, 2, 2, 3], 0.65, 2.0),
    "mode-tie-takes-higher": ("mode", [2, 1, 1, 2], 0.65, 2.0),
    "no-levels": ("mean", [None, None], 0.65, None),
    "no-evidence": ("highest", [], 0.65, None),
}


@pytest.mark.parametrize(("method", "levels", "decay", "expected"), list(MASTERY.values()), ids=list(MASTERY))
def test_mastery_level(
    method: MasteryMethod, levels: list[int | None], decay: float, expected: float | None
) -> None:
    pieces = [_at(level, len(levels) - n, n) for n, level in enumerate(levels)]
    random.Random(7).shuffle(pieces)  # input order must not matter, only observed_at
    value = mastery_level(method, pieces, decay)
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected)


@pytest.mark.parametrize(("value", "level"), [(1.4, 1), (1.5, 2), (2.49, 2), (0.0, 0), (2.5, 3)])
def test_rounded_level(value: float, level: int) -> None:
    assert rounded_level(value) == level


def test_mastery_level_rejects_bad_decay_and_method() -> None:
    with pytest.raises(ValueError, match="decay"):
        mastery_level("decaying_average", [ev("a", 1, 1)], 0)
    with pytest.raises(ValueError, match="unknown mastery method"):
        mastery_level("median", [ev("a", 1, 1)])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ time handling


def test_window_needs_now() -> None:
    with pytest.raises(ValueError, match="now"):
        evaluate(erule(window_days=5), LearnerFacts(evidence=[ev("a", 1)]))


def test_no_window_needs_no_now() -> None:
    assert evaluate(erule(), LearnerFacts(evidence=[ev("a", 1)])).met is True


def test_naive_datetimes_read_as_utc() -> None:
    naive = EvidenceFact(
        id=eid("n"), competency_id=C1, source="rubric", observed_at=datetime(2025, 5, 31, 12, 0), level=2
    )
    rule = erule(window_days=1, observed_until="2025-06-01T00:00:00Z")
    assert evaluate(rule, LearnerFacts(evidence=[naive], now=datetime(2025, 6, 1, 11, 0))).met is True
    assert evaluate(rule, LearnerFacts(evidence=[naive], now=datetime(2025, 6, 1, 12, 1))).met is False


def test_duplicate_evidence_counted_once() -> None:
    piece = ev("a", 1)
    outcome = run(erule(min_count=2), piece, piece)
    assert outcome.met is False
    assert outcome.progress["count"] == 1


# ------------------------------------------------------------------------------------ composite

A = [uuid.UUID(int=0xAC0 + n) for n in range(6)]

COMPOSITES: dict[str, tuple[dict[str, Any], set[uuid.UUID], bool, tuple[uuid.UUID, ...], tuple[str, ...]]] = {
    "all-earned": ({}, set(A), True, tuple(A), ()),
    "all-three-of-six": ({}, set(A[:3]), False, (), ("3 of 6 achievements earned",)),
    "all-none": ({}, set(), False, (), ("0 of 6 achievements earned",)),
    "n-of-m-met": ({"min_earned": 4}, {A[5], A[0], A[2], A[3]}, True, (A[0], A[2], A[3], A[5]), ()),
    "n-of-m-short": ({"min_earned": 4}, {A[1], A[4]}, False, (), ("2 of 6 achievements earned; 4 needed",)),
    "unlisted-earned-ignored": (
        {"min_earned": 1},
        {uuid.UUID(int=1), uuid.UUID(int=2)},
        False,
        (),
        ("0 of 6 achievements earned; 1 needed",),
    ),
}


@pytest.mark.parametrize(
    ("fields", "earned", "met", "satisfied_by", "reasons"), list(COMPOSITES.values()), ids=list(COMPOSITES)
)
def test_composite_rule(
    fields: dict[str, Any],
    earned: set[uuid.UUID],
    met: bool,
    satisfied_by: tuple[uuid.UUID, ...],
    reasons: tuple[str, ...],
) -> None:
    rule = parse_rule({"type": "composite", "achievement_ids": [str(a) for a in A], **fields})
    outcome = evaluate(rule, LearnerFacts(earned_achievements=earned))
    assert outcome.met is met
    assert outcome.satisfied_by == satisfied_by
    assert outcome.reasons == reasons
    listed_earned = [a for a in A if a in earned]
    assert outcome.progress == {
        "type": "composite",
        "met": met,
        "earned": len(listed_earned),
        "needed": fields.get("min_earned", 6),
        "total": 6,
        "earned_ids": [str(a) for a in listed_earned],
    }


# ------------------------------------------------------------------------------------ schema validation

CID = str(C1)
INVALID: dict[str, tuple[object, tuple[str | int, ...]]] = {
    "min-count-zero": ({"type": "evidence", "competency_ids": [CID], "min_count": 0}, ("min_count",)),
    "min-count-negative": ({"type": "evidence", "competency_ids": [CID], "min_count": -1}, ("min_count",)),
    "min-count-too-big": ({"type": "evidence", "competency_ids": [CID], "min_count": 1001}, ("min_count",)),
    "min-count-bool": ({"type": "evidence", "competency_ids": [CID], "min_count": True}, ("min_count",)),
    "min-count-string": ({"type": "evidence", "competency_ids": [CID], "min_count": "3"}, ("min_count",)),
    "unknown-field": ({"type": "evidence", "competency_ids": [CID], "threshold": 3}, ("threshold",)),
    "competencies-missing": ({"type": "evidence"}, ("competency_ids",)),
    "competencies-empty": ({"type": "evidence", "competency_ids": []}, ("competency_ids",)),
    "competencies-too-many": (
        {"type": "evidence", "competency_ids": [str(uuid.UUID(int=n)) for n in range(51)]},
        ("competency_ids",),
    ),
    "competencies-duplicate": ({"type": "evidence", "competency_ids": [CID, CID]}, ("competency_ids",)),
    "competency-not-uuid": ({"type": "evidence", "competency_ids": ["c1"]}, ("competency_ids", 0)),
    "min-level-negative": ({"type": "evidence", "competency_ids": [CID], "min_level": -1}, ("min_level",)),
    "min-level-too-big": ({"type": "evidence", "competency_ids": [CID], "min_level": 101}, ("min_level",)),
    "ratio-above-one": (
        {"type": "evidence", "competency_ids": [CID], "min_score_ratio": 1.5},
        ("min_score_ratio",),
    ),
    "ratio-nan": (
        {"type": "evidence", "competency_ids": [CID], "min_score_ratio": math.nan},
        ("min_score_ratio",),
    ),
    "contexts-negative": (
        {"type": "evidence", "competency_ids": [CID], "min_distinct_contexts": -1},
        ("min_distinct_contexts",),
    ),
    "sessions-too-big": (
        {"type": "evidence", "competency_ids": [CID], "min_distinct_sessions": 101},
        ("min_distinct_sessions",),
    ),
    "window-zero": ({"type": "evidence", "competency_ids": [CID], "window_days": 0}, ("window_days",)),
    "window-too-big": ({"type": "evidence", "competency_ids": [CID], "window_days": 36501}, ("window_days",)),
    "until-before-from": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "observed_from": "2025-02-01T00:00:00Z",
            "observed_until": "2025-01-01T00:00:00Z",
        },
        ("observed_until",),
    ),
    "until-equals-from": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "observed_from": "2025-02-01T00:00:00Z",
            "observed_until": "2025-02-01T01:00:00+01:00",
        },
        ("observed_until",),
    ),
    "from-naive": (
        {"type": "evidence", "competency_ids": [CID], "observed_from": "2025-02-01T00:00:00"},
        ("observed_from",),
    ),
    "per-competency-not-bool": (
        {"type": "evidence", "competency_ids": [CID], "per_competency": "yes"},
        ("per_competency",),
    ),
    "allowed-empty": (
        {"type": "evidence", "competency_ids": [CID], "allowed_sources": []},
        ("allowed_sources",),
    ),
    "allowed-unknown-source": (
        {"type": "evidence", "competency_ids": [CID], "allowed_sources": ["email"]},
        ("allowed_sources", 0),
    ),
    "allowed-duplicate": (
        {"type": "evidence", "competency_ids": [CID], "allowed_sources": ["rubric", "rubric"]},
        ("allowed_sources",),
    ),
    "allowed-only-self-never-met": (
        {"type": "evidence", "competency_ids": [CID], "allowed_sources": ["self_assessment", "peer"]},
        ("allowed_sources",),
    ),
    "required-empty-sources": (
        {"type": "evidence", "competency_ids": [CID], "required_sources": [{"sources": []}]},
        ("required_sources", 0, "sources"),
    ),
    "required-min-zero": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "required_sources": [{"sources": ["rubric"], "min": 0}],
        },
        ("required_sources", 0, "min"),
    ),
    "required-unknown-field": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "required_sources": [{"sources": ["rubric"], "max": 2}],
        },
        ("required_sources", 0, "max"),
    ),
    "required-not-allowed": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "allowed_sources": ["rubric"],
            "required_sources": [{"sources": ["artifact"]}],
        },
        ("required_sources",),
    ),
    "required-too-many-groups": (
        {"type": "evidence", "competency_ids": [CID], "required_sources": [{"sources": ["rubric"]}] * 11},
        ("required_sources",),
    ),
    "mastery-bad-method": (
        {"type": "evidence", "competency_ids": [CID], "mastery": {"method": "median", "min_level": 1}},
        ("mastery", "method"),
    ),
    "mastery-decay-zero": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "mastery": {"method": "mean", "decay": 0, "min_level": 1},
        },
        ("mastery", "decay"),
    ),
    "mastery-decay-above-one": (
        {
            "type": "evidence",
            "competency_ids": [CID],
            "mastery": {"method": "mean", "decay": 1.01, "min_level": 1},
        },
        ("mastery", "decay"),
    ),
    "mastery-min-level-missing": (
        {"type": "evidence", "competency_ids": [CID], "mastery": {"method": "mean"}},
        ("mastery", "min_level"),
    ),
    "mastery-min-level-negative": (
        {"type": "evidence", "competency_ids": [CID], "mastery": {"method": "mean", "min_level": -1}},
        ("mastery", "min_level"),
    ),
    "type-missing": ({"competency_ids": [CID]}, ("type",)),
    "type-unknown": ({"type": "grade", "competency_ids": [CID]}, ("type",)),
    "not-an-object": ([CID], ()),
    "composite-min-earned-above-len": (
        {"type": "composite", "achievement_ids": [CID, str(C2)], "min_earned": 3},
        ("min_earned",),
    ),
    "composite-min-earned-zero": (
        {"type": "composite", "achievement_ids": [CID], "min_earned": 0},
        ("min_earned",),
    ),
    "composite-empty": ({"type": "composite", "achievement_ids": []}, ("achievement_ids",)),
    "composite-duplicate": ({"type": "composite", "achievement_ids": [CID, CID]}, ("achievement_ids",)),
    "composite-too-many": (
        {"type": "composite", "achievement_ids": [str(uuid.UUID(int=n)) for n in range(101)]},
        ("achievement_ids",),
    ),
    "composite-unknown-field": (
        {"type": "composite", "achievement_ids": [CID], "competency_ids": []},
        ("competency_ids",),
    ),
}


@pytest.mark.parametrize(("data", "loc"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_rule_names_the_field(data: object, loc: tuple[str | int, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rule(data)
    assert loc in [error["loc"] for error in caught.value.errors()]


def test_cross_field_messages_explain() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rule({"type": "composite", "achievement_ids": [CID], "min_earned": 2})
    assert "min_earned (2) exceeds the number of achievement_ids (1)" in caught.value.errors()[0]["msg"]


def test_only_self_sources_allowed_when_self_alone_allowed() -> None:
    rule = erule(allowed_sources=["self_assessment"], self_assessment_alone=True)
    assert run(rule, ev("s", 1, source="self_assessment")).met is True


EXAMPLES: dict[str, dict[str, Any]] = {
    "evidence-minimal": {"type": "evidence", "competency_ids": [CID]},
    "evidence-full": {
        "type": "evidence",
        "competency_ids": [CID, str(C2)],
        "per_competency": True,
        "min_level": 2,
        "min_score_ratio": 0.8,
        "min_count": 3,
        "min_distinct_contexts": 2,
        "min_distinct_sessions": 1,
        "window_days": 365,
        "observed_from": "2024-08-15T00:00:00Z",
        "observed_until": "2025-06-30T00:00:00-05:00",
        "self_assessment_alone": False,
        "allowed_sources": ["rubric", "exhibition", "self_assessment"],
        "required_sources": [{"sources": list(EDUCATOR_SOURCES), "min": 1}],
        "mastery": {"method": "decaying_average", "decay": 0.5, "min_level": 2},
    },
    "composite-all": {"type": "composite", "achievement_ids": [str(a) for a in A]},
    "composite-n-of-m": {"type": "composite", "achievement_ids": [str(a) for a in A], "min_earned": 4},
}


@pytest.mark.parametrize("data", list(EXAMPLES.values()), ids=list(EXAMPLES))
def test_json_round_trip(data: dict[str, Any]) -> None:
    rule = parse_rule(json.loads(json.dumps(data)))
    stored = json.dumps(dump_rule(rule))
    again = parse_rule(json.loads(stored))
    assert again == rule
    assert dump_rule(again) == dump_rule(rule)
    assert RULE_ADAPTER.validate_json(stored) == rule
    assert json.loads(RULE_ADAPTER.dump_json(rule)) == json.loads(stored)
    for key, value in data.items():  # what was written is what is stored (defaults are added)
        if key not in ("observed_from", "observed_until"):
            assert dump_rule(rule)[key] == value


def test_round_trip_keeps_datetime_instant() -> None:
    rule = erule(observed_until="2025-06-30T00:00:00-05:00")
    assert rule.observed_until == datetime(2025, 6, 30, 5, 0, tzinfo=UTC)
    assert parse_rule(json.loads(json.dumps(dump_rule(rule)))) == rule


def test_parse_rule_returns_instances_unchanged_and_rules_are_frozen() -> None:
    rule = erule(min_count=2)
    assert parse_rule(rule) is rule
    with pytest.raises(ValidationError):
        rule.min_count = 3  # type: ignore[misc]


def test_rule_adapter_locates_by_kind_and_publishes_a_discriminated_schema() -> None:
    with pytest.raises(ValidationError) as caught:
        RULE_ADAPTER.validate_python({"type": "evidence", "competency_ids": [CID], "min_count": 0})
    assert caught.value.errors()[0]["loc"] == ("evidence", "min_count")
    schema = RULE_ADAPTER.json_schema()
    assert set(schema["discriminator"]["mapping"]) == {"evidence", "composite"}


def test_source_literal_matches_facts() -> None:
    assert get_args(Source) == SOURCES
    assert set(SELF_SOURCES) | set(EDUCATOR_SOURCES) <= set(SOURCES)


# ------------------------------------------------------------------------------------ brute-force oracle

METHODS: tuple[MasteryMethod, ...] = get_args(MasteryMethod)
POOL_CLASSES = (CLASS_A, CLASS_B, CLASS_C, None)
POOL_SESSIONS = (TERM_1, TERM_2, None)


def _random_rule(rnd: random.Random) -> EvidenceRule:
    while True:
        data: dict[str, Any] = {
            "type": "evidence",
            "competency_ids": [str(c) for c in rnd.sample([C1, C2, C3], rnd.choice([1, 1, 2]))],
            "per_competency": rnd.random() < 0.3,
            "min_count": rnd.choice([1, 1, 2, 2, 3, 4]),
            "self_assessment_alone": rnd.random() < 0.3,
        }
        if rnd.random() < 0.4:
            data["min_level"] = rnd.randint(0, 3)
        if rnd.random() < 0.3:
            data["min_score_ratio"] = rnd.choice([0.5, 0.7, 0.9])
        if rnd.random() < 0.4:
            data["min_distinct_contexts"] = rnd.randint(1, 3)
        if rnd.random() < 0.3:
            data["min_distinct_sessions"] = rnd.randint(1, 2)
        if rnd.random() < 0.2:
            data["window_days"] = rnd.randint(20, 60)
        if rnd.random() < 0.15:
            data["observed_from"] = (NOW - timedelta(days=rnd.randint(30, 60))).isoformat()
        if rnd.random() < 0.15:
            data["observed_until"] = (NOW - timedelta(days=rnd.randint(0, 9))).isoformat()
        if rnd.random() < 0.3:
            data["allowed_sources"] = rnd.sample(SOURCES, rnd.randint(1, 4))
        if rnd.random() < 0.3:
            data["required_sources"] = [
                {"sources": rnd.sample(SOURCES, rnd.randint(2, 4)), "min": rnd.randint(1, 2)}
                for _ in range(rnd.randint(1, 2))
            ]
        if rnd.random() < 0.3:
            data["mastery"] = {
                "method": rnd.choice(METHODS),
                "decay": rnd.choice([0.3, 0.65, 1.0]),
                "min_level": rnd.randint(0, 2),
            }
        try:
            rule = parse_rule(data)
        except ValidationError:
            continue  # e.g. required sources outside the allowed ones: never stored, so never evaluated
        assert isinstance(rule, EvidenceRule)
        return rule


def _random_evidence(
    rnd: random.Random, serial: itertools.count[int], rule: EvidenceRule
) -> list[EvidenceFact]:
    pieces = []
    # mostly about the rule's competencies, sometimes about another one (to be ignored)
    competencies = [*rule.competency_ids, *rule.competency_ids, *rule.competency_ids, C3]
    for _ in range(rnd.randint(0, 9)):
        scored = rnd.random() < 0.3
        pieces.append(
            EvidenceFact(
                id=uuid.UUID(int=next(serial)),
                competency_id=rnd.choice(competencies),
                source=rnd.choice((*SOURCES, "rubric", "artifact")),
                # whole days, so that equal instants (ties) happen; -1 is after now
                observed_at=NOW - timedelta(days=rnd.randint(-1, 60)),
                level=rnd.choice([None, 0, 1, 2, 2, 3, 3, 3]),
                score=rnd.randint(0, 10) if scored else None,
                score_max=rnd.choice([10, 10, 0]) if scored else None,
                context_id=rnd.choice(POOL_CLASSES),
                session_id=rnd.choice(POOL_SESSIONS),
            )
        )
    return pieces


class Oracle:
    """The rule's meaning written the slow, obvious way: try every subset of qualifying pieces."""

    def __init__(self, rule: EvidenceRule) -> None:
        self.rule = rule

    def in_scope(self, piece: EvidenceFact, competency: uuid.UUID) -> bool:
        rule = self.rule
        if piece.competency_id != competency:
            return False
        when = piece.observed_at
        if rule.window_days is not None and not (NOW - timedelta(days=rule.window_days) <= when <= NOW):
            return False
        if rule.observed_from is not None and when < rule.observed_from:
            return False
        return not (rule.observed_until is not None and when > rule.observed_until)

    def qualifies(self, piece: EvidenceFact) -> bool:
        rule = self.rule
        if rule.allowed_sources is not None and piece.source not in rule.allowed_sources:
            return False
        if rule.min_level is None and rule.min_score_ratio is None:
            return True
        by_level = rule.min_level is not None and piece.level is not None and piece.level >= rule.min_level
        by_score = (
            rule.min_score_ratio is not None
            and piece.score is not None
            and piece.score_max is not None
            and piece.score_max > 0
            and piece.score / piece.score_max >= rule.min_score_ratio
        )
        return by_level or by_score

    def subset_ok(self, chosen: list[EvidenceFact]) -> bool:
        rule = self.rule
        return (
            len(chosen) >= rule.min_count
            and len({p.context_id for p in chosen} - {None}) >= rule.min_distinct_contexts
            and len({p.session_id for p in chosen} - {None}) >= rule.min_distinct_sessions
            and all(sum(p.source in g.sources for p in chosen) >= g.min for g in rule.required_sources)
            and (rule.self_assessment_alone or any(p.source not in SELF_SOURCES for p in chosen))
        )

    def some_subset_ok(self, pieces: list[EvidenceFact]) -> bool:
        return any(
            self.subset_ok(list(chosen))
            for size in range(len(pieces) + 1)
            for chosen in itertools.combinations(pieces, size)
        )

    def groups(self, evidence: list[EvidenceFact]) -> list[list[EvidenceFact]]:
        comps = self.rule.competency_ids
        qualifying = {c: [p for p in evidence if self.in_scope(p, c) and self.qualifies(p)] for c in comps}
        if self.rule.per_competency:
            return [qualifying[c] for c in comps]
        return [[p for c in comps for p in qualifying[c]]]

    def mastery(self, pieces: list[EvidenceFact]) -> float | None:
        assert self.rule.mastery is not None
        method, decay = self.rule.mastery.method, self.rule.mastery.decay
        ordered = sorted((p for p in pieces if p.level is not None), key=lambda p: (p.observed_at, p.id))
        levels = [p.level for p in ordered if p.level is not None]
        if not levels:
            return None
        if method == "highest":
            return max(levels)
        if method == "most_recent":
            return levels[-1]
        if method == "mean":
            return sum(levels) / len(levels)
        if method == "mode":
            counts = Counter(levels)
            top = max(counts.values())
            return max(level for level, count in counts.items() if count == top)
        # decaying average as explicit weights: oldest (1-d)^(n-1), then d*(1-d)^(n-1-i)
        n = len(levels)
        weights = [(1 - decay) ** (n - 1)] + [decay * (1 - decay) ** (n - 1 - i) for i in range(1, n)]
        assert math.isclose(sum(weights), 1.0)
        return sum(w * level for w, level in zip(weights, levels, strict=True))

    def met(self, evidence: list[EvidenceFact]) -> bool:
        if not all(self.some_subset_ok(group) for group in self.groups(evidence)):
            return False
        if self.rule.mastery is None:
            return True
        for c in self.rule.competency_ids:
            value = self.mastery([p for p in evidence if self.in_scope(p, c)])
            if value is None or value < self.rule.mastery.min_level - 1e-9:
                return False
        return True


def test_random_rules_agree_with_brute_force_oracle() -> None:
    rnd = random.Random(20250601)
    serial = itertools.count(1)
    tally = Counter[str]()
    for _ in range(500):
        rule = _random_rule(rnd)
        evidence = _random_evidence(rnd, serial, rule)
        oracle = Oracle(rule)
        expected = oracle.met(evidence)
        outcome = evaluate(rule, LearnerFacts(evidence=evidence, now=NOW))
        context = f"rule={dump_rule(rule)} evidence={evidence}"
        assert outcome.met is expected, context
        tally["met" if expected else "not met"] += 1
        if not expected:
            assert outcome.satisfied_by == (), context
            assert outcome.reasons, context
            continue
        assert outcome.reasons == (), context
        # The selection itself meets the thresholds, in each group, and no piece in it is superfluous.
        by_id = {p.id: p for p in evidence}
        assert len(set(outcome.satisfied_by)) == len(outcome.satisfied_by), context
        chosen = [by_id[i] for i in outcome.satisfied_by]
        assert chosen == sorted(chosen, key=lambda p: (p.observed_at, p.id), reverse=True), context
        qualifying_ids = {p.id for group in oracle.groups(evidence) for p in group}
        assert set(outcome.satisfied_by) <= qualifying_ids, context
        comps = rule.competency_ids if rule.per_competency else [None]
        for comp in comps:
            part = [p for p in chosen if comp is None or p.competency_id == comp]
            assert oracle.subset_ok(part), context
            for drop in range(len(part)):
                assert not oracle.subset_ok(part[:drop] + part[drop + 1 :]), f"superfluous piece: {context}"
        # Deterministic: the order the caller passes the evidence in does not matter.
        shuffled = evidence[:]
        rnd.shuffle(shuffled)
        assert evaluate(rule, LearnerFacts(evidence=shuffled, now=NOW)) == outcome, context
    # Both outcomes must be common, or the comparison proves little.
    assert tally["met"] >= 75, tally
    assert tally["not met"] >= 75, tally
