"""Transcript use cases: generate (one learner or a cohort), read, list, revoke. Services flush, never
commit.

A transcript is stored twice over, on purpose: its signed ClrCredential is an ``issued_credentials``
row (same id, ``source_key`` ``transcript:<id>``) so that it takes a random index of the district's
Bitstring Status Lists and is revoked exactly like a badge; the ``transcripts`` row records what it was
built from (learner, Portrait version, as-of date, options, partial and why).
"""

from __future__ import annotations

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
from service.badges.models import IssuedCredential
from service.badges.repository import BadgeRepository
from service.badges.status_lists import StatusListService
from service.config import Settings
from service.credentials import (
    BitstringStatusListEntry,
    CredentialError,
    issue,
    sign_vc_jwt,
)
from service.credentials.clr import build_clr_credential, sign_clr_data_integrity
from service.errors import FieldError, ServiceError
from service.frameworks.models import Framework
from service.jobs.models import Job
from service.jobs.service import JobService
from service.roster.models import Person
from service.schemas import PageParams
from service.transcripts import documents
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
        context: IssuerContext,
        facts: _Facts,
        learner: LearnerInfo,
        kind: str,
        source_ref: str,
        unsigned: Any,
        now: datetime,
        new_rows: list[dict[str, Any]],
        counts: dict[str, int],
    ) -> dict[str, Any]:
        """The signed record: the stored one while what it says is unchanged, else newly signed."""
        digest = documents.record_hash(unsigned.to_json(), learner)
        key = (learner.id, kind, source_ref, digest)
        stored = facts.records.get(key)
        if stored is not None:
            counts["records_reused"] += 1
            document: dict[str, Any] = orjson.loads(stored)
            return document
        signed = issue(unsigned, context.data_integrity, created=now)
        assert isinstance(signed, dict)
        text = orjson.dumps(signed).decode()
        facts.records[key] = text
        new_rows.append(
            {
                "id": uuid.UUID(unsigned.id.removeprefix("urn:uuid:")),
                "tenant_id": self.tenant_id,
                "learner_id": learner.id,
                "kind": kind,
                "source_ref": source_ref[:255],
                "content_hash": digest,
                "document": text,
                "created_at": now,
            }
        )
        counts["records_signed"] += 1
        return signed

    async def _generate_one(
        self,
        context: IssuerContext,
        facts: _Facts,
        person: Person,
        options: TranscriptOptions,
        *,
        job_id: uuid.UUID | None,
        issued_by: str | None,
    ) -> Generated:
        started = time.perf_counter()
        now = datetime.now(UTC).replace(microsecond=0)
        issuer = documents.Issuer(
            public_url=self.settings.public_url,
            tenant_id=self.tenant_id,
            slug=context.tenant.slug,
            name=context.tenant.name,
            profile=context.profile,
        )
        learner = LearnerInfo(id=person.id, email=person.email, sourced_id=person.sourced_id)
        portrait = facts.portrait
        counts = {"badges": 0, "competency_levels": 0, "courses": 0, "records_signed": 0, "records_reused": 0}
        reasons: list[str] = []
        new_rows: list[dict[str, Any]] = []
        nested: list[dict[str, Any]] = []
        courses: list[CourseRecordInfo] = []
        try:
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
                    nested.append(
                        self._record(
                            context,
                            facts,
                            learner,
                            "competency",
                            str(node.id),
                            unsigned,
                            now,
                            new_rows,
                            counts,
                        )
                    )
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
                    courses.append(record)
                    unsigned = documents.course_record(
                        issuer, learner, record, record_id=uuid.uuid4(), now=now
                    )
                    nested.append(
                        self._record(
                            context, facts, learner, "course", str(record.id), unsigned, now, new_rows, counts
                        )
                    )
                counts["courses"] = len(courses)
                if skipped:
                    reasons.append(f"{skipped} courses in progress left out")
            if person.id in facts.self_assessed:
                reasons.append("self-assessments left out of competency levels")
            if not nested:
                # CLR 2.0 requires at least one credential: the learner's (empty) program record.
                unsigned = documents.program_record(
                    issuer, learner, portrait, record_id=uuid.uuid4(), now=now
                )
                source = str(portrait.id) if portrait else "district"
                nested.append(
                    self._record(context, facts, learner, "program", source, unsigned, now, new_rows, counts)
                )
            self.timing.seconds["records"] += time.perf_counter() - started
            await self.repo.insert_records(new_rows)
            return await self._sign_and_store(
                context,
                issuer,
                facts,
                person,
                learner,
                options,
                nested,
                courses,
                counts,
                reasons,
                now,
                job_id,
                issued_by,
            )
        except CredentialError as exc:
            raise InvalidTranscriptRequest(f"the transcript cannot be issued: {exc}") from exc

    async def _sign_and_store(
        self,
        context: IssuerContext,
        issuer: documents.Issuer,
        facts: _Facts,
        person: Person,
        learner: LearnerInfo,
        options: TranscriptOptions,
        nested: list[dict[str, Any]],
        courses: list[CourseRecordInfo],
        counts: dict[str, int],
        reasons: list[str],
        now: datetime,
        job_id: uuid.UUID | None,
        issued_by: str | None,
    ) -> Generated:
        portrait = facts.portrait
        notes = []
        if not options.include_courses:
            notes.append("Courses left out.")
        if not options.include_in_progress:
            notes.append("Work in progress left out.")
        if options.include_self_assessments:
            notes.append("Competency levels count the learner's self-assessments.")
        for _ in range(MAX_INDEX_DRAWS):
            started = time.perf_counter()
            status_list = await self.status_lists.current()
            index = self.choose_index(status_list.size)
            transcript_id = uuid.uuid4()
            credential = documents.transcript_credential(
                issuer=issuer,
                transcript_id=transcript_id,
                learner=learner,
                portrait=portrait,
                courses=courses,
                credentials=nested,
                as_of=facts.as_of,
                partial=bool(reasons),
                status=BitstringStatusListEntry(
                    status_list_credential=status_list_url(self.settings.public_url, status_list.id),
                    status_list_index=index,
                ),
                now=now,
                notes=notes,
            )
            document = build_clr_credential(credential, check_json_ld=False)
            signed = sign_clr_data_integrity(document, context.data_integrity, created=now)
            token = sign_vc_jwt(document, context.vc_jwt)
            self.timing.seconds["sign"] += time.perf_counter() - started
            row = {
                "id": transcript_id,
                "tenant_id": self.tenant_id,
                "source_key": f"{TRANSCRIPT_KEY_PREFIX}{transcript_id}",
                "learner_id": person.id,
                "achievement_id": None,
                "name": credential.name[:500],
                "issuer_id": context.did,
                "subject_id": learner_urn(self.tenant_id, person.id),
                "status_list_id": status_list.id,
                "status_index": index,
                "document": orjson.dumps(signed).decode(),
                "jwt": token,
                "issued_at": now,
                "issued_by": issued_by,
            }
            if not await self.badges.insert_credential(row):
                continue  # the status index was taken meanwhile: draw again
            self.status_lists.taken(status_list.id)
            transcript = Transcript(
                id=transcript_id,
                tenant_id=self.tenant_id,
                learner_id=person.id,
                framework_id=portrait.id if portrait else None,
                framework_version=portrait.version if portrait else None,
                as_of=facts.as_of,
                options=options.model_dump(mode="json"),
                partial=bool(reasons),
                partial_reasons=reasons,
                counts=counts,
                job_id=job_id,
                issued_at=now,
                issued_by=issued_by,
            )
            await self.repo.add(transcript)
            stored = IssuedCredential.model_validate(row)
            await WebhookService(self.session, self.tenant_id).emit(
                "transcript.issued", self._event(transcript, stored)
            )
            return Generated(transcript, stored, counts["records_signed"], counts["records_reused"])
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
        facts = await self._facts([learner_id], options)
        person = facts.learners.get(learner_id)
        if person is None:
            raise LearnerNotFound(f"learner {learner_id} not found")
        context = await self.issuers.context()
        return await self._generate_one(context, facts, person, options, job_id=None, issued_by=issued_by)

    async def generate_many(
        self,
        learner_ids: Sequence[uuid.UUID],
        options: TranscriptOptions,
        *,
        job_id: uuid.UUID | None = None,
        issued_by: str | None = None,
        failures: list[tuple[uuid.UUID, ServiceError]] | None = None,
    ) -> list[Generated]:
        """Transcripts of many learners with the same options, from facts read once for all of them."""
        facts = await self._facts(learner_ids, options)
        context = await self.issuers.context()
        out: list[Generated] = []
        for learner_id in learner_ids:
            person = facts.learners.get(learner_id)
            try:
                if person is None:
                    raise LearnerNotFound(f"learner {learner_id} not found")
                async with self.session.begin_nested():
                    out.append(
                        await self._generate_one(
                            context, facts, person, options, job_id=job_id, issued_by=issued_by
                        )
                    )
            except ServiceError as exc:
                if failures is None:
                    raise
                failures.append((learner_id, exc))
        return out

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
