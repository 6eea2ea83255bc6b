"""Award rules: what a learner must show to earn an achievement, and their pure evaluation.

A rule is JSON data stored (and versioned) with its achievement. Two kinds, told apart by ``type``:

``evidence``
    Evidence about the listed competencies meets thresholds. A piece of evidence is *in scope* when it is
    about one of ``competency_ids`` and was observed inside the time window (``window_days`` before
    ``LearnerFacts.now``, and/or ``observed_from``..``observed_until``; all bounds inclusive). An in-scope
    piece *qualifies* when its source is allowed (``allowed_sources``) and it reaches the level bar:
    ``level >= min_level``, or ``score / score_max >= min_score_ratio`` (when both bars are set, either one
    is enough; when neither is set, every in-scope piece qualifies; a piece without a level never reaches
    ``min_level``). The rule is met when the qualifying pieces hold a set of at least ``min_count`` pieces
    that together cover ``min_distinct_contexts`` classes, ``min_distinct_sessions`` academic sessions,
    every ``required_sources`` minimum and, unless ``self_assessment_alone``, at least one piece that is not
    a self- or peer assessment. With ``per_competency`` every competency must meet those thresholds on its
    own evidence; otherwise the evidence of all listed competencies is pooled. An optional ``mastery`` check
    then asks that each listed competency's current level, computed by a mastery method over *all* its
    in-scope leveled evidence (whatever its source or level), reaches ``mastery.min_level``.

``composite``
    At least ``min_earned`` (default: all) of the listed achievements are earned.

Evaluation (:func:`evaluate`) is pure: no I/O, no clock. The caller passes the learner's active (not
withdrawn) evidence, earned achievements and the evaluation instant in :class:`LearnerFacts`.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails

from service.awards.facts import EDUCATOR_SOURCES, SELF_SOURCES, SOURCES, EvidenceFact, LearnerFacts, Scale

__all__ = [
    "MAX_ACHIEVEMENTS",
    "MAX_COMPETENCIES",
    "MAX_COUNT",
    "MAX_DISTINCT",
    "MAX_LEVEL",
    "MAX_WINDOW_DAYS",
    "RULE_ADAPTER",
    "RULE_INPUT_ADAPTER",
    "CompositeRule",
    "EvidenceRule",
    "EvidenceRuleInput",
    "LevelRef",
    "Mastery",
    "MasteryInput",
    "MasteryMethod",
    "Outcome",
    "RequiredSources",
    "Rule",
    "RuleInput",
    "Source",
    "dump_rule",
    "evaluate",
    "mastery_level",
    "parse_rule",
    "parse_rule_input",
    "rounded_level",
]

#: An evidence source (same values as ``service.awards.facts.SOURCES``).
Source: TypeAlias = Literal["rubric", "oneroster_result", "artifact", "exhibition", "self_assessment", "peer"]
#: How a competency's current level is computed from its leveled evidence.
MasteryMethod: TypeAlias = Literal["highest", "most_recent", "mean", "decaying_average", "mode"]

#: Bounds of every number in a rule (rules are client data: nothing is unbounded).
MAX_LEVEL = 100
MAX_COUNT = 1000
MAX_DISTINCT = 100
MAX_WINDOW_DAYS = 36_500
MAX_COMPETENCIES = 50
MAX_ACHIEVEMENTS = 100

#: Tolerance when comparing a float mastery value with an integer level.
_EPSILON = 1e-9

_Level = Annotated[int, Field(strict=True, ge=0, le=MAX_LEVEL)]
_Distinct = Annotated[int, Field(strict=True, ge=0, le=MAX_DISTINCT)]


def _no_duplicates(values: Sequence[object], what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what}: {value}")
        seen.add(value)


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _type_required(schema: dict[str, Any]) -> None:
    """``type`` tells the kind of rule: the contract requires it (as ``parse_rule`` does)."""
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class _KindModel(_RuleModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_type_required)


class RequiredSources(_RuleModel):
    """At least ``min`` of the qualifying pieces must come from one of ``sources``."""

    sources: Annotated[list[Source], Field(min_length=1, max_length=len(SOURCES))] = Field(
        description="the evidence sources of this group"
    )
    min: Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)] = Field(
        default=1, description="how many of the qualifying pieces must come from these sources"
    )

    @field_validator("sources")
    @classmethod
    def _distinct_sources(cls, value: list[Source]) -> list[Source]:
        _no_duplicates(value, "source")
        return value


#: A rubric level as a rule names it: its position (0 = lowest), its id, or its title. Tried in this
#: order, so a UUID string is a level id and any other string a title.
LevelRef: TypeAlias = Annotated[
    _Level | uuid.UUID | Annotated[str, Field(min_length=1, max_length=255)],
    Field(union_mode="left_to_right"),
]

_MIN_LEVEL_DESCRIPTION = (
    "its position on the framework's scale (an integer, 0 = lowest; on a "
    "four-level scale Beginning=0, Developing=1, Proficient=2, Extending=3), the level's id (a UUID), or "
    'its title (e.g. "Proficient", case-insensitive). An id or title is looked up in the rubric of the '
    "listed competencies' framework and stored as the position: reads return the position"
)
_STORED_LEVEL_DESCRIPTION = "the rubric level to reach, as its position on the scale (0 = lowest)"


class _MasteryBase(_RuleModel):
    method: MasteryMethod = Field(
        description=(
            "how the current level is computed from the competency's leveled evidence: highest, "
            "most_recent, mean, decaying_average (newer pieces weigh more, see decay) or mode"
        )
    )
    decay: Annotated[float, Field(strict=True, gt=0, le=1, allow_inf_nan=False)] = Field(
        default=0.65,
        description=(
            "decaying_average only: the weight of the newest piece (the running value keeps 1 - decay)"
        ),
    )


class Mastery(_MasteryBase):
    """A competency's current level, by ``method`` over its leveled evidence, must reach ``min_level``.

    ``decay`` is used by ``decaying_average`` only: the weight of the newest piece, the previous running
    value keeping ``1 - decay``.
    """

    min_level: _Level = Field(description=_STORED_LEVEL_DESCRIPTION)


class MasteryInput(_MasteryBase):
    """A mastery condition as a client writes it: each listed competency's current level, computed by
    ``method`` over all its in-scope leveled evidence, must reach ``min_level``."""

    min_level: LevelRef = Field(description="the level to reach: " + _MIN_LEVEL_DESCRIPTION)


class _EvidenceRuleBase(_KindModel):
    type: Literal["evidence"] = Field(default="evidence", description="this kind of rule: evidence")
    competency_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_COMPETENCIES)] = Field(
        description="the competencies whose evidence counts (of one published framework, usually one)"
    )
    #: True: every competency meets the thresholds on its own; False: on the pooled evidence.
    per_competency: StrictBool = Field(
        default=False,
        description="true: every listed competency must meet the thresholds on its own evidence; "
        "false: the evidence of all listed competencies is pooled",
    )
    #: Alternative bar for scored pieces: ``score / score_max`` must reach it.
    min_score_ratio: Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)] | None = Field(
        default=None,
        description="a scored piece qualifies when score / score_max reaches this (with min_level too, "
        "either bar is enough; with neither, every in-scope piece qualifies)",
    )
    min_count: Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)] = Field(
        default=1, description="qualifying pieces needed"
    )
    min_distinct_contexts: _Distinct = Field(
        default=0, description="different classes the qualifying pieces must come from"
    )
    min_distinct_sessions: _Distinct = Field(
        default=0, description="different academic sessions (terms) the qualifying pieces must come from"
    )
    #: Only evidence observed in the last N days before ``LearnerFacts.now`` is in scope.
    window_days: Annotated[int, Field(strict=True, ge=1, le=MAX_WINDOW_DAYS)] | None = Field(
        default=None, description="only evidence observed in the last N days counts"
    )
    observed_from: AwareDatetime | None = Field(
        default=None, description="only evidence observed at or after this instant counts"
    )
    observed_until: AwareDatetime | None = Field(
        default=None, description="only evidence observed at or before this instant counts"
    )
    #: False: a set of qualifying pieces made only of self-assessments and peer assessments never meets it.
    self_assessment_alone: StrictBool = Field(
        default=False,
        description="false (default): self- and peer assessments alone never meet the rule; at least one "
        "qualifying piece must come from another source",
    )
    #: When set, pieces from other sources never qualify.
    allowed_sources: Annotated[list[Source], Field(min_length=1, max_length=len(SOURCES))] | None = Field(
        default=None, description="when set, pieces from other sources never qualify"
    )
    required_sources: Annotated[list[RequiredSources], Field(max_length=10)] = Field(
        default_factory=list,
        description="minimums per group of sources, e.g. at least one piece assessed by an educator",
    )

    @field_validator("competency_ids")
    @classmethod
    def _distinct_competencies(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        _no_duplicates(value, "competency id")
        return value

    @field_validator("observed_until")
    @classmethod
    def _until_after_from(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("observed_from")
        if value is not None and start is not None and not start < value:
            raise ValueError("observed_until must be later than observed_from")
        return value

    @field_validator("allowed_sources")
    @classmethod
    def _allowed_sources_usable(cls, value: list[Source] | None, info: ValidationInfo) -> list[Source] | None:
        if value is None:
            return None
        _no_duplicates(value, "source")
        if info.data.get("self_assessment_alone") is False and set(value) <= set(SELF_SOURCES):
            raise ValueError(
                "only self-assessment/peer sources are allowed but self_assessment_alone is false: "
                "the rule could never be met"
            )
        return value

    @field_validator("required_sources")
    @classmethod
    def _required_sources_allowed(
        cls, value: list[RequiredSources], info: ValidationInfo
    ) -> list[RequiredSources]:
        allowed = info.data.get("allowed_sources")
        if allowed is not None:
            for index, group in enumerate(value):
                if not set(group.sources) & set(allowed):
                    raise ValueError(
                        f"required_sources[{index}] names no allowed source: the rule could never be met"
                    )
        return value


class EvidenceRule(_EvidenceRuleBase):
    """Evidence about the listed competencies meets thresholds (see the module documentation); the form
    stored and evaluated, levels as positions."""

    #: Rubric level position (0 = lowest) a piece must reach to qualify.
    min_level: _Level | None = Field(default=None, description=_STORED_LEVEL_DESCRIPTION)
    mastery: Mastery | None = Field(
        default=None, description="each competency's current level must also reach a level"
    )


class EvidenceRuleInput(_EvidenceRuleBase):
    """An evidence rule: evidence about the listed competencies meets thresholds. A piece is in scope
    when it is about a listed competency and inside the time window; it qualifies when its source is
    allowed and it reaches min_level (or min_score_ratio). The rule is met when the qualifying pieces
    include min_count pieces from min_distinct_contexts classes and min_distinct_sessions sessions,
    meeting every required_sources minimum (and the mastery condition, when given)."""

    min_level: LevelRef | None = Field(
        default=None, description="the level a piece must reach to qualify: " + _MIN_LEVEL_DESCRIPTION
    )
    mastery: MasteryInput | None = Field(
        default=None,
        description="each listed competency's current level (by a mastery method over all its in-scope "
        "leveled evidence) must also reach a level",
    )

    def level_refs(self) -> dict[tuple[str, ...], int | uuid.UUID | str]:
        """Where this rule names a level, by location: ``("min_level",)``, ``("mastery", "min_level")``."""
        refs: dict[tuple[str, ...], int | uuid.UUID | str] = {}
        if self.min_level is not None:
            refs[("min_level",)] = self.min_level
        if self.mastery is not None:
            refs[("mastery", "min_level")] = self.mastery.min_level
        return refs

    def resolved(self, positions: Mapping[tuple[str, ...], int]) -> EvidenceRule:
        """The stored form, each level named by ``level_refs`` replaced by its position."""
        data = self.model_dump()
        if ("min_level",) in positions:
            data["min_level"] = positions[("min_level",)]
        if data.get("mastery") is not None and ("mastery", "min_level") in positions:
            data["mastery"]["min_level"] = positions[("mastery", "min_level")]
        return EvidenceRule.model_validate(data)


class CompositeRule(_KindModel):
    """A composite rule: earned when at least ``min_earned`` (default: all) of ``achievement_ids`` are
    earned (awarded; pending, rejected or revoked awards do not count)."""

    type: Literal["composite"] = Field(default="composite", description="this kind of rule: composite")
    achievement_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_ACHIEVEMENTS)] = Field(
        description="the achievements to earn (no cycles of composites)"
    )
    min_earned: Annotated[int, Field(strict=True, ge=1, le=MAX_ACHIEVEMENTS)] | None = Field(
        default=None, description="how many of them must be earned (N of M); default: all"
    )

    @field_validator("achievement_ids")
    @classmethod
    def _distinct_achievements(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        _no_duplicates(value, "achievement id")
        return value

    @field_validator("min_earned")
    @classmethod
    def _min_earned_possible(cls, value: int | None, info: ValidationInfo) -> int | None:
        ids = info.data.get("achievement_ids")
        if value is not None and ids is not None and value > len(ids):
            raise ValueError(f"min_earned ({value}) exceeds the number of achievement_ids ({len(ids)})")
        return value


#: An award rule; ``type`` tells the kind. Usable as a field type in request schemas (there the error
#: location carries the kind as well, e.g. ``("rule", "evidence", "min_count")``).
Rule: TypeAlias = Annotated[EvidenceRule | CompositeRule, Field(discriminator="type")]
#: An award rule as clients write it: levels by position, id or title (resolved into a :data:`Rule`).
RuleInput: TypeAlias = Annotated[EvidenceRuleInput | CompositeRule, Field(discriminator="type")]

#: Validates and serialises :data:`Rule` values (e.g. ``RULE_ADAPTER.json_schema()``).
RULE_ADAPTER: TypeAdapter[EvidenceRule | CompositeRule] = TypeAdapter(Rule)
#: The same for :data:`RuleInput`; its JSON Schema documents rules in the API contract.
RULE_INPUT_ADAPTER: TypeAdapter[EvidenceRuleInput | CompositeRule] = TypeAdapter(RuleInput)

_RULE_MODELS: dict[str, type[EvidenceRule] | type[CompositeRule]] = {
    "evidence": EvidenceRule,
    "composite": CompositeRule,
}
_RULE_INPUT_MODELS: dict[str, type[EvidenceRuleInput] | type[CompositeRule]] = {
    "evidence": EvidenceRuleInput,
    "composite": CompositeRule,
}


def _parse_kind(data: object, models: Mapping[str, type[BaseModel]]) -> BaseModel:
    if not isinstance(data, Mapping):
        raise ValidationError.from_exception_data(
            "Rule", [InitErrorDetails(type="dict_type", loc=(), input=data)]
        )
    kind = data.get("type")
    if kind is None:
        raise ValidationError.from_exception_data(
            "Rule", [InitErrorDetails(type="missing", loc=("type",), input=dict(data))]
        )
    model = models.get(kind) if isinstance(kind, str) else None
    if model is None:
        expected = " or ".join(repr(name) for name in models)
        raise ValidationError.from_exception_data(
            "Rule",
            [InitErrorDetails(type="literal_error", loc=("type",), input=kind, ctx={"expected": expected})],
        )
    return model.model_validate(dict(data))


def parse_rule(data: object) -> Rule:
    """Validate rule data (a JSON-compatible mapping, e.g. ``json.loads`` output) into a :data:`Rule`.

    Raises ``pydantic.ValidationError`` whose error locations name the rule's own fields, e.g.
    ``("min_count",)``, or ``("type",)`` for a missing or unknown kind. A rule instance is returned as is.
    """
    if isinstance(data, EvidenceRule | CompositeRule):
        return data
    parsed = _parse_kind(data, _RULE_MODELS)
    assert isinstance(parsed, EvidenceRule | CompositeRule)
    return parsed


def parse_rule_input(data: object) -> RuleInput:
    """Like :func:`parse_rule`, for a rule as a client writes it (levels by position, id or title)."""
    if isinstance(data, EvidenceRuleInput | CompositeRule):
        return data
    parsed = _parse_kind(data, _RULE_INPUT_MODELS)
    assert isinstance(parsed, EvidenceRuleInput | CompositeRule)
    return parsed


def dump_rule(rule: Rule) -> dict[str, Any]:
    """The rule as JSON-compatible data (every field, defaults included); ``parse_rule`` reads it back."""
    return rule.model_dump(mode="json")


# --------------------------------------------------------------------------------------------- outcome


@dataclass(frozen=True)
class Outcome:
    """The result of evaluating one rule for one learner.

    ``satisfied_by`` (only when met): for an evidence rule, a deterministic, inclusion-minimal set of
    qualifying evidence ids that meets the count, context, session and source thresholds, newest first;
    for a composite rule, the listed achievements that are earned, in rule order.
    ``reasons`` (only when not met): what is missing, in words. ``progress``: the same in numbers, JSON
    compatible (ids as strings). ``mastery``: each competency's current level by the rule's mastery method
    (None without leveled evidence); empty when the rule has no mastery check.
    """

    met: bool
    satisfied_by: tuple[uuid.UUID, ...] = ()
    reasons: tuple[str, ...] = ()
    progress: dict[str, Any] = field(default_factory=dict)
    mastery: dict[uuid.UUID, float | None] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- mastery


def _chronological_key(piece: EvidenceFact) -> tuple[datetime, uuid.UUID]:
    return (_utc(piece.observed_at), piece.id)


def mastery_level(method: MasteryMethod, pieces: Iterable[EvidenceFact], decay: float = 0.65) -> float | None:
    """A competency's current level from its evidence, or None when no piece has a level.

    Only pieces with a ``level`` count; order is by ``observed_at`` (ties by id). Methods:
    ``highest``; ``most_recent``; ``mean``; ``decaying_average`` (start from the oldest level, then for each
    newer piece ``value = (1 - decay) * value + decay * level``, so ``decay=1`` is the most recent level);
    ``mode`` (the most frequent level, the higher one on a tie). Pass only the pieces to consider (one
    competency, inside the rule's window); :func:`rounded_level` gives the level to display.
    """
    if not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    leveled = sorted((piece for piece in pieces if piece.level is not None), key=_chronological_key)
    levels = [piece.level for piece in leveled if piece.level is not None]
    if not levels:
        return None
    if method == "highest":
        return float(max(levels))
    if method == "most_recent":
        return float(levels[-1])
    if method == "mean":
        return math.fsum(levels) / len(levels)
    if method == "decaying_average":
        value = float(levels[0])
        for level in levels[1:]:
            # value + decay * (level - value) == (1 - decay) * value + decay * level, but stays exact when
            # the level repeats (no 1.9999999 for a run of 2s).
            value += decay * (level - value)
        return value
    if method == "mode":
        counts = Counter(levels)
        return float(max(counts, key=lambda level: (counts[level], level)))
    raise ValueError(f"unknown mastery method: {method!r}")


def rounded_level(value: float) -> int:
    """The level position shown for a mastery value (half up: 1.5 -> 2, 1.4 -> 1)."""
    return math.floor(value + 0.5)


# --------------------------------------------------------------------------------------------- evaluation


def _utc(moment: datetime) -> datetime:
    """Naive datetimes (e.g. read back from SQLite) are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _window(rule: EvidenceRule, now: datetime | None) -> tuple[datetime | None, datetime | None]:
    start = rule.observed_from
    end = rule.observed_until
    if rule.window_days is not None:
        if now is None:
            raise ValueError("the rule has window_days: LearnerFacts.now is required")
        now = _utc(now)
        window_start = now - timedelta(days=rule.window_days)
        start = window_start if start is None else max(start, window_start)
        end = now if end is None else min(end, now)
    return start, end


def _score_ratio(piece: EvidenceFact) -> float | None:
    if piece.score is None or piece.score_max is None or not piece.score_max > 0:
        return None
    ratio = piece.score / piece.score_max
    return ratio if math.isfinite(ratio) else None


def _reaches_bar(rule: EvidenceRule, piece: EvidenceFact) -> bool:
    if rule.min_level is None and rule.min_score_ratio is None:
        return True
    if rule.min_level is not None and piece.level is not None and piece.level >= rule.min_level:
        return True
    if rule.min_score_ratio is not None:
        ratio = _score_ratio(piece)
        if ratio is not None and ratio >= rule.min_score_ratio:
            return True
    return False


@dataclass(frozen=True)
class _SourceNeed:
    sources: frozenset[str]
    min: int
    #: The implicit "not self-assessment alone" need (reported differently).
    implicit: bool = False


@dataclass(frozen=True)
class _Needs:
    count: int
    contexts: int
    sessions: int
    sources: tuple[_SourceNeed, ...]


def _needs(rule: EvidenceRule) -> _Needs:
    groups = [_SourceNeed(frozenset(group.sources), group.min) for group in rule.required_sources]
    non_self = frozenset(SOURCES) - frozenset(SELF_SOURCES)
    # The implicit need is redundant when a required group already has only non-self sources.
    if not rule.self_assessment_alone and not any(group.sources <= non_self for group in groups):
        groups.append(_SourceNeed(non_self, 1, implicit=True))
    return _Needs(rule.min_count, rule.min_distinct_contexts, rule.min_distinct_sessions, tuple(groups))


class _Tally:
    """Running counts of a set of pieces against the needs, with O(1) add/remove checks."""

    def __init__(self, needs: _Needs) -> None:
        self.needs = needs
        self.size = 0
        self.contexts: Counter[uuid.UUID] = Counter()
        self.sessions: Counter[uuid.UUID] = Counter()
        self.sources = [0] * len(needs.sources)

    def add(self, piece: EvidenceFact) -> None:
        self.size += 1
        if piece.context_id is not None:
            self.contexts[piece.context_id] += 1
        if piece.session_id is not None:
            self.sessions[piece.session_id] += 1
        for index, need in enumerate(self.needs.sources):
            if piece.source in need.sources:
                self.sources[index] += 1

    def remove(self, piece: EvidenceFact) -> None:
        self.size -= 1
        for counter, key in ((self.contexts, piece.context_id), (self.sessions, piece.session_id)):
            if key is not None:
                counter[key] -= 1
                if not counter[key]:
                    del counter[key]
        for index, need in enumerate(self.needs.sources):
            if piece.source in need.sources:
                self.sources[index] -= 1

    def coverage_gain(self, piece: EvidenceFact) -> int:
        """How many unmet context/session/source needs adding the piece would reduce."""
        gain = 0
        if piece.context_id is not None and piece.context_id not in self.contexts:
            gain += len(self.contexts) < self.needs.contexts
        if piece.session_id is not None and piece.session_id not in self.sessions:
            gain += len(self.sessions) < self.needs.sessions
        for index, need in enumerate(self.needs.sources):
            if piece.source in need.sources and self.sources[index] < need.min:
                gain += 1
        return gain

    def covered(self) -> bool:
        return (
            len(self.contexts) >= self.needs.contexts
            and len(self.sessions) >= self.needs.sessions
            and all(have >= need.min for have, need in zip(self.sources, self.needs.sources, strict=True))
        )

    def met(self) -> bool:
        return self.size >= self.needs.count and self.covered()

    def can_remove(self, piece: EvidenceFact) -> bool:
        if self.size - 1 < self.needs.count:
            return False
        for counter, key, needed in (
            (self.contexts, piece.context_id, self.needs.contexts),
            (self.sessions, piece.session_id, self.needs.sessions),
        ):
            if key is not None and counter[key] == 1 and len(counter) - 1 < needed:
                return False
        return all(
            piece.source not in need.sources or have - 1 >= need.min
            for have, need in zip(self.sources, self.needs.sources, strict=True)
        )


def _select(pieces: Sequence[EvidenceFact], needs: _Needs) -> list[EvidenceFact]:
    """An inclusion-minimal subset of ``pieces`` (newest first) meeting ``needs``; call only when all do.

    Because every need is monotone (more pieces never hurt), the whole set meets them iff some subset does.
    Greedy coverage (largest number of unmet needs reduced, newest first on a tie) always reaches a covering
    set from a feasible whole, the newest remaining pieces fill up to the count, then pruning oldest first
    drops every piece whose removal keeps all needs met.
    """
    tally = _Tally(needs)
    chosen = [False] * len(pieces)
    while not tally.covered():
        best, best_gain = -1, 0
        for index, piece in enumerate(pieces):
            if not chosen[index]:
                gain = tally.coverage_gain(piece)
                if gain > best_gain:
                    best, best_gain = index, gain
        if best < 0:  # pragma: no cover - the caller checked that the whole set meets the needs
            raise AssertionError("needs cannot be covered")
        chosen[best] = True
        tally.add(pieces[best])
    for index, piece in enumerate(pieces):
        if tally.size >= needs.count:
            break
        if not chosen[index]:
            chosen[index] = True
            tally.add(piece)
    for index in reversed(range(len(pieces))):
        if chosen[index] and tally.can_remove(pieces[index]):
            chosen[index] = False
            tally.remove(pieces[index])
    return [piece for index, piece in enumerate(pieces) if chosen[index]]


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return singular if count == 1 else (plural or singular + "s")


def _title(scale: Scale | None, position: int) -> str:
    return scale.title(position) if scale is not None else f"level {position}"


def _format_number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _bar_words(rule: EvidenceRule, scale: Scale | None) -> str:
    bars = []
    if rule.min_level is not None:
        bars.append(f"at {_title(scale, rule.min_level)} or above")
    if rule.min_score_ratio is not None:
        bars.append(f"scoring at least {_format_number(rule.min_score_ratio * 100)}%")
    return " " + " or ".join(bars) if bars else " of evidence"


def _ordered_sources(sources: Iterable[str]) -> list[str]:
    wanted = set(sources)
    return [source for source in SOURCES if source in wanted]


def _threshold_reasons(rule: EvidenceRule, tally: _Tally, scale: Scale | None) -> list[str]:
    needs = tally.needs
    reasons = []
    if tally.size < needs.count:
        reasons.append(
            f"{tally.size} of {needs.count} {_plural(needs.count, 'piece')}{_bar_words(rule, scale)}; "
            f"needs {needs.count - tally.size} more"
        )
    missing = needs.contexts - len(tally.contexts)
    if missing > 0:
        reasons.append(f"needs evidence from {missing} more {_plural(missing, 'class', 'classes')}")
    missing = needs.sessions - len(tally.sessions)
    if missing > 0:
        reasons.append(f"needs evidence from {missing} more academic {_plural(missing, 'session')}")
    for have, need in zip(tally.sources, needs.sources, strict=True):
        if have >= need.min:
            continue
        if need.implicit:
            if tally.size:
                reasons.append("self-assessment alone is not enough")
            continue
        names = ", ".join(_ordered_sources(need.sources))
        pieces = _plural(need.min, "piece")
        if need.sources == frozenset(EDUCATOR_SOURCES):
            reason = f"needs at least {need.min} educator-assessed {pieces} ({names})"
        else:
            reason = f"needs at least {need.min} {pieces} from {names}"
        reasons.append(reason + (f"; has {have}" if have else ""))
    return reasons


def _threshold_progress(tally: _Tally) -> dict[str, Any]:
    needs = tally.needs
    return {
        "thresholds_met": tally.met(),
        "count": tally.size,
        "needed": needs.count,
        "contexts": len(tally.contexts),
        "contexts_needed": needs.contexts,
        "sessions": len(tally.sessions),
        "sessions_needed": needs.sessions,
        "required_sources": [
            {"sources": _ordered_sources(need.sources), "count": have, "needed": need.min}
            for have, need in zip(tally.sources, needs.sources, strict=True)
            if not need.implicit
        ],
        "non_self_needed": any(need.implicit for need in needs.sources),
        "non_self_count": sum(
            have for have, need in zip(tally.sources, needs.sources, strict=True) if need.implicit
        ),
    }


_METHOD_WORDS: dict[str, str] = {
    "highest": "highest",
    "most_recent": "most recent",
    "mean": "mean",
    "decaying_average": "decaying average",
    "mode": "mode",
}


def _mastery_reason(mastery: Mastery, value: float | None, scale: Scale | None) -> str:
    needed = _title(scale, mastery.min_level)
    if value is None:
        return f"current level unknown (no leveled evidence); needs {needed}"
    words = _METHOD_WORDS[mastery.method]
    if mastery.method in ("mean", "decaying_average"):
        words = f"{words} {_format_number(value)}"
    # Rounded for display, but never shown as the level it is below (mean 1.6 against 2 shows level 1).
    shown = _title(scale, min(rounded_level(value), mastery.min_level - 1))
    current = shown if shown.startswith("level ") else f"level {shown}"  # never "level level 1"
    return f"current {current} ({words}) is below {needed}"


def _newest_first(pieces: Iterable[EvidenceFact]) -> list[EvidenceFact]:
    return sorted(pieces, key=_chronological_key, reverse=True)


def _evaluate_evidence(
    rule: EvidenceRule, facts: LearnerFacts, scale: Scale | None, explain: bool = True
) -> Outcome:
    start, end = _window(rule, facts.now)
    competencies = set(rule.competency_ids)
    allowed = set(rule.allowed_sources) if rule.allowed_sources is not None else None
    in_scope: list[EvidenceFact] = []
    seen: set[uuid.UUID] = set()
    for piece in facts.evidence:
        if piece.id in seen or piece.competency_id not in competencies:
            continue
        observed = _utc(piece.observed_at)
        if (start is not None and observed < start) or (end is not None and observed > end):
            continue
        seen.add(piece.id)
        in_scope.append(piece)
    qualifying = _newest_first(
        piece
        for piece in in_scope
        if (allowed is None or piece.source in allowed) and _reaches_bar(rule, piece)
    )

    def label(competency_id: uuid.UUID) -> str:
        return facts.competency_names.get(competency_id) or f"competency {competency_id}"

    prefixed = len(rule.competency_ids) > 1
    needs = _needs(rule)
    groups: list[tuple[uuid.UUID | None, list[EvidenceFact]]]
    if rule.per_competency:
        groups = [
            (competency_id, [piece for piece in qualifying if piece.competency_id == competency_id])
            for competency_id in rule.competency_ids
        ]
    else:
        groups = [(None, qualifying)]

    met = True
    reasons: list[str] = []
    selected: list[EvidenceFact] = []
    group_progress: dict[str, Any] = {}
    for competency_id, pieces in groups:
        tally = _Tally(needs)
        for piece in pieces:
            tally.add(piece)
        prefix = f"{label(competency_id)}: " if competency_id is not None and prefixed else ""
        if tally.met():
            selected.extend(_select(pieces, needs))
        else:
            met = False
            if explain:
                reasons.extend(prefix + reason for reason in _threshold_reasons(rule, tally, scale))
        if not explain:
            continue
        if competency_id is None:
            group_progress = _threshold_progress(tally)
        else:
            group_progress.setdefault("competencies", {})[str(competency_id)] = _threshold_progress(tally)

    mastery_values: dict[uuid.UUID, float | None] = {}
    mastery_progress: dict[str, Any] = {}
    if rule.mastery is not None:
        for competency_id in rule.competency_ids:
            value = mastery_level(
                rule.mastery.method,
                (piece for piece in in_scope if piece.competency_id == competency_id),
                rule.mastery.decay,
            )
            mastery_values[competency_id] = value
            reached = value is not None and value + _EPSILON >= rule.mastery.min_level
            if not explain:
                met = met and reached
                continue
            mastery_progress[str(competency_id)] = {
                "method": rule.mastery.method,
                "value": value,
                "level": rounded_level(value) if value is not None else None,
                "needed": rule.mastery.min_level,
                "met": reached,
            }
            if not reached:
                met = False
                prefix = f"{label(competency_id)}: " if prefixed else ""
                reasons.append(prefix + _mastery_reason(rule.mastery, value, scale))

    if not explain:
        return Outcome(
            met=met,
            satisfied_by=tuple(piece.id for piece in _newest_first(selected)) if met else (),
            mastery=mastery_values,
        )
    progress: dict[str, Any] = {
        "type": "evidence",
        "met": met,
        "per_competency": rule.per_competency,
        **group_progress,
        "mastery": mastery_progress,
    }
    return Outcome(
        met=met,
        satisfied_by=tuple(piece.id for piece in _newest_first(selected)) if met else (),
        reasons=() if met else tuple(reasons),
        progress=progress,
        mastery=mastery_values,
    )


def _evaluate_composite(rule: CompositeRule, facts: LearnerFacts) -> Outcome:
    earned = [achievement for achievement in rule.achievement_ids if achievement in facts.earned_achievements]
    total = len(rule.achievement_ids)
    needed = rule.min_earned if rule.min_earned is not None else total
    met = len(earned) >= needed
    reasons: tuple[str, ...] = ()
    if not met:
        reason = f"{len(earned)} of {total} achievements earned"
        reasons = (reason if needed == total else f"{reason}; {needed} needed",)
    return Outcome(
        met=met,
        satisfied_by=tuple(earned) if met else (),
        reasons=reasons,
        progress={
            "type": "composite",
            "met": met,
            "earned": len(earned),
            "needed": needed,
            "total": total,
            "earned_ids": [str(achievement) for achievement in earned],
        },
    )


def evaluate(rule: Rule, facts: LearnerFacts, scale: Scale | None = None, *, explain: bool = True) -> Outcome:
    """Evaluate one rule against one learner's facts. Pure and deterministic.

    ``facts.evidence`` must hold only active evidence (withdrawn pieces are filtered by the caller); evidence
    of other competencies or outside the rule's window is ignored here. ``facts.now`` is required when the
    rule has ``window_days`` (ValueError otherwise). ``scale`` names levels in ``reasons`` ("Proficient"
    rather than "level 2"). ``explain=False`` leaves ``reasons`` and ``progress`` empty (``met``,
    ``satisfied_by`` and ``mastery`` are the same): what awarding needs, for thousands of learners per
    evidence batch.
    """
    if isinstance(rule, CompositeRule):
        return _evaluate_composite(rule, facts)
    return _evaluate_evidence(rule, facts, scale, explain)
