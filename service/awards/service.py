"""Award use cases: achievements with validated, versioned rules; incremental evaluation when evidence
arrives; exactly-once awards; review, manual awards; learner and class progress.

Exactly once: ``awards`` has one row per (tenant, learner, achievement), inserted with
ON CONFLICT DO NOTHING; on PostgreSQL evaluation also locks the learners' rows first so that concurrent
evidence for one learner is evaluated serially and each evaluation sees the other's evidence.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards import rules
from service.awards.errors import (
    AchievementNotFound,
    AwardExists,
    AwardNotFound,
    InvalidAwardTransition,
    InvalidRule,
)
from service.awards.facts import EvidenceFact, LearnerFacts, Scale
from service.awards.models import Achievement, Award
from service.awards.repository import AwardRepository, ScaleLevel
from service.awards.rules import MasteryMethod
from service.awards.schemas import (
    AchievementCreate,
    AchievementProgress,
    AchievementUpdate,
    AwardChange,
    AwardDecision,
    AwardRead,
    ClassProgress,
    CompetencyLevel,
    LearnerProgress,
    ManualAward,
    RosterCell,
    RosterRow,
)
from service.db import time_ordered_ids
from service.errors import FieldError, NotFoundError
from service.jobs.models import Job
from service.jobs.service import JobService
from service.schemas import PageParams
from service.webhooks.service import WebhookService

#: The job kind of the tenant-wide batch evaluation (handler in service.awards.jobs).
EVALUATE_KIND = "awards.evaluate"
MASTERY_METHODS = ("highest", "most_recent", "mean", "decaying_average", "mode")


def _scale(levels: Sequence[ScaleLevel]) -> Scale:
    return Scale(tuple(lv.title for lv in sorted(levels, key=lambda lv: lv.position)))


def _triggers(rule: rules.Rule) -> list[tuple[uuid.UUID, str]]:
    if isinstance(rule, rules.CompositeRule):
        return [(a, "achievement") for a in rule.achievement_ids]
    return [(c, "competency") for c in rule.competency_ids]


class AwardService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = AwardRepository(session, tenant_id)
        #: Awards created by this service instance (for events after commit).
        self.created: list[uuid.UUID] = []
        #: Awards this instance created or flagged for review, in order (what a write reports back).
        self.changes: list[AwardChange] = []
        #: Learners this instance has locked in the current transaction (see :meth:`lock_learners`).
        self._locked: set[uuid.UUID] = set()

    async def lock_learners(self, learner_ids: Iterable[uuid.UUID]) -> None:
        """Serialise evaluation per learner (PostgreSQL row locks until the transaction ends); learners
        this instance already locked are not locked again.

        Evidence ingest locks its learners before it inserts the evidence: the foreign key check of each
        inserted row then finds the learner's row locked by this transaction already, and writes no lock
        of its own (a KEY SHARE lock and then this one were two heap writes and two WAL records per
        learner).
        """
        new = set(learner_ids) - self._locked
        if new:
            await self.repo.lock_learners(new)
            self._locked |= new

    def locked(self, learner_ids: Iterable[uuid.UUID]) -> None:
        """These learners' rows were locked as :meth:`lock_learners` does by the caller, in this
        transaction (evidence ingest locks them in the statement that looks them up)."""
        self._locked.update(learner_ids)

    # -- achievements --------------------------------------------------------------------------

    async def _parse_rule(self, data: dict[str, Any], *, self_id: uuid.UUID | None) -> rules.Rule:
        try:
            rule = rules.parse_rule_input(data)
        except ValidationError as exc:
            raise InvalidRule(
                "the award rule is invalid",
                [
                    FieldError(
                        "body.rule." + ".".join(str(p) for p in err["loc"]), str(err["msg"]), str(err["type"])
                    )
                    for err in exc.errors()
                ],
            ) from exc
        if isinstance(rule, rules.CompositeRule):
            found = await self.repo.achievements(rule.achievement_ids)
            missing = [a for a in rule.achievement_ids if a not in found or a == self_id]
            if missing:
                raise InvalidRule(
                    "the composite rule names unknown achievements (or itself)",
                    [
                        FieldError(
                            "body.rule.achievement_ids", f"unknown achievement {m}", "invalid_reference"
                        )
                        for m in missing
                    ],
                )
            if self_id is not None and await self._reaches(rule.achievement_ids, self_id):
                raise InvalidRule(
                    "the composite rule would make a cycle of composites",
                    [
                        FieldError(
                            "body.rule.achievement_ids", "an achievement listed depends on this one", "cycle"
                        )
                    ],
                )
        else:
            found_c = await self.repo.existing_competencies(rule.competency_ids)
            missing = [c for c in rule.competency_ids if c not in found_c]
            if missing:
                raise InvalidRule(
                    "the rule names unknown competencies",
                    [
                        FieldError("body.rule.competency_ids", f"unknown competency {m}", "invalid_reference")
                        for m in missing
                    ],
                )
            return await self._resolve_levels(rule)
        return rule

    async def _resolve_levels(self, rule: rules.EvidenceRuleInput) -> rules.EvidenceRule:
        """Levels named by id or title become positions on the competencies' rubric scale."""
        positions: dict[tuple[str, ...], int] = {}
        named: dict[tuple[str, ...], uuid.UUID | str] = {}
        for loc, ref in rule.level_refs().items():
            if isinstance(ref, int):
                positions[loc] = ref
            else:
                named[loc] = ref
        if named:
            scales = await self.repo.scales(rule.competency_ids)
            levels = {lv.id: lv for c in rule.competency_ids for lv in scales.get(c, [])}.values()
            titles = list(dict.fromkeys(lv.title for lv in sorted(levels, key=lambda lv: lv.position)))
            errors: list[FieldError] = []
            for loc, ref in named.items():
                where = "body.rule." + ".".join(loc)
                if isinstance(ref, uuid.UUID):
                    found = {lv.position for lv in levels if lv.id == ref}
                else:
                    key = ref.strip().casefold()
                    found = {lv.position for lv in levels if lv.title.strip().casefold() == key}
                if not found:
                    known = ", ".join(titles) or "no levels"
                    errors.append(
                        FieldError(
                            where,
                            f"no rubric level {ref} on the scale of the rule's competencies (it has {known})",
                            "invalid_reference",
                        )
                    )
                elif len(found) > 1:
                    errors.append(
                        FieldError(
                            where,
                            f"the competencies' frameworks place level {ref} at different positions; "
                            "give the position",
                            "ambiguous_level",
                        )
                    )
                else:
                    positions[loc] = found.pop()
            if errors:
                raise InvalidRule("the rule names a rubric level its competencies do not have", errors)
        return rule.resolved(positions)

    async def _reaches(self, start: Sequence[uuid.UUID], target: uuid.UUID) -> bool:
        """Whether ``target`` is among the achievements that ``start`` depend on, transitively."""
        seen: set[uuid.UUID] = set()
        frontier = set(start)
        while frontier:
            if target in frontier:
                return True
            seen |= frontier
            nxt: set[uuid.UUID] = set()
            for achievement in (await self.repo.achievements(frontier)).values():
                if achievement.rule.get("type") == "composite":
                    nxt |= {uuid.UUID(str(a)) for a in achievement.rule.get("achievement_ids", [])}
            frontier = nxt - seen
        return False

    async def get_achievement(self, achievement_id: uuid.UUID) -> Achievement:
        achievement = await self.repo.get_achievement(achievement_id)
        if achievement is None:
            raise AchievementNotFound(f"achievement {achievement_id} not found")
        return achievement

    async def achievements_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Achievement]:
        return await self.repo.achievements(ids)

    async def list_achievements(
        self, page: PageParams, *, framework_id: uuid.UUID | None = None, status: str | None = None
    ) -> tuple[Sequence[Achievement], int]:
        return await self.repo.list_achievements(page, framework_id=framework_id, status=status)

    async def create_achievement(self, data: AchievementCreate) -> Achievement:
        if data.framework_id is not None and not await self.repo.framework_exists(data.framework_id):
            raise InvalidRule(
                "unknown framework",
                [
                    FieldError(
                        "body.framework_id", f"unknown framework {data.framework_id}", "invalid_reference"
                    )
                ],
            )
        achievement_id = uuid.uuid4()
        rule = await self._parse_rule(data.rule, self_id=achievement_id) if data.rule is not None else None
        if rule is None and data.award_mode != "manual":
            raise InvalidRule(
                "an achievement without a rule can only be awarded by hand",
                [FieldError("body.award_mode", "must be 'manual' when no rule is given", "invalid")],
            )
        rule_json = rule.model_dump(mode="json") if rule is not None else {}
        achievement = Achievement(
            tenant_id=self.tenant_id,
            id=achievement_id,
            framework_id=data.framework_id,
            title=data.title,
            description=data.description,
            criteria=data.criteria,
            achievement_type=data.achievement_type,
            image_url=str(data.image_url) if data.image_url else None,
            tags=list(data.tags),
            rule=rule_json,
            rule_version=1,
            award_mode=data.award_mode,
        )
        await self.repo.add(achievement)
        await self.repo.add_rule_version(achievement.id, 1, rule_json)
        if rule is not None:
            await self.repo.replace_triggers(achievement.id, _triggers(rule))
        return achievement

    async def update_achievement(self, achievement_id: uuid.UUID, data: AchievementUpdate) -> Achievement:
        achievement = await self.get_achievement(achievement_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("title", "description", "criteria", "tags", "award_mode", "status"):
            if required in changes and changes[required] is None:
                raise InvalidRule(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        if "rule" in changes:
            raw = changes.pop("rule")
            if raw is None:
                if (changes.get("award_mode") or achievement.award_mode) != "manual":
                    raise InvalidRule(
                        "removing the rule needs award_mode 'manual'",
                        [FieldError("body.rule", "null only with award_mode 'manual'", "invalid")],
                    )
                rule_json: dict[str, Any] = {}
                await self.repo.replace_triggers(achievement.id, [])
            else:
                rule = await self._parse_rule(raw, self_id=achievement.id)
                rule_json = rule.model_dump(mode="json")
                await self.repo.replace_triggers(achievement.id, _triggers(rule))
            if rule_json != achievement.rule:
                achievement.rule = rule_json
                achievement.rule_version += 1
                await self.repo.add_rule_version(achievement.id, achievement.rule_version, rule_json)
                if rule_json:
                    # Learners who already meet the new rule get their award without new evidence.
                    await self.enqueue_evaluation(achievement.id)
        if "image_url" in changes and changes["image_url"] is not None:
            changes["image_url"] = str(changes["image_url"])
        for key, value in changes.items():
            setattr(achievement, key, value)
        achievement.updated_at = datetime.now(UTC)
        await self.repo.add(achievement)
        return achievement

    # -- evaluation ----------------------------------------------------------------------------

    async def enqueue_evaluation(self, achievement_id: uuid.UUID | None = None) -> Job:
        """Queue a batch evaluation of every learner of the tenant (runs after commit)."""
        if achievement_id is not None:
            await self.get_achievement(achievement_id)
        params = {"achievement_id": str(achievement_id)} if achievement_id else {}
        return await JobService(self.session, self.tenant_id).enqueue(EVALUATE_KIND, "awards", params)

    async def evaluate_pairs(self, touched: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> int:
        """Evaluate the rules that depend on these (learner, competency) pairs; returns awards made."""
        pairs = set(touched)
        learners = {learner for learner, _ in pairs}
        await self.lock_learners(learners)
        by_competency: dict[uuid.UUID, set[uuid.UUID]] = {}
        for learner, competency in pairs:
            by_competency.setdefault(competency, set()).add(learner)
        achievements = await self.repo.triggered_by(by_competency)
        work: dict[uuid.UUID, set[uuid.UUID]] = {}
        for achievement in achievements:
            rule = rules.parse_rule(achievement.rule)
            if isinstance(rule, rules.CompositeRule):
                continue
            affected = set().union(*(by_competency.get(c, set()) for c in rule.competency_ids))
            if affected:
                work[achievement.id] = affected
        return await self._evaluate(work)

    async def evaluate_learners(
        self, learner_ids: Iterable[uuid.UUID], *, achievement_id: uuid.UUID | None = None
    ) -> int:
        """Evaluate every active rule (or one achievement's) for these learners: the batch pass after a
        rule change or a sync. Safe to repeat: an existing award is never made twice."""
        learners = set(learner_ids)
        await self.lock_learners(learners)
        work = {
            a.id: set(learners)
            for a in await self.repo.active_achievements()
            if a.award_mode != "manual" and a.rule and (achievement_id is None or a.id == achievement_id)
        }
        return await self._evaluate(work)

    async def _evaluate(self, work: dict[uuid.UUID, set[uuid.UUID]]) -> int:
        created = 0
        now = datetime.now(UTC)
        seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
        while work:
            achievements = await self.repo.achievements(work)
            parsed = {a.id: rules.parse_rule(a.rule) for a in achievements.values() if a.rule}
            # Awards first: a learner who already has an achievement needs no evaluation for it, and
            # (in steady state, most do) no evidence loaded for it either.
            existing = await self.repo.award_keys(set().union(*work.values()))
            has: set[tuple[uuid.UUID, uuid.UUID]] = {
                (learner, achievement) for learner, achievement, _ in existing
            }
            earned: dict[uuid.UUID, set[uuid.UUID]] = {}
            for learner, achievement_id, status in existing:
                if status == "awarded":
                    earned.setdefault(learner, set()).add(achievement_id)
            work = {
                a: {
                    learner for learner in learner_set if (learner, a) not in has and (learner, a) not in seen
                }
                for a, learner_set in work.items()
            }
            work = {a: learner_set for a, learner_set in work.items() if learner_set}
            # Each learner's evidence is loaded only for the competencies its pending rules read.
            needs: dict[uuid.UUID, set[uuid.UUID]] = {}
            competencies: set[uuid.UUID] = set()
            for achievement_id, learner_set in work.items():
                rule = parsed.get(achievement_id)
                if isinstance(rule, rules.EvidenceRule):
                    competencies |= set(rule.competency_ids)
                    for learner in learner_set:
                        needs.setdefault(learner, set()).update(rule.competency_ids)
            facts_by_learner: dict[uuid.UUID, list[EvidenceFact]] = {}
            for learner_id, fact in await self.repo.active_facts_for(needs):
                facts_by_learner.setdefault(learner_id, []).append(fact)
            scales = await self.repo.scales(competencies)
            newly: dict[uuid.UUID, set[uuid.UUID]] = {}
            pending: list[dict[str, Any]] = []
            links: dict[uuid.UUID, list[uuid.UUID]] = {}
            # Time-ordered ids: the awards' primary key grows at its right-hand edge (see time_ordered_id).
            award_ids = time_ordered_ids(sum(len(learner_set) for learner_set in work.values()))
            for achievement_id, learner_set in sorted(work.items()):
                achievement = achievements.get(achievement_id)
                rule = parsed.get(achievement_id)
                if achievement is None or rule is None or achievement.status != "active":
                    continue
                scale = None
                if isinstance(rule, rules.EvidenceRule) and rule.competency_ids:
                    scale = _scale(scales.get(rule.competency_ids[0], []))
                for learner in sorted(learner_set):
                    if (learner, achievement_id) in has or (learner, achievement_id) in seen:
                        continue
                    seen.add((learner, achievement_id))
                    facts = LearnerFacts(
                        evidence=facts_by_learner.get(learner, []),
                        earned_achievements=earned.get(learner, set()),
                        now=now,
                    )
                    outcome = rules.evaluate(rule, facts, scale, explain=False)
                    if not outcome.met:
                        continue
                    status = "awarded" if achievement.award_mode == "automatic" else "pending_review"
                    award_id = next(award_ids)
                    pending.append(
                        {
                            "tenant_id": self.tenant_id,
                            "id": award_id,
                            "learner_id": learner,
                            "achievement_id": achievement_id,
                            "status": status,
                            "method": "rule",
                            "rule_version": achievement.rule_version,
                            "reasons": [],
                            "needs_review": False,
                            "awarded_at": now if status == "awarded" else None,
                            "issuance_status": "waiting",
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    if isinstance(rule, rules.EvidenceRule):
                        links[award_id] = list(outcome.satisfied_by)
            # One statement for all awards of this round; rows another transaction inserted first
            # (the unique key on learner + achievement) are skipped and not reported as created.
            inserted = await self.repo.insert_awards(pending)
            await self.repo.link_evidence_many({a: links[a] for a in inserted if a in links})
            await self._emit(
                "award.created", [self.award_event(row) for row in pending if row["id"] in inserted]
            )
            await self._queue_issuance(
                [row["id"] for row in pending if row["id"] in inserted and row["status"] == "awarded"]
            )
            for row in pending:
                if row["id"] not in inserted:
                    continue
                created += 1
                self.created.append(row["id"])
                self.changes.append(
                    AwardChange(
                        award_id=row["id"],
                        learner_id=row["learner_id"],
                        achievement_id=row["achievement_id"],
                        status=row["status"],
                        change="created",
                    )
                )
                if row["status"] == "awarded":
                    newly.setdefault(row["achievement_id"], set()).add(row["learner_id"])
                    earned.setdefault(row["learner_id"], set()).add(row["achievement_id"])
            # Composite achievements that depend on what was just earned.
            work = {}
            if newly:
                for composite in await self.repo.triggered_by(newly):
                    composite_rule = rules.parse_rule(composite.rule)
                    if not isinstance(composite_rule, rules.CompositeRule):
                        continue
                    affected = set().union(*(newly.get(a, set()) for a in composite_rule.achievement_ids))
                    if affected:
                        work[composite.id] = affected
        return created

    @staticmethod
    def award_event(row: dict[str, Any] | Award) -> dict[str, Any]:
        """The ``award.created`` / ``award.updated`` webhook payload."""
        values: dict[str, Any] = row if isinstance(row, dict) else row.model_dump()
        awarded_at = values.get("awarded_at")
        return {
            "award": {
                "id": str(values["id"]),
                "learner_id": str(values["learner_id"]),
                "achievement_id": str(values["achievement_id"]),
                "status": values["status"],
                "method": values["method"],
                "awarded_at": awarded_at.isoformat() if awarded_at else None,
            }
        }

    async def _queue_issuance(self, award_ids: list[uuid.UUID]) -> None:
        """Open Badges issuance of new awards runs as a job queued in this transaction."""
        if award_ids:
            from service.badges.issuance import queue_award_issuance

            await queue_award_issuance(self.session, self.tenant_id, award_ids)

    async def _emit(self, event_type: str, items: list[dict[str, Any]]) -> None:
        if items:
            await WebhookService(self.session, self.tenant_id).emit_many(event_type, items)

    async def flag_for_review(self, evidence_ids: Sequence[uuid.UUID], reason: str) -> list[AwardChange]:
        """Awards that relied on this evidence need an educator's look (never a silent revocation)."""
        flagged = [
            AwardChange(
                award_id=award_id,
                learner_id=learner_id,
                achievement_id=achievement_id,
                status=status,
                change="flagged_for_review",
            )
            for award_id, learner_id, achievement_id, status in await self.repo.flag_awards_using(
                evidence_ids, reason
            )
        ]
        self.changes.extend(flagged)
        return flagged

    # -- awards --------------------------------------------------------------------------------

    async def read_awards(self, awards: Sequence[Award]) -> list[AwardRead]:
        links = await self.repo.evidence_of_awards(a.id for a in awards)
        # Built from the row's typed columns without a second validation (the response is validated
        # against its model once, by FastAPI): a page of 50 cost ~40 us per award through model_dump.
        return [
            AwardRead.model_construct(
                id=a.id,
                learner_id=a.learner_id,
                achievement_id=a.achievement_id,
                status=a.status,  # type: ignore[arg-type]  # the column holds the Literal's values
                method=a.method,  # type: ignore[arg-type]
                rule_version=a.rule_version,
                evidence_ids=links.get(a.id, []),
                needs_review=a.needs_review,
                review_reason=a.review_reason,
                decided_by=a.decided_by,
                decided_at=a.decided_at,
                awarded_at=a.awarded_at,
                credential_id=a.credential_id,
                issuance_status=a.issuance_status,
                created_at=a.created_at,
            )
            for a in awards
        ]

    async def awards_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AwardRead]:
        return {a.id: a for a in await self.read_awards(await self.repo.awards_by_ids(ids))}

    async def get_award(self, award_id: uuid.UUID) -> Award:
        award = await self.repo.get_award(award_id)
        if award is None:
            raise AwardNotFound(f"award {award_id} not found")
        return award

    async def review_queue(
        self,
        page: PageParams,
        *,
        within_orgs: Iterable[uuid.UUID] | None = None,
        within_classes: Iterable[uuid.UUID] | None = None,
    ) -> tuple[list[AwardRead], int]:
        """Awards waiting for a person's approval (pending_review), of the learners in these orgs or
        classes (both None: the whole district), oldest first, with the evidence behind each."""
        rows, total = await self.repo.awards_in_reach(
            page, status="pending_review", within_orgs=within_orgs, within_classes=within_classes
        )
        return await self.read_awards(rows), total

    async def recheck_queue(
        self,
        page: PageParams,
        *,
        within_orgs: Iterable[uuid.UUID] | None = None,
        within_classes: Iterable[uuid.UUID] | None = None,
    ) -> tuple[list[AwardRead], int]:
        """Awards already given (awarded) and flagged for review because evidence behind them was
        withdrawn or corrected, of the learners in these orgs or classes (both None: the whole district),
        oldest first, with the evidence behind each: a person keeps or revokes each."""
        rows, total = await self.repo.awards_in_reach(
            page,
            status="awarded",
            needs_review=True,
            within_orgs=within_orgs,
            within_classes=within_classes,
        )
        return await self.read_awards(rows), total

    async def list_awards(
        self, page: PageParams, *, after: str | None = None, **filters: Any
    ) -> tuple[list[AwardRead], int, str | None]:
        """A page of awards, the count of matches and the cursor of the next page (None: the last)."""
        rows, total, next_cursor = await self.repo.list_awards(page, after=after, **filters)
        return await self.read_awards(rows), total, next_cursor

    async def manual_award(self, data: ManualAward, *, decided_by: str) -> Award:
        await self.get_achievement(data.achievement_id)
        if not await self.repo.learner_exists(data.learner_id):
            raise InvalidRule(
                "unknown learner",
                [FieldError("body.learner_id", f"unknown learner {data.learner_id}", "invalid_reference")],
            )
        owned = await self.repo.evidence_belongs(data.learner_id, data.evidence_ids)
        foreign = [e for e in data.evidence_ids if e not in owned]
        if foreign:
            raise InvalidRule(
                "evidence_ids must be the learner's evidence",
                [
                    FieldError("body.evidence_ids", f"unknown evidence {e}", "invalid_reference")
                    for e in foreign
                ],
            )
        now = datetime.now(UTC)
        award_id = await self.repo.insert_award(
            {
                "tenant_id": self.tenant_id,
                "id": uuid.uuid4(),
                "learner_id": data.learner_id,
                "achievement_id": data.achievement_id,
                "status": "awarded",
                "method": "manual",
                "rule_version": None,
                "reasons": [data.reason],
                "needs_review": False,
                "decided_by": decided_by,
                "decided_at": now,
                "awarded_at": now,
                "issuance_status": "waiting",
                "created_at": now,
                "updated_at": now,
            }
        )
        if award_id is None:
            raise AwardExists(f"learner {data.learner_id} already has achievement {data.achievement_id}")
        await self.repo.link_evidence(award_id, data.evidence_ids)
        self.created.append(award_id)
        award = await self.get_award(award_id)
        await self._emit("award.created", [self.award_event(award)])
        await self._queue_issuance([award_id])
        await self.evaluate_composites_for(data.learner_id, data.achievement_id)
        return await self.get_award(award_id)

    async def evaluate_composites_for(self, learner_id: uuid.UUID, achievement_id: uuid.UUID) -> int:
        work = {c.id: {learner_id} for c in await self.repo.triggered_by([achievement_id])}
        return await self._evaluate(work) if work else 0

    async def decide(
        self, award_id: uuid.UUID, data: AwardDecision, *, decided_by: str, only_flagged: bool = False
    ) -> Award:
        """Record a person's decision. ``only_flagged``: keep/revoke only an award still flagged for
        review (checked under the row lock, so two people re-checking the same badge decide once)."""
        award = await self.repo.get_award(award_id, for_update=True)
        if award is None:
            raise AwardNotFound(f"award {award_id} not found")
        now = datetime.now(UTC)
        if data.decision in ("approve", "reject"):
            if award.status != "pending_review":
                raise InvalidAwardTransition(f"award {award_id} is {award.status}, not pending review")
            award.status = "awarded" if data.decision == "approve" else "rejected"
            award.awarded_at = now if data.decision == "approve" else None
        else:
            if award.status != "awarded":
                raise InvalidAwardTransition(
                    f"award {award_id} is {award.status}; only awarded ones are kept or revoked"
                )
            # Keeping answers a flag: an award not (or no longer) flagged has nothing to keep, and a
            # second keep must not record a second decision. Revoke stays open to any awarded award,
            # except from the console's re-check queue (only_flagged).
            if (only_flagged or data.decision == "keep") and not award.needs_review:
                raise InvalidAwardTransition(
                    f"award {award_id} is awarded and not flagged for review"
                    + ("" if data.decision == "revoke" else "; only a flagged award is kept")
                )
            if data.decision == "revoke":
                award.status = "revoked"
            award.needs_review = False
        award.decided_by = decided_by
        award.decided_at = now
        if data.reason:
            award.reasons = [*award.reasons, data.reason]
        award.updated_at = now
        await self.repo.add(award)
        await self._emit("award.updated", [self.award_event(award)])
        if data.decision == "revoke":
            from service.badges.issuance import queue_award_revocation

            await queue_award_revocation(self.session, self.tenant_id, award.id, data.reason)
        if award.status == "awarded" and data.decision == "approve":
            await self._queue_issuance([award.id])
            await self.evaluate_composites_for(award.learner_id, award.achievement_id)
        return award

    # -- progress ------------------------------------------------------------------------------

    async def learner_progress(
        self, learner_id: uuid.UUID, *, method: MasteryMethod = "most_recent"
    ) -> LearnerProgress:
        if not await self.repo.learner_exists(learner_id):
            raise NotFoundError(f"learner {learner_id} not found")
        competencies = await self.repo.published_competencies()
        achievements = await self.repo.active_achievements()
        rule_comps = {
            c
            for a in achievements
            if a.rule and isinstance(r := rules.parse_rule(a.rule), rules.EvidenceRule)
            for c in r.competency_ids
        }
        facts = [
            f
            for _, f in await self.repo.active_facts([learner_id], {c.id for c in competencies} | rule_comps)
        ]
        scales = await self.repo.scales({c.id for c in competencies} | rule_comps)
        levels: list[CompetencyLevel] = []
        for comp in competencies:
            pieces = [f for f in facts if f.competency_id == comp.id]
            value = rules.mastery_level(method, pieces)
            levels.append(
                CompetencyLevel(
                    competency_id=comp.id,
                    framework_id=comp.framework_id,
                    title=comp.title,
                    level=value,
                    level_title=_level_title(scales.get(comp.id, []), value),
                    evidence_count=len(pieces),
                )
            )
        awards = {a.achievement_id: a for a in await self.repo.awards_for([learner_id])}
        earned = {a for a, award in awards.items() if award.status == "awarded"}
        now = datetime.now(UTC)
        progress: list[AchievementProgress] = []
        for achievement in achievements:
            award = awards.get(achievement.id)
            if achievement.rule:
                rule = rules.parse_rule(achievement.rule)
                scale = None
                if isinstance(rule, rules.EvidenceRule) and rule.competency_ids:
                    scale = _scale(scales.get(rule.competency_ids[0], []))
                outcome = rules.evaluate(
                    rule, LearnerFacts(evidence=facts, earned_achievements=earned, now=now), scale
                )
                reasons, detail = list(outcome.reasons), dict(outcome.progress)
            else:
                reasons, detail = ["awarded by an educator"], {}
            progress.append(
                AchievementProgress(
                    achievement_id=achievement.id,
                    title=achievement.title,
                    earned=award is not None and award.status == "awarded",
                    award_status=award.status if award else None,
                    reasons=[] if award is not None and award.status == "awarded" else reasons,
                    progress=detail,
                )
            )
        return LearnerProgress(
            learner_id=learner_id, method=method, competencies=levels, achievements=progress
        )

    async def class_progress(
        self,
        class_id: uuid.UUID,
        *,
        framework_id: uuid.UUID | None = None,
        method: MasteryMethod = "most_recent",
    ) -> ClassProgress:
        learners = await self.repo.evidence_counts_and_learners(class_id)
        competencies = await self.repo.published_competencies(framework_id)
        facts = await self.repo.active_facts([p.id for p in learners], [c.id for c in competencies])
        scales = await self.repo.scales(c.id for c in competencies)
        cells: dict[tuple[uuid.UUID, uuid.UUID], list[EvidenceFact]] = {}
        for learner_id, fact in facts:
            cells.setdefault((learner_id, fact.competency_id), []).append(fact)
        rows = []
        for person in learners:
            row_cells = []
            for comp in competencies:
                pieces = cells.get((person.id, comp.id), [])
                value = rules.mastery_level(method, pieces)
                row_cells.append(
                    RosterCell(
                        competency_id=comp.id,
                        level=value,
                        level_title=_level_title(scales.get(comp.id, []), value),
                        evidence_count=len(pieces),
                    )
                )
            rows.append(
                RosterRow(
                    learner_id=person.id,
                    given_name=person.given_name,
                    family_name=person.family_name,
                    cells=row_cells,
                )
            )
        return ClassProgress(
            class_id=class_id,
            method=method,
            competencies=[{"id": str(c.id), "title": c.title, "code": c.code} for c in competencies],
            learners=rows,
        )


def _level_title(levels: Sequence[ScaleLevel], value: float | None) -> str | None:
    if value is None or not levels:
        return None
    index = max(0, min(len(levels) - 1, int(value + 1e-9)))
    ordered = sorted(levels, key=lambda lv: lv.position)
    return ordered[index].title
