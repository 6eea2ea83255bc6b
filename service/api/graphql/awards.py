"""Achievements, awards, review and progress over GraphQL.

Rules are JSON (the same documents as REST), parsed and checked by ``AwardService``; progress views
are computed by the service in a fixed number of statements, whatever the size of the class.
"""

from __future__ import annotations

import inspect
import re
import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Self, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from service.api.graphql.common import (
    CursorPage,
    Page,
    cursor_paged,
    enum_value,
    field,
    input_values,
    invalid,
    mutation,
    paged,
    validate_input,
    validate_values,
)
from service.api.graphql.context import Info
from service.api.graphql.evidence import Evidence, EvidenceSource
from service.api.graphql.frameworks import Competency, Framework
from service.api.graphql.idempotency import DESCRIPTION as KEY_DESCRIPTION
from service.api.graphql.idempotency import Idempotency
from service.api.graphql.roster import Class, Person
from service.awards import models, rules, schemas
from service.awards.errors import InvalidRule
from service.awards.schemas import AchievementCreate, AchievementUpdate, AwardDecision, AwardRead, ManualAward

READ = "awards:read"
WRITE = "awards:write"


@strawberry.enum(description="automatic: awarded when the rule is met; review: an educator approves; manual.")
class AwardMode(Enum):
    AUTOMATIC = "automatic"
    REVIEW = "review"
    MANUAL = "manual"


@strawberry.enum
class AchievementStatus(Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


@strawberry.enum(description=schemas.AWARD_STATUS_DESCRIPTION)
class AwardStatus(Enum):
    PENDING_REVIEW = "pending_review"
    AWARDED = "awarded"
    REJECTED = "rejected"
    REVOKED = "revoked"


@strawberry.enum
class AwardMethod(Enum):
    RULE = "rule"
    MANUAL = "manual"


@strawberry.enum(description="approve/reject a pending award; keep/revoke an awarded one flagged for review.")
class Decision(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    KEEP = "keep"
    REVOKE = "revoke"


@strawberry.enum(description="How a competency's current level is computed from its evidence.")
class MasteryMethod(Enum):
    HIGHEST = "highest"
    MOST_RECENT = "most_recent"
    MEAN = "mean"
    DECAYING_AVERAGE = "decaying_average"
    MODE = "mode"


def _json(value: Any) -> JSON:
    return cast(JSON, value)


_RULE_FIELDS = sorted(
    {
        name
        for model in (rules.EvidenceRuleInput, rules.CompositeRule, rules.MasteryInput, rules.RequiredSources)
        for name in model.model_fields
        if "_" in name
    },
    key=len,
    reverse=True,
)


def _gql(text: str | None) -> str:
    """Rule documentation in GraphQL's words: one paragraph, field names in camelCase."""
    words = " ".join(inspect.cleandoc(text or "").split()).replace("``", "`")
    for name in _RULE_FIELDS:
        words = re.sub(rf"\b{name}\b", to_camel_case(name), words)
    return words


def _doc(model: type[Any], name: str) -> str:
    """The description of a rule field, the same words as in the OpenAPI document."""
    return _gql(model.model_fields[name].description)


# -- types --------------------------------------------------------------------------------------


@strawberry.type(description=_gql(rules.RequiredSources.__doc__))
class RequiredSources:
    sources: list[EvidenceSource]
    min: int


@strawberry.type(description="Each competency's current level, by a mastery method, must reach a level.")
class MasteryCondition:
    method: MasteryMethod
    decay: float = strawberry.field(description=_doc(rules.Mastery, "decay"))
    min_level: int = strawberry.field(description=_doc(rules.Mastery, "min_level"))


@strawberry.type(
    description="An evidence rule as stored (levels as positions): evidence about the competencies meets "
    "thresholds."
)
class EvidenceAwardRule:
    competency_ids: list[uuid.UUID]
    per_competency: bool = strawberry.field(description=_doc(rules.EvidenceRule, "per_competency"))
    min_level: int | None = strawberry.field(description=_doc(rules.EvidenceRule, "min_level"))
    min_score_ratio: float | None = strawberry.field(description=_doc(rules.EvidenceRule, "min_score_ratio"))
    min_count: int = strawberry.field(description=_doc(rules.EvidenceRule, "min_count"))
    min_distinct_contexts: int = strawberry.field(
        description=_doc(rules.EvidenceRule, "min_distinct_contexts")
    )
    min_distinct_sessions: int = strawberry.field(
        description=_doc(rules.EvidenceRule, "min_distinct_sessions")
    )
    window_days: int | None = strawberry.field(description=_doc(rules.EvidenceRule, "window_days"))
    observed_from: datetime | None
    observed_until: datetime | None
    self_assessment_alone: bool = strawberry.field(
        description=_doc(rules.EvidenceRule, "self_assessment_alone")
    )
    allowed_sources: list[EvidenceSource] | None = strawberry.field(
        description=_doc(rules.EvidenceRule, "allowed_sources")
    )
    required_sources: list[RequiredSources]
    mastery: MasteryCondition | None


@strawberry.type(description=_gql(rules.CompositeRule.__doc__))
class CompositeAwardRule:
    achievement_ids: list[uuid.UUID]
    min_earned: int | None = strawberry.field(description=_doc(rules.CompositeRule, "min_earned"))


AwardRule = Annotated[
    EvidenceAwardRule | CompositeAwardRule,
    strawberry.union("AwardRule", description="An award rule: evidence or composite."),
]


def award_rule(stored: dict[str, Any]) -> EvidenceAwardRule | CompositeAwardRule | None:
    """The typed form of a stored rule (None: no rule, awarded by hand only)."""
    if not stored:
        return None
    rule = rules.parse_rule(stored)
    if isinstance(rule, rules.CompositeRule):
        return CompositeAwardRule(achievement_ids=list(rule.achievement_ids), min_earned=rule.min_earned)
    mastery = rule.mastery
    return EvidenceAwardRule(
        competency_ids=list(rule.competency_ids),
        per_competency=rule.per_competency,
        min_level=rule.min_level,
        min_score_ratio=rule.min_score_ratio,
        min_count=rule.min_count,
        min_distinct_contexts=rule.min_distinct_contexts,
        min_distinct_sessions=rule.min_distinct_sessions,
        window_days=rule.window_days,
        observed_from=rule.observed_from,
        observed_until=rule.observed_until,
        self_assessment_alone=rule.self_assessment_alone,
        allowed_sources=None
        if rule.allowed_sources is None
        else [EvidenceSource(x) for x in rule.allowed_sources],
        required_sources=[
            RequiredSources(sources=[EvidenceSource(x) for x in g.sources], min=g.min)
            for g in rule.required_sources
        ],
        mastery=None
        if mastery is None
        else MasteryCondition(
            method=MasteryMethod(mastery.method), decay=mastery.decay, min_level=mastery.min_level
        ),
    )


@strawberry.type(description="What a learner can earn, with the rule that awards it.")
class Achievement:
    id: uuid.UUID
    framework_id: uuid.UUID | None
    title: str
    description: str
    criteria: str
    achievement_type: str
    image_url: str | None
    tags: list[str]
    rule: JSON = strawberry.field(
        description="the award rule as a JSON document with snake_case keys; {} for manual only "
        "(`awardRule` is the same rule, typed)"
    )
    rule_version: int
    award_mode: AwardMode
    status: AchievementStatus
    created_at: datetime
    updated_at: datetime

    @field(description="The award rule, typed (levels as positions); null when awarded by hand only.")
    def award_rule(self) -> AwardRule | None:
        return award_rule(cast(dict[str, Any], self.rule))

    @field(description="The framework the achievement belongs to, if any (needs frameworks:read).")
    async def framework(self, info: Info) -> Framework | None:
        if self.framework_id is None:
            return None
        principal = info.context.require("frameworks:read")
        row = await info.context.framework_loaders(principal).framework.load(self.framework_id)
        return None if row is None else Framework.from_model(row)

    @classmethod
    def from_model(cls, row: models.Achievement) -> Self:
        return cls(
            id=row.id,
            framework_id=row.framework_id,
            title=row.title,
            description=row.description,
            criteria=row.criteria,
            achievement_type=row.achievement_type,
            image_url=row.image_url,
            tags=list(row.tags),
            rule=_json(row.rule),
            rule_version=row.rule_version,
            award_mode=AwardMode(row.award_mode),
            status=AchievementStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


async def _achievement(info: Info, achievement_id: uuid.UUID) -> Achievement | None:
    principal = info.context.require(READ)
    row = await info.context.award_loaders(principal).achievement.load(achievement_id)
    return None if row is None else Achievement.from_model(row)


async def award_by_id(info: Info, award_id: uuid.UUID) -> Award | None:
    """One award through the per-request loader (None when it is not the caller's tenant's)."""
    principal = info.context.require(READ)
    read = await info.context.award_loaders(principal).award.load(award_id)
    return None if read is None else Award.from_read(read)


async def _learner(info: Info, learner_id: uuid.UUID) -> Person | None:
    principal = info.context.require("roster:read")
    read = await info.context.loaders(principal).person.load(learner_id)
    return None if read is None else Person.from_read(read)


@strawberry.type(description="A learner earned (or awaits review for) an achievement; one per pair.")
class Award:
    id: uuid.UUID
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    status: AwardStatus
    method: AwardMethod
    rule_version: int | None = strawberry.field(description="the version of the rule that was met")
    evidence_ids: list[uuid.UUID]
    needs_review: bool = strawberry.field(description="evidence it relied on was withdrawn or corrected")
    review_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    awarded_at: datetime | None
    credential_id: uuid.UUID | None
    issuance_status: str = strawberry.field(
        description="the Open Badges credential: waiting (not issued yet), issued, or revoked"
    )
    created_at: datetime

    @field(description="The learner (needs roster:read).")
    async def learner(self, info: Info) -> Person | None:
        return await _learner(info, self.learner_id)

    @field(description="The achievement awarded.")
    async def achievement(self, info: Info) -> Achievement | None:
        return await _achievement(info, self.achievement_id)

    @field(description="The evidence that met the rule (needs evidence:read).")
    async def evidence(self, info: Info) -> list[Evidence]:
        principal = info.context.require("evidence:read")
        rows = await info.context.award_loaders(principal).evidence.load_many(self.evidence_ids)
        return [Evidence.from_model(e) for e in rows if e is not None]

    @classmethod
    def from_read(cls, read: AwardRead) -> Self:
        return cls(
            id=read.id,
            learner_id=read.learner_id,
            achievement_id=read.achievement_id,
            status=AwardStatus(read.status),
            method=AwardMethod(read.method),
            rule_version=read.rule_version,
            evidence_ids=list(read.evidence_ids),
            needs_review=read.needs_review,
            review_reason=read.review_reason,
            decided_by=read.decided_by,
            decided_at=read.decided_at,
            awarded_at=read.awarded_at,
            credential_id=read.credential_id,
            issuance_status=read.issuance_status,
            created_at=read.created_at,
        )


@strawberry.type(description="A learner's current level in one competency.")
class CompetencyLevel:
    competency_id: uuid.UUID
    framework_id: uuid.UUID
    title: str
    level: float | None = strawberry.field(description="current level by the mastery method (scale position)")
    level_title: str | None
    evidence_count: int

    @field(description="The competency (needs frameworks:read).")
    async def competency(self, info: Info) -> Competency | None:
        principal = info.context.require("frameworks:read")
        row = await info.context.framework_loaders(principal).competency.load(self.competency_id)
        return None if row is None else Competency.from_model(row)

    @classmethod
    def from_read(cls, read: schemas.CompetencyLevel) -> Self:
        return cls(
            competency_id=read.competency_id,
            framework_id=read.framework_id,
            title=read.title,
            level=read.level,
            level_title=read.level_title,
            evidence_count=read.evidence_count,
        )


@strawberry.type(description="Progress toward one achievement: earned, or why not yet.")
class AchievementProgress:
    achievement_id: uuid.UUID
    title: str
    earned: bool
    award_status: AwardStatus | None
    reasons: list[str] = strawberry.field(description="why it is not earned yet (empty once earned)")
    progress: JSON = strawberry.field(description="the rule's counts so far (e.g. pieces met / needed)")

    @field(description="The achievement.")
    async def achievement(self, info: Info) -> Achievement | None:
        return await _achievement(info, self.achievement_id)

    @classmethod
    def from_read(cls, read: schemas.AchievementProgress) -> Self:
        return cls(
            achievement_id=read.achievement_id,
            title=read.title,
            earned=read.earned,
            award_status=AwardStatus(read.award_status) if read.award_status else None,
            reasons=list(read.reasons),
            progress=_json(read.progress),
        )


@strawberry.type(description="A learner's current level per competency and progress toward each achievement.")
class LearnerProgress:
    learner_id: uuid.UUID
    method: MasteryMethod
    competencies: list[CompetencyLevel]
    achievements: list[AchievementProgress]

    @field(description="The learner (needs roster:read).")
    async def learner(self, info: Info) -> Person | None:
        return await _learner(info, self.learner_id)

    @classmethod
    def from_read(cls, read: schemas.LearnerProgress) -> Self:
        return cls(
            learner_id=read.learner_id,
            method=MasteryMethod(read.method),
            competencies=[CompetencyLevel.from_read(c) for c in read.competencies],
            achievements=[AchievementProgress.from_read(a) for a in read.achievements],
        )


@strawberry.type(description="A column of the class view.")
class ProgressCompetency:
    id: uuid.UUID
    title: str
    code: str | None


@strawberry.type(description="One learner's current level in one competency.")
class ProgressCell:
    competency_id: uuid.UUID
    level: float | None
    level_title: str | None
    evidence_count: int


@strawberry.type(description="One learner's row of the class view: a cell per competency, in column order.")
class ProgressRow:
    learner_id: uuid.UUID
    given_name: str
    family_name: str
    cells: list[ProgressCell]


@strawberry.type(description="The teacher's roster view: every learner of the class x every competency.")
class ClassProgress:
    class_id: uuid.UUID
    method: MasteryMethod
    competencies: list[ProgressCompetency]
    learners: list[ProgressRow]

    @field(name="class", description="The class (needs roster:read).")
    async def class_(self, info: Info) -> Class | None:
        principal = info.context.require("roster:read")
        row = await info.context.loaders(principal).klass.load(self.class_id)
        return None if row is None else Class.from_model(row)

    @classmethod
    def from_read(cls, read: schemas.ClassProgress) -> Self:
        return cls(
            class_id=read.class_id,
            method=MasteryMethod(read.method),
            competencies=[
                ProgressCompetency(id=uuid.UUID(str(c["id"])), title=str(c["title"]), code=c.get("code"))
                for c in read.competencies
            ],
            learners=[
                ProgressRow(
                    learner_id=r.learner_id,
                    given_name=r.given_name,
                    family_name=r.family_name,
                    cells=[
                        ProgressCell(
                            competency_id=c.competency_id,
                            level=c.level,
                            level_title=c.level_title,
                            evidence_count=c.evidence_count,
                        )
                        for c in r.cells
                    ],
                )
                for r in read.learners
            ],
        )


# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(
    one_of=True,
    description="A rubric level of the rule's competencies' framework, by exactly one of: its position "
    "(0 = lowest), its id, or its title (case-insensitive). Stored as the position.",
)
class RubricLevelRef:
    position: int | None = strawberry.UNSET
    id: uuid.UUID | None = strawberry.UNSET
    title: str | None = strawberry.UNSET


@strawberry.input(description=_gql(rules.RequiredSources.__doc__))
class RequiredSourcesInput:
    sources: list[EvidenceSource]
    min: int | None = strawberry.field(default=strawberry.UNSET, description="default 1")


@strawberry.input(description=_gql(rules.MasteryInput.__doc__))
class MasteryConditionInput:
    method: MasteryMethod
    min_level: RubricLevelRef
    decay: float | None = strawberry.field(
        default=strawberry.UNSET, description=_doc(rules.MasteryInput, "decay") + "; default 0.65"
    )


def _opt(name: str, default: str | None = None) -> Any:
    """An optional rule input field described as in the OpenAPI document."""
    text = _doc(rules.EvidenceRuleInput, name)
    return strawberry.field(
        default=strawberry.UNSET, description=text + (f"; default {default}" if default else "")
    )


@strawberry.input(description=_gql(rules.EvidenceRuleInput.__doc__))
class EvidenceRuleInput:
    competency_ids: list[uuid.UUID] = strawberry.field(
        description=_doc(rules.EvidenceRuleInput, "competency_ids")
    )
    min_level: RubricLevelRef | None = strawberry.field(
        default=strawberry.UNSET, description="the level a piece must reach to qualify"
    )
    min_score_ratio: float | None = _opt("min_score_ratio")
    min_count: int | None = _opt("min_count", "1")
    min_distinct_contexts: int | None = _opt("min_distinct_contexts", "0")
    min_distinct_sessions: int | None = _opt("min_distinct_sessions", "0")
    per_competency: bool | None = _opt("per_competency", "false")
    window_days: int | None = _opt("window_days")
    observed_from: datetime | None = _opt("observed_from")
    observed_until: datetime | None = _opt("observed_until")
    self_assessment_alone: bool | None = _opt("self_assessment_alone")
    allowed_sources: list[EvidenceSource] | None = _opt("allowed_sources")
    required_sources: list[RequiredSourcesInput] | None = _opt("required_sources")
    mastery: MasteryConditionInput | None = _opt("mastery")


@strawberry.input(description=_gql(rules.CompositeRule.__doc__))
class CompositeRuleInput:
    achievement_ids: list[uuid.UUID] = strawberry.field(
        description=_doc(rules.CompositeRule, "achievement_ids")
    )
    min_earned: int | None = strawberry.field(
        default=strawberry.UNSET, description=_doc(rules.CompositeRule, "min_earned")
    )


@strawberry.input(one_of=True, description="An award rule: exactly one of an evidence or a composite rule.")
class AwardRuleInput:
    evidence: EvidenceRuleInput | None = strawberry.UNSET
    composite: CompositeRuleInput | None = strawberry.UNSET


_RULE_JSON = "the award rule as a JSON document with snake_case keys (the REST form); prefer `awardRule`"


@strawberry.input
class CreateAchievementInput:
    title: str
    description: str
    criteria: str = strawberry.field(description="what a learner must show, in words")
    achievement_type: str | None = strawberry.UNSET
    framework_id: uuid.UUID | None = strawberry.UNSET
    image_url: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    award_rule: AwardRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="the award rule; none: awarded by hand only (awardMode MANUAL)"
    )
    rule: JSON | None = strawberry.field(
        default=strawberry.UNSET, description=_RULE_JSON, deprecation_reason="use awardRule"
    )
    award_mode: AwardMode | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change; a new rule gets a new rule version.")
class UpdateAchievementInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    criteria: str | None = strawberry.UNSET
    image_url: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    award_rule: AwardRuleInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="a new rule (a new ruleVersion); null removes the rule (needs awardMode MANUAL)",
    )
    rule: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description=_RULE_JSON + "; null removes the rule (needs awardMode MANUAL)",
        deprecation_reason="use awardRule",
    )
    award_mode: AwardMode | None = strawberry.UNSET
    status: AchievementStatus | None = strawberry.UNSET


@strawberry.input
class ManualAwardInput:
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    reason: str
    evidence_ids: list[uuid.UUID] | None = strawberry.UNSET


@strawberry.input
class AwardDecisionInput:
    decision: Decision
    reason: str | None = strawberry.UNSET


@strawberry.input(description="Filters of `awards`; all given ones must match.")
class AwardFilter:
    learner_id: uuid.UUID | None = None
    achievement_id: uuid.UUID | None = None
    status: AwardStatus | None = None
    needs_review: bool | None = None


def _rule_errors(exc: InvalidRule, prefix: str = "input.rule") -> InvalidRule:
    """Rule errors name the field the client wrote: under ``input.awardRule.evidence`` in camelCase
    (``...minCount``) for the typed input; the JSON document's own snake_case keys under ``input.rule``
    (``input.rule.competency_ids``)."""
    for i, err in enumerate(exc.errors):
        if not err.loc.startswith("body.rule"):
            continue
        rest = [p for p in err.loc.removeprefix("body.rule").split(".") if p]
        if prefix != "input.rule":
            rest = [to_camel_case(p) for p in rest]
        exc.errors[i] = type(err)(".".join([prefix, *rest]), err.message, err.type)
    return exc


def _level_ref(ref: dict[str, Any]) -> Any:
    """``{position: 2}`` / ``{id: ...}`` / ``{title: ...}`` as the rule document's ``min_level``."""
    return next(iter(v for v in ref.values() if v is not None), None)


def _drop_nulls(values: dict[str, Any]) -> dict[str, Any]:
    """An explicit null in the typed rule means "not given" (the default applies)."""
    return {k: _drop_nulls(v) if isinstance(v, dict) else v for k, v in values.items() if v is not None}


def _achievement_values(data: CreateAchievementInput | UpdateAchievementInput) -> tuple[dict[str, Any], str]:
    """The REST body's values from the input, the rule taken from ``awardRule`` or ``rule``; and where
    rule errors are named."""
    values = input_values(data)
    typed = values.pop("award_rule", strawberry.UNSET)
    if typed is strawberry.UNSET:
        return values, "input.rule"
    if "rule" in values:
        raise invalid("input.awardRule", "give awardRule or rule, not both", "conflict")
    if typed is None:
        values["rule"] = None
        return values, "input.awardRule"
    kind, given = next(iter((k, v) for k, v in typed.items() if v is not None))
    document = _drop_nulls(given)
    if "min_level" in document:
        document["min_level"] = _level_ref(document["min_level"])
    if isinstance(document.get("mastery"), dict) and "min_level" in document["mastery"]:
        document["mastery"]["min_level"] = _level_ref(document["mastery"]["min_level"])
    values["rule"] = {"type": kind, **document}
    return values, f"input.awardRule.{kind}"


# -- operations ---------------------------------------------------------------------------------


@strawberry.type
class AwardsQuery:
    @field(description="Achievements (awards:read).")
    async def achievements(
        self,
        info: Info,
        framework_id: uuid.UUID | None = None,
        status: AchievementStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Achievement] | None:
        principal = info.context.require(READ)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.awards(principal).list_achievements(
                page, framework_id=framework_id, status=enum_value(status)
            ),
            Achievement.from_model,
        )

    @field(description="An achievement (awards:read); NOT_FOUND otherwise.")
    async def achievement(self, info: Info, id: uuid.UUID) -> Achievement | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Achievement.from_model(await info.context.awards(principal).get_achievement(id))

    @field(description="Awards (awards:read).")
    async def awards(
        self,
        info: Info,
        filter: AwardFilter | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="cursor paging: the `next` of the page before (same filters); not with `offset`"
            ),
        ] = None,
    ) -> CursorPage[Award] | None:
        principal = info.context.require(READ)
        flt = filter or AwardFilter()
        return await cursor_paged(
            info,
            limit,
            offset,
            after,
            lambda page, cursor: info.context.awards(principal).list_awards(
                page,
                after=cursor,
                learner_id=flt.learner_id,
                achievement_id=flt.achievement_id,
                status=enum_value(flt.status),
                needs_review=flt.needs_review,
            ),
            Award.from_read,
        )

    @field(description="An award (awards:read); NOT_FOUND otherwise.")
    async def award(self, info: Info, id: uuid.UUID) -> Award | None:
        principal = info.context.require(READ)
        service = info.context.awards(principal)
        async with info.context.db_lock:
            read = (await service.read_awards([await service.get_award(id)]))[0]
        return Award.from_read(read)

    @field(
        description=(
            "A learner's current level per competency and progress toward each achievement, with the "
            "reasons one is not earned yet (awards:read); NOT_FOUND for an unknown learner."
        )
    )
    async def learner_progress(
        self, info: Info, learner_id: uuid.UUID, method: MasteryMethod = MasteryMethod.MOST_RECENT
    ) -> LearnerProgress | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            read = await info.context.awards(principal).learner_progress(learner_id, method=method.value)
        return LearnerProgress.from_read(read)

    @field(
        description=(
            "The teacher's roster view: every learner of the class x every competency of the published "
            "frameworks (or of one framework) (awards:read); NOT_FOUND for an unknown class."
        )
    )
    async def class_progress(
        self,
        info: Info,
        class_id: uuid.UUID,
        framework_id: uuid.UUID | None = None,
        method: MasteryMethod = MasteryMethod.MOST_RECENT,
    ) -> ClassProgress | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            await info.context.roster(principal).get_class(class_id)
            read = await info.context.awards(principal).class_progress(
                class_id, framework_id=framework_id, method=method.value
            )
        return ClassProgress.from_read(read)


@strawberry.type
class AwardsMutation:
    @mutation(description="Create an achievement with its award rule (awards:write).")
    async def create_achievement(self, info: Info, input: CreateAchievementInput) -> Achievement:
        principal = info.context.require(WRITE)
        values, rule_loc = _achievement_values(input)
        data = validate_values(AchievementCreate, values)
        try:
            async with info.context.db_lock:
                row = await info.context.awards(principal).create_achievement(data)
        except InvalidRule as exc:
            raise _rule_errors(exc, rule_loc) from None
        info.context.forget_loaders()
        return Achievement.from_model(row)

    @mutation(description="Update an achievement; a changed rule gets a new rule version (awards:write).")
    async def update_achievement(
        self, info: Info, id: uuid.UUID, input: UpdateAchievementInput
    ) -> Achievement:
        principal = info.context.require(WRITE)
        values, rule_loc = _achievement_values(input)
        data = validate_values(AchievementUpdate, values)
        try:
            async with info.context.db_lock:
                row = await info.context.awards(principal).update_achievement(id, data)
        except InvalidRule as exc:
            raise _rule_errors(exc, rule_loc) from None
        info.context.forget_loaders()
        return Achievement.from_model(row)

    @mutation(description="Award an achievement by hand (awards:write); CONFLICT if the learner has it.")
    async def manual_award(
        self,
        info: Info,
        input: ManualAwardInput,
        idempotency_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
    ) -> Award:
        principal = info.context.require(WRITE)
        data = validate_input(ManualAward, input)
        once = Idempotency(info, principal, "manualAward", idempotency_key, data.model_dump(mode="json"))
        service = info.context.awards(principal)
        async with info.context.db_lock:
            first = await once.replay()
            if first is not None:
                award = await service.get_award(uuid.UUID(first["id"]))
            else:
                award = await service.manual_award(data, decided_by=principal.client_id)
                await once.remember({"id": str(award.id)})
            read = (await service.read_awards([award]))[0]
        info.context.forget_loaders()
        return Award.from_read(read)

    @mutation(
        description=(
            "Approve or reject a pending award; keep or revoke an awarded one flagged for review "
            "(awards:write)."
        )
    )
    async def decide_award(self, info: Info, id: uuid.UUID, input: AwardDecisionInput) -> Award:
        principal = info.context.require(WRITE)
        data = validate_input(AwardDecision, input)
        service = info.context.awards(principal)
        async with info.context.db_lock:
            award = await service.decide(id, data, decided_by=principal.client_id)
            read = (await service.read_awards([award]))[0]
        info.context.forget_loaders()
        return Award.from_read(read)
