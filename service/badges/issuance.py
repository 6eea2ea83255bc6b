"""Issuing and revoking the district's credentials (from awards, direct, batch) and reading them back.
Services flush, never commit.

Exactly once: ``issued_credentials`` has a unique key on (tenant, award) and on (status list, index);
a credential row is inserted with ON CONFLICT DO NOTHING, so a second issuance for the same award (a
retried job, a concurrent worker) inserts nothing and returns the first credential, and a status
index another transaction took first is simply drawn again.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards import rules
from service.awards.models import Achievement
from service.badges import documents, images, signing
from service.badges.errors import (
    AwardNotIssuable,
    CredentialNotFound,
    CredentialRevoked,
    InvalidCredential,
    IssuerKeyUnavailable,
)
from service.badges.issuers import IssuerService
from service.badges.models import IssuedCredential
from service.badges.repository import BadgeRepository
from service.badges.schemas import (
    CredentialBatch,
    CredentialDetail,
    CredentialIssue,
    CredentialRead,
)
from service.badges.status_lists import StatusListService
from service.config import Settings
from service.credentials import (
    BitstringStatusListEntry,
    CredentialError,
    issue,
)
from service.credentials.builder import Signer, sign_vc_jwt
from service.credentials.models import OpenBadgeCredential
from service.db import after_commit, declare_write_intent
from service.errors import FieldError, ServiceError
from service.evidence.models import Evidence
from service.frameworks.models import Competency, Framework, RubricLevel
from service.jobs.models import Job
from service.jobs.service import JobService
from service.roster.models import Person
from service.schemas import PageParams
from service.webhooks.service import WebhookService

ISSUE_AWARDS_KIND = "badges.issue_awards"
ISSUE_BATCH_KIND = "badges.issue_batch"
REVOKE_AWARD_KIND = "badges.revoke_award"
AREA = "credentials"
#: Index draws before giving up on a status list (each draw collides with probability <= FILL_LIMIT).
MAX_INDEX_DRAWS = 32

CompetencyRows = tuple[Competency, Framework, list[RubricLevel], dict[uuid.UUID, str]]
IndexChooser = Callable[[int], int]
"""Draws a status list index in ``[0, size)``; tests may pass a biased one to force collisions."""


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


async def _store_jwt_later(
    bind: AsyncEngine | AsyncConnection, tenant_id: uuid.UUID, credential_id: uuid.UUID, token: str
) -> None:
    """Store a VC-JWT the request's own (read) transaction could not write, in a short write
    transaction of its own after it: an IMMEDIATE transaction waits its turn for SQLite's write lock
    where the read transaction's upgrade was refused at once. If it fails all the same, the next
    request signs the same token again (RS256 is deterministic) and stores it."""
    async with AsyncSession(bind) as session:
        await declare_write_intent(session)
        await BadgeRepository(session, tenant_id).store_jwt(credential_id, token)
        await session.commit()


def credential_read(row: IssuedCredential, public_url: str) -> CredentialRead:
    return CredentialRead(
        id=documents.credential_url(public_url, row.id),
        uuid=row.id,
        name=row.name,
        issuer_id=row.issuer_id,
        subject_id=row.subject_id,
        award_id=row.award_id,
        learner_id=row.learner_id,
        achievement_id=row.achievement_id,
        status="revoked" if row.revoked_at is not None else "active",
        issued_at=row.issued_at,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        status_list_credential=documents.status_list_url(public_url, row.status_list_id),
        status_list_index=row.status_index,
        jwt_url=documents.credential_url(public_url, row.id) + ".jwt",
    )


def credential_detail(row: IssuedCredential, public_url: str) -> CredentialDetail:
    return CredentialDetail(
        **credential_read(row, public_url).model_dump(), credential=json.loads(row.document), jwt=row.jwt
    )


@dataclass
class IssueSpec:
    """One credential to issue: for an award, or asked for directly (then with its source key)."""

    achievement_id: uuid.UUID
    learner_id: uuid.UUID
    evidence: Sequence[Evidence]
    awarded_at: datetime | None = None
    award_id: uuid.UUID | None = None
    source_key: str | None = None
    issued_by: str | None = None
    learner: Person | None = None
    #: The item's position in a batch request (for its error report).
    position: int = 0


class CredentialService:
    """Issue, read, list and revoke the district's credentials."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        settings: Settings,
        *,
        choose_index: IndexChooser | None = None,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.repo = BadgeRepository(session, tenant_id)
        self.issuers = IssuerService(session, tenant_id, settings)
        self.status_lists = StatusListService(session, tenant_id, settings)
        self.status_lists.issuers = self.issuers
        self.choose_index = choose_index or secrets.randbelow
        #: Index draws that collided with a credential already stored (a figure for tests/benchmarks).
        self.collisions = 0
        self.issued: list[IssuedCredential] = []
        #: Time spent building + signing each proof format (figures for benchmarks).
        self.sign_seconds = {"data-integrity": 0.0, "vc-jwt": 0.0}
        #: Whether the last :meth:`jwt` call stored the token (False: it was stored before, or by a
        #: concurrent request, or could not be stored now: then it is stored after the request's commit).
        #: A figure for tests.
        self.jwt_stored = False
        self._competency_cache: dict[uuid.UUID, CompetencyRows] = {}
        self._achievement_cache: dict[uuid.UUID, Achievement] = {}
        self._rule_cache: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
        #: learner -> (competencies asked for, best level per competency): see _prefetch_levels.
        self._best_levels: dict[uuid.UUID, tuple[frozenset[uuid.UUID], dict[uuid.UUID, uuid.UUID]]] = {}

    # -- reading -----------------------------------------------------------------------------------

    async def get(self, credential_id: uuid.UUID) -> IssuedCredential:
        row = await self.repo.get_credential(credential_id)
        if row is None:
            raise CredentialNotFound(f"credential {credential_id} not found")
        return row

    async def jwt(self, row: IssuedCredential) -> str:
        """The credential's VC-JWT form (RS256), signed on first request and then stored.

        Batch issuance stores only the eddsa-rdfc-2022 document; the JWT is signed here the first time
        someone asks for it (public ``.jwt`` / ``Accept: application/jwt``, the API's credential
        detail), over the stored document without its proof (the same JSON the Data Integrity proof
        signs), with the issuer's current RSA key. The store is ``UPDATE ... WHERE jwt IS NULL``:
        of concurrent first requests exactly one writes, the others read back the stored value (RS256
        is deterministic, so they computed the same bytes anyway). When the row cannot be written now
        (SQLite: a read transaction cannot take the write lock), the token is stored by a short write
        transaction of its own after the request's (the same ``WHERE jwt IS NULL`` update), so the
        next request reads back the very token this one returned."""
        self.jwt_stored = False
        if row.jwt:
            return row.jwt
        signer = await self.issuers.signer("RSA")
        if signer.controller != row.issuer_id:
            raise IssuerKeyUnavailable(
                f"the issuer's RSA key belongs to {signer.controller!r}, not to {row.issuer_id!r}"
            )
        document = json.loads(row.document)
        started = time.perf_counter()
        try:
            token = sign_vc_jwt(document, signer)
        except CredentialError as exc:
            raise InvalidCredential(f"the credential cannot be signed as a VC-JWT: {exc}") from exc
        self.sign_seconds["vc-jwt"] += time.perf_counter() - started
        stored, self.jwt_stored = await self.repo.store_jwt(row.id, token)
        if stored is None and self.session.bind is not None:
            later = partial(_store_jwt_later, self.session.bind, self.tenant_id, row.id, token)
            after_commit(self.session, later)
        set_committed_value(row, "jwt", stored or token)
        return stored or token

    async def list_credentials(
        self, page: PageParams, *, after: str | None = None, **filters: Any
    ) -> tuple[list[CredentialRead], int, str | None]:
        """A page of credentials, the count of matches and the cursor of the next page (None: the last)."""
        rows, total, next_cursor = await self.repo.list_credentials(page, after=after, **filters)
        return [credential_read(row, self.settings.public_url) for row in rows], total, next_cursor

    # -- issuing -----------------------------------------------------------------------------------

    async def _badge(
        self, achievement_id: uuid.UUID, learner_id: uuid.UUID | None, evidence: Sequence[Evidence]
    ) -> documents.BadgeInfo:
        achievement = await self._achievement(achievement_id)
        if achievement is None:
            raise InvalidCredential(
                "unknown achievement",
                [
                    FieldError(
                        "body.achievement_id", f"unknown achievement {achievement_id}", "invalid_reference"
                    )
                ],
            )
        competency_ids = list(self._rule_competencies(achievement))
        competency_ids += [e.competency_id for e in evidence if e.competency_id not in competency_ids]
        levels_from_evidence: dict[uuid.UUID, tuple[int, uuid.UUID]] = {}
        for e in evidence:
            if e.level_id is not None:
                current = levels_from_evidence.get(e.competency_id)
                if current is None or (e.level_position or 0) > current[0]:
                    levels_from_evidence[e.competency_id] = (e.level_position or 0, e.level_id)
        wanted = [c for c in competency_ids if c not in levels_from_evidence]
        known = self._best_levels.get(learner_id) if learner_id is not None else None
        if learner_id is None:
            fallback: dict[uuid.UUID, uuid.UUID] = {}
        elif known is not None and all(c in known[0] for c in wanted):
            fallback = known[1]
        else:
            fallback = await self.repo.best_levels(learner_id, wanted)
        competencies = []
        for competency, framework, levels, descriptors in await self._competencies(competency_ids):
            achieved = levels_from_evidence.get(competency.id, (0, fallback.get(competency.id)))[1]
            competencies.append(
                documents.CompetencyInfo(
                    id=competency.id,
                    title=competency.title,
                    statement=competency.statement,
                    code=competency.code,
                    framework_title=framework.title,
                    levels=[
                        documents.LevelInfo(
                            id=level.id,
                            position=level.position,
                            title=level.title,
                            description=descriptors.get(level.id) or level.description,
                        )
                        for level in levels
                    ],
                    achieved_level=achieved,
                )
            )
        return documents.BadgeInfo(
            id=achievement.id,
            name=achievement.title,
            description=achievement.description,
            criteria=achievement.criteria,
            achievement_type=achievement.achievement_type,
            image_url=achievement.image_url,
            tags=list(achievement.tags),
            competencies=competencies,
        )

    def _rule_competencies(self, achievement: Achievement) -> tuple[uuid.UUID, ...]:
        """The competencies an achievement's evidence rule names (parsed once per service instance)."""
        cached = self._rule_cache.get(achievement.id)
        if cached is None:
            try:
                rule = rules.parse_rule(achievement.rule) if achievement.rule else None
            except ValueError:
                rule = None
            cached = tuple(rule.competency_ids) if isinstance(rule, rules.EvidenceRule) else ()
            self._rule_cache[achievement.id] = cached
        return cached

    async def _achievement(self, achievement_id: uuid.UUID) -> Achievement | None:
        """An achievement, read once per service instance (a batch issues many of the same)."""
        achievement = self._achievement_cache.get(achievement_id)
        if achievement is None:
            achievement = await self.repo.achievement(achievement_id)
            if achievement is not None:
                self._achievement_cache[achievement_id] = achievement
        return achievement

    async def _prefetch_levels(self, specs: Sequence[IssueSpec]) -> None:
        """The learners' best rubric levels for every competency their credentials may name, in one
        query for the whole chunk (else one query per credential)."""
        competency_ids: set[uuid.UUID] = set()
        for achievement_id in {spec.achievement_id for spec in specs}:
            achievement = await self._achievement(achievement_id)
            if achievement is None or not achievement.rule:
                continue
            try:
                rule = rules.parse_rule(achievement.rule)
            except ValueError:
                continue
            if isinstance(rule, rules.EvidenceRule):
                competency_ids.update(rule.competency_ids)
        for spec in specs:
            competency_ids.update(e.competency_id for e in spec.evidence)
        learners = {spec.learner_id for spec in specs} - set(self._best_levels)
        if not learners or not competency_ids:
            return
        found = await self.repo.best_levels_many(learners, competency_ids)
        for learner_id in learners:
            self._best_levels[learner_id] = (frozenset(competency_ids), found.get(learner_id, {}))

    async def _competencies(self, ids: Iterable[uuid.UUID]) -> list[CompetencyRows]:
        """Competencies with their framework, levels and descriptors, read once per service instance
        (a batch issues many credentials of the same achievements)."""
        wanted = list(dict.fromkeys(ids))
        missing = [c for c in wanted if c not in self._competency_cache]
        if missing:
            for rows in await self.repo.competencies(missing):
                self._competency_cache[rows[0].id] = rows
        return [self._competency_cache[c] for c in wanted if c in self._competency_cache]

    async def _evidence_info(self, evidence: Sequence[Evidence]) -> list[documents.EvidenceInfo]:
        known = await self._competencies(e.competency_id for e in evidence)
        titles = {c.id: c.title for c, _f, _l, _d in known}
        level_titles: dict[uuid.UUID, str] = {}
        for _c, _f, levels, _d in known:
            level_titles.update({lv.id: lv.title for lv in levels})
        return [
            documents.EvidenceInfo(
                id=e.id,
                source=e.source,
                competency_title=titles.get(e.competency_id, "competency"),
                level_title=level_titles.get(e.level_id) if e.level_id else None,
                observed_at=e.observed_at,
                narrative=e.narrative,
            )
            for e in evidence
        ]

    async def _prepare(self, spec: IssueSpec, drawn: set[tuple[uuid.UUID, int]]) -> dict[str, Any]:
        """Build, validate and sign (eddsa-rdfc-2022; the VC-JWT comes on first request, see
        :meth:`jwt`) one credential at a fresh random status index not in ``drawn``; the row to store.
        Nothing is written."""
        row, unsigned, signer = await self._build(spec, drawn)
        try:
            started = time.perf_counter()
            signed = issue(unsigned, signer, created=row["issued_at"])
            self.sign_seconds["data-integrity"] += time.perf_counter() - started
        except CredentialError as exc:
            raise InvalidCredential(f"the credential cannot be issued: {exc}") from exc
        assert isinstance(signed, dict)
        return self._signed_row(row, signed)

    def _signed_row(self, row: dict[str, Any], signed: dict[str, Any]) -> dict[str, Any]:
        row["subject_id"] = signed["credentialSubject"].get("id")
        row["document"] = orjson.dumps(signed).decode("utf-8")
        return row

    async def _build(
        self, spec: IssueSpec, drawn: set[tuple[uuid.UUID, int]]
    ) -> tuple[dict[str, Any], OpenBadgeCredential, Signer]:
        """One credential's row (without its document), its unsigned credential and the signer, at a
        fresh random status index not in ``drawn``. Nothing is written."""
        learner = spec.learner
        if learner is None:
            learner = spec.learner = await self.repo.learner(spec.learner_id)
        if learner is None:
            raise InvalidCredential(
                "unknown learner",
                [FieldError("body.learner_id", f"unknown learner {spec.learner_id}", "invalid_reference")],
            )
        badge = await self._badge(spec.achievement_id, spec.learner_id, spec.evidence)
        evidence_info = await self._evidence_info(spec.evidence)
        context = await self.issuers.context()
        public_url = self.settings.public_url
        status_list = await self.status_lists.current()
        index = self.choose_index(status_list.size)
        for _ in range(MAX_INDEX_DRAWS):
            if (status_list.id, index) not in drawn:
                break
            index = self.choose_index(status_list.size)
        drawn.add((status_list.id, index))
        credential_id = uuid.uuid4()
        now = datetime.now(UTC).replace(microsecond=0)
        unsigned = documents.build_badge_credential(
            public_url=public_url,
            credential_id=credential_id,
            tenant_id=self.tenant_id,
            issuer=context.profile,
            slug=context.tenant.slug,
            badge=badge,
            learner=documents.LearnerInfo(id=learner.id, email=learner.email, sourced_id=learner.sourced_id),
            evidence=evidence_info,
            status=BitstringStatusListEntry(
                status_list_credential=documents.status_list_url(public_url, status_list.id),
                status_list_index=index,
            ),
            valid_from=now,
            awarded_at=spec.awarded_at or now,
            fallback_image=images.badge_svg_data_uri(badge.name),
        )
        row = {
            "id": credential_id,
            "tenant_id": self.tenant_id,
            "award_id": spec.award_id,
            "source_key": spec.source_key,
            "learner_id": spec.learner_id,
            "achievement_id": spec.achievement_id,
            "name": badge.name[:500],
            "issuer_id": context.did,
            "subject_id": None,
            "status_list_id": status_list.id,
            "status_index": index,
            "document": None,
            "jwt": None,  # signed on first request: see jwt()
            "issued_at": now,
            "issued_by": spec.issued_by,
        }
        return row, unsigned, context.data_integrity

    async def _prepare_many(
        self,
        specs: Sequence[IssueSpec],
        drawn: set[tuple[uuid.UUID, int]],
        failures: list[tuple[IssueSpec, ServiceError]] | None,
    ) -> list[tuple[IssueSpec, dict[str, Any]]]:
        """:meth:`_prepare` for many credentials, signed together in the signing pool (one task per
        worker: a batch job uses every core while this process builds the next documents' rows)."""
        built: list[tuple[IssueSpec, dict[str, Any], dict[str, Any]]] = []
        signer: Signer | None = None
        for spec in specs:
            try:
                row, unsigned, signer = await self._build(spec, drawn)
                if signer.controller != unsigned.issuer.id:
                    raise InvalidCredential(
                        f"the credential cannot be issued: the signing key belongs to {signer.controller!r}"
                        f", not to the issuer {unsigned.issuer.id!r}"
                    )
                document = unsigned.to_json()
                # Signing adds the proof only: the subject's id is the built document's.
                row["subject_id"] = document["credentialSubject"].get("id")
                built.append((spec, row, document))
            except ServiceError as exc:
                if failures is None:
                    raise
                failures.append((spec, exc))
        if signer is None or not built:
            return []
        started = time.perf_counter()
        outcomes = await signing.sign_many(
            [(document, row["issued_at"]) for _, row, document in built],
            signer,
            check=True,
            processes=self.settings.badges.signing_processes,
            as_json=True,  # serialized in the pool's workers, stored as is
        )
        self.sign_seconds["data-integrity"] += time.perf_counter() - started
        prepared: list[tuple[IssueSpec, dict[str, Any]]] = []
        for (spec, row, _), outcome in zip(built, outcomes, strict=True):
            if isinstance(outcome, CredentialError):
                refused = InvalidCredential(f"the credential cannot be issued: {outcome}")
                if failures is None:
                    raise refused from outcome
                failures.append((spec, refused))
                continue
            row["document"] = outcome.decode("utf-8")
            prepared.append((spec, row))
        return prepared

    def _stored(self, row: dict[str, Any]) -> IssuedCredential:
        self.status_lists.taken(row["status_list_id"])
        stored = IssuedCredential.model_validate(row)
        self.issued.append(stored)
        return stored

    async def _issue(self, spec: IssueSpec) -> tuple[IssuedCredential, bool]:
        """Build, validate, sign (both formats) and store one credential; ``(credential, created)``.
        A collision on the status index draws again; on the award or source key, the credential
        issued first is returned."""
        for _ in range(MAX_INDEX_DRAWS):
            row = await self._prepare(spec, set())
            if await self.repo.insert_credential(row):
                stored = self._stored(row)
                await WebhookService(self.session, self.tenant_id).emit(
                    "credential.issued", self._event(stored)
                )
                return stored, True
            existing = await self._existing(spec)
            if existing is not None:
                return existing, False
            self.collisions += 1  # the status index was taken: draw again
            self.status_lists.collided(row["status_list_id"])
        raise IssuerKeyUnavailable("no free status list index found; try again")

    async def _existing(self, spec: IssueSpec) -> IssuedCredential | None:
        """The credential already issued for this award or source key, if any."""
        existing = None
        if spec.award_id is not None:
            existing = await self.repo.credential_for_award(spec.award_id)
        if existing is None and spec.source_key is not None:
            existing = await self.repo.credential_for_key(spec.source_key)
        return existing

    async def _issue_many(
        self, specs: Sequence[IssueSpec], failures: list[tuple[IssueSpec, ServiceError]] | None
    ) -> list[tuple[IssueSpec, IssuedCredential, bool]]:
        """Issue many credentials with one INSERT for all of them (and one webhook write): per-row
        round trips, not signing, dominated batch issuance. Rows that collide (index taken, award or
        key issued meanwhile) go through the one-by-one path. With ``failures``, a credential that
        cannot be issued is recorded there (each fallback in a savepoint) and the others go on."""
        drawn: set[tuple[uuid.UUID, int]] = set()
        await self._prefetch_levels(specs)
        prepared = await self._prepare_many(specs, drawn, failures)
        inserted = await self.repo.insert_credentials([row for _, row in prepared])
        results: list[tuple[IssueSpec, IssuedCredential, bool]] = []
        fresh: list[IssuedCredential] = []
        for spec, row in prepared:
            if row["id"] in inserted:
                stored = self._stored(row)
                fresh.append(stored)
                results.append((spec, stored, True))
                continue
            try:
                async with self.session.begin_nested() if failures is not None else _nothing():
                    existing = await self._existing(spec)
                    if existing is not None:
                        results.append((spec, existing, False))
                        continue
                    self.collisions += 1
                    stored, created = await self._issue(spec)
                    results.append((spec, stored, created))
            except ServiceError as exc:
                if failures is None:
                    raise
                failures.append((spec, exc))
        await WebhookService(self.session, self.tenant_id).emit_many(
            "credential.issued", [self._event(row) for row in fresh]
        )
        return results

    def _event(self, row: IssuedCredential) -> dict[str, Any]:
        return {
            "credential": {
                "id": documents.credential_url(self.settings.public_url, row.id),
                "uuid": str(row.id),
                "award_id": str(row.award_id) if row.award_id else None,
                "learner_id": str(row.learner_id) if row.learner_id else None,
                "achievement_id": str(row.achievement_id) if row.achievement_id else None,
                "status": "revoked" if row.revoked_at else "active",
                "revocation_reason": row.revocation_reason,
            }
        }

    async def issue_award(self, award_id: uuid.UUID, *, issued_by: str | None = None) -> IssuedCredential:
        """The credential of an award (issued now, or the one issued before)."""
        existing = await self.repo.credential_for_award(award_id)
        if existing is not None:
            return existing
        award = await self.repo.award(award_id)
        if award is None or award.status != "awarded":
            raise AwardNotIssuable(f"award {award_id} is not awarded")
        evidence = await self.repo.award_evidence(award_id)
        row, _created = await self._issue(
            IssueSpec(
                achievement_id=award.achievement_id,
                learner_id=award.learner_id,
                evidence=evidence,
                awarded_at=award.awarded_at,
                award_id=award_id,
                issued_by=issued_by,
            )
        )
        await self.repo.mark_awards_issued({award_id: row.id}, datetime.now(UTC))
        return row

    async def issue_awards(
        self, award_ids: Sequence[uuid.UUID], *, failures: list[dict[str, str]] | None = None
    ) -> int:
        """Issue every award of ``award_ids`` still waiting; returns how many were issued now.

        Awards, their evidence and learners are read in three statements for the whole list, the
        credentials are stored with one INSERT and the awards marked with one UPDATE. With
        ``failures`` given, an award that cannot be issued is recorded there instead of failing the
        others.
        """
        awards = await self.repo.waiting_award_rows(award_ids)
        if not awards:
            return 0
        evidence = await self.repo.evidence_of_awards([a.id for a in awards])
        learners = await self.repo.learners({a.learner_id for a in awards})
        specs = [
            IssueSpec(
                achievement_id=award.achievement_id,
                learner_id=award.learner_id,
                evidence=evidence.get(award.id, []),
                awarded_at=award.awarded_at,
                award_id=award.id,
                issued_by="awards",
                learner=learners.get(award.learner_id),
            )
            for award in awards
        ]
        failed: list[tuple[IssueSpec, ServiceError]] | None = [] if failures is not None else None
        results = await self._issue_many(specs, failed)
        await self.repo.mark_awards_issued(
            {spec.award_id: row.id for spec, row, _ in results if spec.award_id is not None},
            datetime.now(UTC),
        )
        if failures is not None and failed:
            for spec, exc in failed:
                if len(failures) < 1000:
                    failures.append({"award_id": str(spec.award_id), "error": exc.detail})
        return sum(1 for _, _, created in results if created)

    async def issue_direct_many(
        self,
        items: Sequence[tuple[CredentialIssue, str]],
        *,
        issued_by: str | None,
        failures: list[tuple[int, ServiceError]],
    ) -> int:
        """Batch issuance: ``(item, source key)`` pairs, stored together (see :meth:`_issue_many`); an
        item that cannot be issued is reported in ``failures`` by its position. Returns how many were
        issued now (an item whose key was issued before counts as done, not as new)."""
        # Keys issued before and the learners, read once for the whole chunk.
        done_keys = await self.repo.issued_keys([key for _, key in items])
        learners = await self.repo.learners({data.learner_id for data, _ in items})
        specs: list[IssueSpec] = []
        for position, (data, key) in enumerate(items):
            if key in done_keys:
                continue
            try:
                spec = await self._direct_spec(data, issued_by=issued_by, source_key=None)
            except ServiceError as exc:
                failures.append((position, exc))
                continue
            assert spec is not None  # no key to look up
            spec.source_key, spec.position = key, position
            spec.learner = learners.get(data.learner_id)
            specs.append(spec)
        failed: list[tuple[IssueSpec, ServiceError]] = []
        results = await self._issue_many(specs, failed)
        failures.extend((spec.position, exc) for spec, exc in failed)
        return sum(1 for _, _, created in results if created)

    async def _direct_spec(
        self, data: CredentialIssue, *, issued_by: str | None, source_key: str | None
    ) -> IssueSpec | None:
        """The issuance a direct request asks for, checked; None when its key was issued already."""
        if source_key is not None and await self.repo.credential_for_key(source_key) is not None:
            return None
        evidence = await self.repo.evidence(data.learner_id, data.evidence_ids)
        found = {e.id for e in evidence}
        missing = [e for e in data.evidence_ids if e not in found]
        if missing:
            raise InvalidCredential(
                "evidence_ids must be the learner's evidence",
                [
                    FieldError("body.evidence_ids", f"unknown evidence {e}", "invalid_reference")
                    for e in missing
                ],
            )
        if await self._achievement(data.achievement_id) is None:
            raise InvalidCredential(
                "unknown achievement",
                [
                    FieldError(
                        "body.achievement_id",
                        f"unknown achievement {data.achievement_id}",
                        "invalid_reference",
                    )
                ],
            )
        return IssueSpec(
            achievement_id=data.achievement_id,
            learner_id=data.learner_id,
            evidence=evidence,
            source_key=source_key,
            issued_by=issued_by,
        )

    async def issue_direct(
        self, data: CredentialIssue, *, issued_by: str | None, source_key: str | None = None
    ) -> tuple[IssuedCredential, bool]:
        key = source_key or (f"client:{data.idempotency_key}" if data.idempotency_key else None)
        if key is not None:
            existing = await self.repo.credential_for_key(key)
            if existing is not None:
                return existing, False
        spec = await self._direct_spec(data, issued_by=issued_by, source_key=key)
        assert spec is not None  # the key was checked above, in this transaction
        return await self._issue(spec)

    async def enqueue_waiting(self) -> Job:
        """Queue the issuance of every awarded award still waiting for its credential (recovery after
        a failure, e.g. a key that could not be decrypted)."""
        jobs = JobService(self.session, self.tenant_id)
        return await jobs.enqueue(ISSUE_AWARDS_KIND, AREA, {"all_waiting": True})

    async def enqueue_batch(self, data: CredentialBatch) -> Job:
        return await JobService(self.session, self.tenant_id).enqueue(
            ISSUE_BATCH_KIND, AREA, {"items": [item.model_dump(mode="json") for item in data.items]}
        )

    # -- revocation --------------------------------------------------------------------------------

    async def revoke_award(self, award_id: uuid.UUID, reason: str) -> IssuedCredential | None:
        """Revoke the credential of a revoked award (none yet, or already revoked: nothing to do)."""
        row = await self.repo.credential_for_award(award_id)
        if row is None or row.revoked_at is not None:
            return None
        return await self.revoke(row.id, reason, revoked_by="awards")

    async def revoke(
        self, credential_id: uuid.UUID, reason: str, *, revoked_by: str | None
    ) -> IssuedCredential:
        """Set the credential's status bit and re-sign its list; the public page shows it at once."""
        row = await self.get(credential_id)
        if row.revoked_at is not None:
            raise CredentialRevoked(f"credential {credential_id} is already revoked")
        now = datetime.now(UTC)
        row.revoked_at, row.revocation_reason, row.revoked_by = now, reason, revoked_by
        await self.repo.add(row)
        award = None
        if row.award_id is not None:
            award = await self.repo.mark_award_revoked(
                row.award_id, now, reason=reason, revoked_by=revoked_by
            )
        status_list = await self.repo.get_list(row.status_list_id)
        assert status_list is not None
        await self.status_lists.sign(status_list)
        webhooks = WebhookService(self.session, self.tenant_id)
        await webhooks.emit("credential.revoked", self._event(row))
        if award is not None:
            from service.awards.service import AwardService

            await webhooks.emit("award.updated", AwardService.award_event(award))
        return row


async def queue_award_issuance(
    session: AsyncSession, tenant_id: uuid.UUID, award_ids: Sequence[uuid.UUID]
) -> None:
    """Queue the issuance of newly awarded awards as a job, in the caller's transaction: the job row
    commits with the awards (or not at all) and runs after commit."""
    ids = [str(a) for a in award_ids]
    jobs = JobService(session, tenant_id)
    for start in range(0, len(ids), 500):
        await jobs.enqueue(ISSUE_AWARDS_KIND, AREA, {"award_ids": ids[start : start + 500]})


async def queue_award_revocation(
    session: AsyncSession, tenant_id: uuid.UUID, award_id: uuid.UUID, reason: str | None
) -> None:
    """A revoked award revokes its credential: a job queued in the caller's transaction (revocation
    re-signs a status list, which needs the issuer's key and settings the awards service has not)."""
    await JobService(session, tenant_id).enqueue(
        REVOKE_AWARD_KIND, AREA, {"award_id": str(award_id), "reason": reason or "the award was revoked"}
    )
