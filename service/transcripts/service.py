"""Transcript use cases: generate (one learner or a cohort), read, list, revoke. Services flush, never
commit.

A transcript is stored twice over, on purpose: its signed ClrCredential is an ``issued_credentials``
row (same id, ``source_key`` ``transcript:<id>``) so that it takes a random index of the district's
Bitstring Status Lists and is revoked exactly like a badge; the ``transcripts`` row records what it was
built from (learner, Portrait version, as-of date, options, partial and why).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.documents import LearnerInfo, cf_item_url, learner_urn, status_list_url
from service.badges.errors import IssuerKeyUnavailable
from service.badges.issuance import MAX_INDEX_DRAWS, CredentialService
from service.badges.issuers import IssuerContext, IssuerService
from service.badges.models import IssuedCredential, StatusList
from service.badges.repository import BadgeRepository
from service.badges.signing import run_in_pool
from service.badges.status_lists import StatusListService
from service.config import Settings
from service.credentials import BitstringStatusListEntry
from service.credentials.models import OpenBadgeCredential
from service.errors import FieldError, ServiceError
from service.frameworks.models import Framework
from service.jobs.models import Job
from service.jobs.service import JobService
from service.roster.models import Person
from service.schemas import PageParams
from service.transcripts import documents, signing
from service.transcripts.academic import CourseRecordInfo, course_records_for_learners
from service.transcripts.errors import (
    CohortTooLarge,
    InvalidTranscriptRequest,
    LearnerNotFound,
    TranscriptNotFound,
    TranscriptRevoked,
)
from service.transcripts.models import Transcript
from service.transcripts.repository import (
    TRANSCRIPT_KEY_PREFIX,
    PublicTranscriptRepository,
    TranscriptRepository,
)
from service.transcripts.schemas import (
    MAX_COHORT,
    TranscriptBatch,
    TranscriptDetail,
    TranscriptOptions,
    TranscriptRead,
)
from service.transcripts.signing import Keys
from service.webhooks.service import WebhookService

BATCH_KIND = "transcripts.generate_batch"
AREA = "transcripts"


def transcript_read(transcript: Transcript, row: IssuedCredential, public_url: str) -> TranscriptRead:
    url = documents.transcript_url(public_url, transcript.id)
    return TranscriptRead(
        id=url,
        uuid=transcript.id,
        learner_id=transcript.learner_id,
        status="revoked" if row.revoked_at is not None else "active",
        partial=transcript.partial,
        partial_reasons=list(transcript.partial_reasons),
        as_of=transcript.as_of,
        framework_id=transcript.framework_id,
        framework_version=transcript.framework_version,
        options=dict(transcript.options),
        counts=dict(transcript.counts),
        job_id=transcript.job_id,
        issued_at=transcript.issued_at,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        status_list_credential=status_list_url(public_url, row.status_list_id),
        status_list_index=row.status_index,
        jwt_url=url + ".jwt",
    )


def transcript_detail(transcript: Transcript, row: IssuedCredential, public_url: str) -> TranscriptDetail:
    return TranscriptDetail(
        **transcript_read(transcript, row, public_url).model_dump(),
        credential=json.loads(row.document),
        jwt=row.jwt,
    )


@dataclass
class _Facts:
    """Everything a cohort's transcripts are built from, read with a fixed number of queries."""

    as_of: date
    until: datetime
    framework: Framework | None
    portrait: documents.Portrait | None
    learners: dict[uuid.UUID, Person]
    levels: dict[tuple[uuid.UUID, uuid.UUID], tuple[int, bool]]
    self_assessed: set[uuid.UUID]
    badges: dict[uuid.UUID, list[str]]
    courses: dict[uuid.UUID, list[CourseRecordInfo]]
    records: dict[tuple[uuid.UUID, str, str, str], str]


@dataclass
class _Plan:
    """One learner's transcript before signing: what goes in it, and the records still to sign."""

    person: Person
    learner: LearnerInfo
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "badges": 0,
            "competency_levels": 0,
            "courses": 0,
            "records_signed": 0,
            "records_reused": 0,
        }
    )
    reasons: list[str] = field(default_factory=list)
    courses: list[CourseRecordInfo] = field(default_factory=list)
    #: The nested credentials in order; ``None`` where a pending record goes once signed.
    nested: list[dict[str, Any] | None] = field(default_factory=list)
    #: (position in ``nested``, reuse key, unsigned record, its row without the document)
    pending: list[tuple[int, tuple[uuid.UUID, str, str, str], OpenBadgeCredential, dict[str, Any]]] = field(
        default_factory=list
    )
    new_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Generated:
    transcript: Transcript
    credential: IssuedCredential
    signed_records: int = 0
    reused_records: int = 0


@dataclass
class _Timing:
    """Where generation time goes (figures for the benchmark)."""

    seconds: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "records": 0.0, "sign": 0.0})


class TranscriptService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.repo = TranscriptRepository(session, tenant_id)
        self.badges = BadgeRepository(session, tenant_id)
        self.issuers = IssuerService(session, tenant_id, settings)
        self.status_lists = StatusListService(session, tenant_id, settings)
        self.status_lists.issuers = self.issuers
        self.choose_index = secrets.randbelow
        self.timing = _Timing()

    # -- reading -------------------------------------------------------------------------------------

    async def get(self, transcript_id: uuid.UUID) -> tuple[Transcript, IssuedCredential]:
        found = await self.repo.get(transcript_id)
        if found is None:
            raise TranscriptNotFound(f"transcript {transcript_id} not found")
        return found

    async def list_transcripts(
        self,
        page: PageParams,
        *,
        learner_id: uuid.UUID | None = None,
        job_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> tuple[list[TranscriptRead], int]:
        rows, total = await self.repo.list(page, learner_id=learner_id, job_id=job_id, status=status)
        return [transcript_read(t, c, self.settings.public_url) for t, c in rows], total

    # -- generating ----------------------------------------------------------------------------------

    def _as_of(self, options: TranscriptOptions) -> date:
        today = datetime.now(UTC).date()
        as_of = options.as_of or today
        if as_of > today:
            raise InvalidTranscriptRequest(
                "as_of may not be in the future",
                [FieldError("body.as_of", f"{as_of.isoformat()} is after today ({today.isoformat()})")],
            )
        return as_of

    async def _portrait(
        self, options: TranscriptOptions
    ) -> tuple[Framework | None, documents.Portrait | None]:
        framework = await self.repo.framework(options.framework_id)
        if options.framework_id is not None and framework is None:
            raise InvalidTranscriptRequest(
                "unknown framework",
                [
                    FieldError(
                        "body.framework_id", f"unknown framework {options.framework_id}", "invalid_reference"
                    )
                ],
            )
        if framework is None:
            return None, None
        attributes, competencies, levels, descriptors = await self.repo.framework_parts(framework.id)
        portrait = documents.Portrait(
            id=framework.id,
            title=framework.title,
            version=framework.version,
            kind=framework.kind,
            description=framework.description,
            attributes=[
                documents.AttributeNode(id=a.id, title=a.title, description=a.description, code=a.code)
                for a in attributes
            ],
            competencies=[
                documents.CompetencyNode(
                    id=c.id,
                    title=c.title,
                    statement=c.statement,
                    code=c.code,
                    attribute_id=c.attribute_id,
                    parent_id=c.parent_id,
                    look_fors=list(c.look_fors or []),
                    descriptors=descriptors.get(c.id, {}),
                )
                for c in competencies
            ],
            levels=[
                documents.Level(
                    id=lv.id,
                    position=lv.position,
                    title=lv.title,
                    description=lv.description,
                    proficient=lv.proficient,
                )
                for lv in levels
            ],
        )
        return framework, portrait

    async def _facts(self, learner_ids: Sequence[uuid.UUID], options: TranscriptOptions) -> _Facts:
        started = time.perf_counter()
        as_of = self._as_of(options)
        until = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        framework, portrait = await self._portrait(options)
        learners = await self.repo.learners(learner_ids)
        ids = [i for i in learner_ids if i in learners]
        competency_ids = [c.id for c in portrait.competencies] if portrait else []
        facts = _Facts(
            as_of=as_of,
            until=until,
            framework=framework,
            portrait=portrait,
            learners=learners,
            levels=await self.repo.best_levels(
                ids, competency_ids, until=until, include_self_assessments=options.include_self_assessments
            ),
            self_assessed=(
                set()
                if options.include_self_assessments
                else await self.repo.self_assessed_learners(ids, until)
            ),
            badges=await self.repo.badges(ids, until),
            courses=await course_records_for_learners(
                self.session, self.tenant_id, ids, include_in_progress=True
            ),
            records=await self.repo.records(ids),
        )
        self.timing.seconds["read"] += time.perf_counter() - started
        return facts

    def _record(
        self,
        facts: _Facts,
        plan: _Plan,
        kind: str,
        source_ref: str,
        unsigned: OpenBadgeCredential,
        now: datetime,
    ) -> None:
        """The signed record: the stored one while what it says is unchanged, else one to sign."""
        learner = plan.learner
        digest = documents.record_hash(unsigned.to_json(), learner)
        key = (learner.id, kind, source_ref, digest)
        stored = facts.records.get(key)
        if stored is not None:
            plan.counts["records_reused"] += 1
            plan.nested.append(orjson.loads(stored))
            return
        plan.nested.append(None)
        plan.pending.append(
            (
                len(plan.nested) - 1,
                key,
                unsigned,
                {
                    "id": uuid.UUID(unsigned.id.removeprefix("urn:uuid:")),
                    "tenant_id": self.tenant_id,
                    "learner_id": learner.id,
                    "kind": kind,
                    "source_ref": source_ref[:255],
                    "content_hash": digest,
                    "created_at": now,
                },
            )
        )

    def _plan(
        self,
        issuer: documents.Issuer,
        facts: _Facts,
        person: Person,
        options: TranscriptOptions,
        now: datetime,
    ) -> _Plan:
        """What one learner's transcript holds (no signing, no I/O): badges, the stored records reused and
        the records to sign, the partial reasons."""
        learner = LearnerInfo(id=person.id, email=person.email, sourced_id=person.sourced_id)
        plan = _Plan(person=person, learner=learner)
        portrait = facts.portrait
        counts, reasons, nested = plan.counts, plan.reasons, plan.nested
        badges = [orjson.loads(text) for text in facts.badges.get(person.id, [])]
        nested.extend(badges)
        counts["badges"] = len(badges)
        covered = documents.covered_competencies(badges)
        if portrait is None:
            reasons.append("no published Portrait to show")
        else:
            levels_by_position = {lv.position: lv for lv in portrait.levels}
            left_out = not_reached = 0
            for node in portrait.competencies:
                if cf_item_url(issuer.public_url, node.id) in covered:
                    continue
                reached = facts.levels.get((person.id, node.id))
                level = levels_by_position.get(reached[0]) if reached else None
                if level is None:
                    not_reached += 1
                    continue
                if not level.proficient and not options.include_in_progress:
                    left_out += 1
                    continue
                unsigned = documents.level_record(
                    issuer,
                    learner,
                    portrait,
                    node,
                    level,
                    record_id=uuid.uuid4(),
                    now=now,
                    self_assessed=bool(reached and reached[1] and options.include_self_assessments),
                )
                self._record(facts, plan, "competency", str(node.id), unsigned, now)
                counts["competency_levels"] += 1
            if not_reached:
                reasons.append(f"{not_reached} competencies without a level yet")
            if left_out:
                reasons.append(f"{left_out} competencies in progress left out")
        records = [
            r
            for r in facts.courses.get(person.id, [])
            if r.status != "withdrawn" and (r.completed_on is None or r.completed_on <= facts.as_of)
        ]
        if not options.include_courses:
            if records:
                reasons.append(f"{len(records)} course records left out")
        else:
            skipped = 0
            for record in records:
                if record.status == "in_progress" and not options.include_in_progress:
                    skipped += 1
                    continue
                plan.courses.append(record)
                unsigned = documents.course_record(issuer, learner, record, record_id=uuid.uuid4(), now=now)
                self._record(facts, plan, "course", str(record.id), unsigned, now)
            counts["courses"] = len(plan.courses)
            if skipped:
                reasons.append(f"{skipped} courses in progress left out")
        if person.id in facts.self_assessed:
            reasons.append("self-assessments left out of competency levels")
        if not nested:
            # CLR 2.0 requires at least one credential: the learner's (empty) program record.
            unsigned = documents.program_record(issuer, learner, portrait, record_id=uuid.uuid4(), now=now)
            source = str(portrait.id) if portrait else "district"
            self._record(facts, plan, "program", source, unsigned, now)
        return plan

    async def _sign_records(self, keys: Keys, facts: _Facts, plan: _Plan, now: datetime) -> None:
        """Sign the plan's new records (in the signing pool) and put them in place."""
        if not plan.pending:
            return
        processes = self.settings.badges.signing_processes
        kind, value = await run_in_pool(
            signing.sign_records,
            keys,
            [unsigned for _, _, unsigned, _ in plan.pending],
            now,
            processes=processes,
        )
        if kind != "ok":
            raise InvalidTranscriptRequest(f"the transcript cannot be issued: {value}")
        assert isinstance(value, list)
        for (position, key, _, row), text in zip(plan.pending, value, strict=True):
            plan.nested[position] = orjson.loads(text)
            facts.records[key] = text
            plan.new_rows.append({**row, "document": text})
            plan.counts["records_signed"] += 1
        plan.pending = []

    def _notes(self, options: TranscriptOptions) -> list[str]:
        notes = []
        if not options.include_courses:
            notes.append("Courses left out.")
        if not options.include_in_progress:
            notes.append("Work in progress left out.")
        if options.include_self_assessments:
            notes.append("Competency levels count the learner's self-assessments.")
        return notes

    async def _sign_transcript(
        self,
        keys: Keys,
        context: IssuerContext,
        issuer: documents.Issuer,
        facts: _Facts,
        plan: _Plan,
        options: TranscriptOptions,
        status_list: StatusList,
        index: int,
        now: datetime,
        issued_by: str | None,
    ) -> dict[str, Any]:
        """The plan's ClrCredential built, signed (in the signing pool): its ``issued_credentials`` row."""
        started = time.perf_counter()
        portrait = facts.portrait
        transcript_id = uuid.uuid4()
        nested = [item for item in plan.nested if item is not None]
        credential = documents.transcript_credential(
            issuer=issuer,
            transcript_id=transcript_id,
            learner=plan.learner,
            portrait=portrait,
            courses=plan.courses,
            credentials=nested,
            as_of=facts.as_of,
            partial=bool(plan.reasons),
            status=BitstringStatusListEntry(
                status_list_credential=status_list_url(self.settings.public_url, status_list.id),
                status_list_index=index,
            ),
            now=now,
            notes=self._notes(options),
        )
        kind, value = await run_in_pool(
            signing.sign_transcript, keys, credential, now, processes=self.settings.badges.signing_processes
        )
        self.timing.seconds["sign"] += time.perf_counter() - started
        if kind != "ok":
            raise InvalidTranscriptRequest(f"the transcript cannot be issued: {value}")
        assert isinstance(value, tuple)
        text, token = value
        return {
            "id": transcript_id,
            "tenant_id": self.tenant_id,
            "source_key": f"{TRANSCRIPT_KEY_PREFIX}{transcript_id}",
            "learner_id": plan.person.id,
            "achievement_id": None,
            "name": credential.name[:500],
            "issuer_id": context.did,
            "subject_id": learner_urn(self.tenant_id, plan.person.id),
            "status_list_id": status_list.id,
            "status_index": index,
            "document": text,
            "jwt": token,
            "issued_at": now,
            "issued_by": issued_by,
        }

    def _issuer(self, context: IssuerContext) -> documents.Issuer:
        return documents.Issuer(
            public_url=self.settings.public_url,
            tenant_id=self.tenant_id,
            slug=context.tenant.slug,
            name=context.tenant.name,
            profile=context.profile,
        )

    def _transcript(
        self,
        facts: _Facts,
        plan: _Plan,
        options: TranscriptOptions,
        row: dict[str, Any],
        now: datetime,
        job_id: uuid.UUID | None,
        issued_by: str | None,
    ) -> Transcript:
        portrait = facts.portrait
        return Transcript(
            id=row["id"],
            tenant_id=self.tenant_id,
            learner_id=plan.person.id,
            framework_id=portrait.id if portrait else None,
            framework_version=portrait.version if portrait else None,
            as_of=facts.as_of,
            options=options.model_dump(mode="json"),
            partial=bool(plan.reasons),
            partial_reasons=plan.reasons,
            counts=plan.counts,
            job_id=job_id,
            issued_at=now,
            issued_by=issued_by,
        )

    async def _make(
        self,
        learner_ids: Sequence[uuid.UUID],
        options: TranscriptOptions,
        *,
        job_id: uuid.UUID | None,
        issued_by: str | None,
        failures: list[tuple[uuid.UUID, ServiceError]] | None,
    ) -> list[Generated]:
        """Transcripts of ``learner_ids`` from facts read once: every learner's records and transcript
        are signed concurrently in the signing pool (all cores), then everything is stored with a
        fixed number of statements. A learner that cannot get one is put in ``failures`` (when given,
        else its error is raised); nothing of it is stored."""
        facts = await self._facts(learner_ids, options)
        if failures is None:
            for learner_id in learner_ids:
                if learner_id not in facts.learners:  # before the issuer keys (made on first need)
                    raise LearnerNotFound(f"learner {learner_id} not found")
        context = await self.issuers.context()
        keys = Keys.of(context.data_integrity, context.vc_jwt)
        issuer = self._issuer(context)
        now = datetime.now(UTC).replace(microsecond=0)
        plans: list[_Plan] = []
        for learner_id in learner_ids:
            person = facts.learners.get(learner_id)
            try:
                if person is None:
                    raise LearnerNotFound(f"learner {learner_id} not found")
                started = time.perf_counter()
                plans.append(self._plan(issuer, facts, person, options, now))
                self.timing.seconds["records"] += time.perf_counter() - started
            except ServiceError as exc:
                if failures is None:
                    raise
                failures.append((learner_id, exc))
        status_list = await self.status_lists.current()
        drawn: set[int] = set()
        indexes: list[int] = []
        for _ in plans:
            index = self.choose_index(status_list.size)
            while index in drawn and len(drawn) < status_list.size:
                index = self.choose_index(status_list.size)
            drawn.add(index)
            indexes.append(index)

        async def one(plan: _Plan, index: int) -> dict[str, Any]:
            started = time.perf_counter()
            await self._sign_records(keys, facts, plan, now)
            self.timing.seconds["records"] += time.perf_counter() - started
            return await self._sign_transcript(
                keys, context, issuer, facts, plan, options, status_list, index, now, issued_by
            )

        outcomes = await asyncio.gather(
            *(one(plan, index) for plan, index in zip(plans, indexes, strict=True)), return_exceptions=True
        )
        made: list[tuple[_Plan, dict[str, Any]]] = []
        for plan, outcome in zip(plans, outcomes, strict=True):
            if isinstance(outcome, ServiceError) and failures is not None:
                failures.append((plan.person.id, outcome))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                made.append((plan, outcome))
        if not made:
            return []
        await self.repo.insert_records([row for plan, _ in made for row in plan.new_rows])
        inserted = await self.badges.insert_credentials([row for _, row in made])
        stored: list[tuple[_Plan, dict[str, Any]]] = []
        for plan, row in made:
            if row["id"] in inserted:
                self.status_lists.taken(status_list.id)
                stored.append((plan, row))
                continue
            try:  # its status index was taken meanwhile (another process): draw again, sign again
                stored.append(
                    (
                        plan,
                        await self._store_alone(keys, context, issuer, facts, plan, options, now, issued_by),
                    )
                )
            except ServiceError as exc:
                if failures is None:
                    raise
                failures.append((plan.person.id, exc))
        out: list[Generated] = []
        transcripts: list[Transcript] = []
        for plan, row in stored:
            transcript = self._transcript(facts, plan, options, row, now, job_id, issued_by)
            transcripts.append(transcript)
            credential = IssuedCredential.model_validate(row)
            out.append(
                Generated(
                    transcript, credential, plan.counts["records_signed"], plan.counts["records_reused"]
                )
            )
        await self.repo.add(*transcripts)
        await WebhookService(self.session, self.tenant_id).emit_many(
            "transcript.issued", [self._event(item.transcript, item.credential) for item in out]
        )
        return out

    async def _store_alone(
        self,
        keys: Keys,
        context: IssuerContext,
        issuer: documents.Issuer,
        facts: _Facts,
        plan: _Plan,
        options: TranscriptOptions,
        now: datetime,
        issued_by: str | None,
    ) -> dict[str, Any]:
        for _ in range(MAX_INDEX_DRAWS):
            status_list = await self.status_lists.current()
            index = self.choose_index(status_list.size)
            row = await self._sign_transcript(
                keys, context, issuer, facts, plan, options, status_list, index, now, issued_by
            )
            if await self.badges.insert_credential(row):
                self.status_lists.taken(status_list.id)
                return row
        raise IssuerKeyUnavailable("no free status list index found; try again")

    def _event(self, transcript: Transcript, row: IssuedCredential) -> dict[str, Any]:
        return {
            "transcript": {
                "id": documents.transcript_url(self.settings.public_url, transcript.id),
                "uuid": str(transcript.id),
                "learner_id": str(transcript.learner_id),
                "partial": transcript.partial,
                "as_of": transcript.as_of.isoformat(),
                "job_id": str(transcript.job_id) if transcript.job_id else None,
                "status": "revoked" if row.revoked_at else "active",
                "revocation_reason": row.revocation_reason,
            }
        }

    async def generate(
        self, learner_id: uuid.UUID, options: TranscriptOptions, *, issued_by: str | None = None
    ) -> Generated:
        """One learner's transcript, signed and stored."""
        made = await self._make([learner_id], options, job_id=None, issued_by=issued_by, failures=None)
        return made[0]

    async def generate_many(
        self,
        learner_ids: Sequence[uuid.UUID],
        options: TranscriptOptions,
        *,
        job_id: uuid.UUID | None = None,
        issued_by: str | None = None,
        failures: list[tuple[uuid.UUID, ServiceError]] | None = None,
    ) -> list[Generated]:
        """Transcripts of many learners with the same options, from facts read once for all of them,
        signed concurrently in the signing pool."""
        return await self._make(learner_ids, options, job_id=job_id, issued_by=issued_by, failures=failures)

    async def select_cohort(self, data: TranscriptBatch) -> list[uuid.UUID]:
        """The learners a batch names or selects (a page of them with ``offset`` / ``limit``)."""
        if data.learner_ids is not None:
            selected = list(dict.fromkeys(data.learner_ids))
            loc = "body.learner_ids"
        elif data.class_id is not None:
            selected = await self.repo.class_learner_ids(data.class_id)
            loc = "body.class_id"
        else:
            assert data.school_id is not None
            selected = await self.repo.school_learner_ids(data.school_id, data.grade)
            loc = "body.school_id"
        if data.limit is None and len(selected) - data.offset > MAX_COHORT:
            raise CohortTooLarge(
                f"the selection holds {len(selected)} learners; at most {MAX_COHORT} per batch",
                [
                    FieldError(
                        "body.limit",
                        f"{len(selected)} learners selected: page through them with offset and limit "
                        f"(limit at most {MAX_COHORT})",
                        "too_many",
                    )
                ],
            )
        page = selected[data.offset : data.offset + (data.limit or MAX_COHORT)]
        if not page:
            raise InvalidTranscriptRequest(
                "no learners selected", [FieldError(loc, "the selection holds no learners of the district")]
            )
        return page

    async def enqueue_batch(self, data: TranscriptBatch, *, about: dict[str, str] | None = None) -> Job:
        """Queue the cohort's job. ``about`` is kept in the job's params for the people who follow it (the
        console records the school, grade and who started it); the job itself does not read it."""
        learner_ids = await self.select_cohort(data)
        self._as_of(data.options)
        if data.options.framework_id is not None:
            await self._portrait(data.options)
        return await JobService(self.session, self.tenant_id).enqueue(
            BATCH_KIND,
            AREA,
            {
                "learner_ids": [str(i) for i in learner_ids],
                "options": data.options.model_dump(mode="json"),
                **({"about": dict(about)} if about else {}),
            },
        )

    # -- revocation ----------------------------------------------------------------------------------

    async def revoke(
        self, transcript_id: uuid.UUID, reason: str, *, revoked_by: str | None
    ) -> tuple[Transcript, IssuedCredential]:
        transcript, row = await self.get(transcript_id)
        if row.revoked_at is not None:
            raise TranscriptRevoked(f"transcript {transcript_id} is already revoked")
        row = await CredentialService(self.session, self.tenant_id, self.settings).revoke(
            transcript_id, reason, revoked_by=revoked_by
        )
        await WebhookService(self.session, self.tenant_id).emit(
            "transcript.revoked", self._event(transcript, row)
        )
        return transcript, row


@dataclass(frozen=True)
class PublicTranscript:
    transcript: Transcript
    credential: IssuedCredential


class PublicTranscriptService:
    """A transcript by its public, unguessable UUID (no token): the signed JSON and JWS."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.repo = PublicTranscriptRepository(session)
        self.settings = settings

    async def get(self, transcript_id: uuid.UUID) -> PublicTranscript:
        found = await self.repo.get(transcript_id)
        if found is None:
            raise TranscriptNotFound(f"transcript {transcript_id} not found")
        return PublicTranscript(*found)
