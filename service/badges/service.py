"""Badge use cases: issuer keys and DID documents, issuance (from awards, direct, batch), status
lists and revocation. Services flush, never commit.

Exactly once: ``issued_credentials`` has a unique key on (tenant, award) and on (status list, index);
a credential row is inserted with ON CONFLICT DO NOTHING, so a second issuance for the same award (a
retried job, a concurrent worker) inserts nothing and returns the first credential, and a status
index another transaction took first is simply drawn again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlmodel.ext.asyncio.session import AsyncSession

from service import hotcache
from service.awards import rules
from service.awards.models import Achievement
from service.badges import documents, images, signing
from service.badges.errors import (
    AchievementNotFound,
    AwardNotIssuable,
    CredentialNotFound,
    CredentialRevoked,
    InvalidCredential,
    IssuerKeyUnavailable,
    IssuerNotFound,
    StatusListNotFound,
)
from service.badges.models import IssuedCredential, IssuerKey, StatusList
from service.badges.repository import BadgeRepository, PublicRepository
from service.badges.schemas import (
    CredentialBatch,
    CredentialDetail,
    CredentialIssue,
    CredentialRead,
    IssuerKeyRead,
)
from service.config import Settings
from service.credentials import (
    Bitstring,
    BitstringStatusListEntry,
    CredentialError,
    Profile,
    Signer,
    build_did_document,
    build_status_list_credential,
    did_key,
    did_key_verification_method,
    did_web_for_issuer,
    generate_private_key,
    issue,
    jwks,
    public_key_from_jwk,
    public_key_to_jwk,
    sign_data_integrity,
)
from service.credentials import IssuerKey as DidKey
from service.credentials.contexts import OB_V3P0, VC_V2
from service.credentials.errors import SafeModeError, SchemaValidationError
from service.credentials.keys import PrivateKey, private_key_from_pem, private_key_to_pem
from service.credentials.timeutil import parse_datetime
from service.crypto import secret_box
from service.errors import FieldError, ServiceError
from service.evidence.models import Evidence
from service.frameworks.models import Competency, Framework, RubricLevel
from service.jobs.models import Job
from service.jobs.service import JobService
from service.roster.models import Person
from service.schemas import PageParams
from service.tenancy.models import Tenant
from service.webhooks.service import WebhookService

logger = logging.getLogger(__name__)

KIND_PREFIX = {"Ed25519": "ed25519", "P-256": "p256", "RSA": "rsa"}
KIND_ORDER = ("Ed25519", "P-256", "RSA")
ISSUE_AWARDS_KIND = "badges.issue_awards"
ISSUE_BATCH_KIND = "badges.issue_batch"
REVOKE_AWARD_KIND = "badges.revoke_award"
AREA = "credentials"
#: A list takes new credentials until half of its indexes are used; random draws then rarely collide.
FILL_LIMIT = 0.5
MAX_INDEX_DRAWS = 32

CompetencyRows = tuple[Competency, Framework, list[RubricLevel], dict[uuid.UUID, str]]
IndexChooser = Callable[[int], int]
"""Draws a status list index in ``[0, size)``; tests may pass a biased one to force collisions."""

_private_keys: dict[tuple[uuid.UUID, str], PrivateKey] = {}


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def _key_context(tenant_id: uuid.UUID, fragment: str) -> str:
    return f"issuer-key:{tenant_id}:{fragment}"


def key_fragment(kind: str, generation: int) -> str:
    return f"{KIND_PREFIX[kind]}-{generation}"


@dataclass(frozen=True)
class IssuerContext:
    """Everything signing needs about a district issuer, read once per service instance."""

    tenant: Tenant
    did: str
    profile: Profile
    data_integrity: Signer
    vc_jwt: Signer


class IssuerService:
    """A district as an issuer: did:web, keys (created on first need, rotated), DID document, JWKS."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.repo = BadgeRepository(session, tenant_id)
        self._context: IssuerContext | None = None

    async def tenant(self) -> Tenant:
        tenant = await self.repo.tenant()
        if tenant is None:
            raise IssuerNotFound(f"issuer {self.tenant_id} not found")
        return tenant

    def did_for(self, slug: str) -> str:
        return did_web_for_issuer(self.settings.public_url, slug)

    async def did(self) -> str:
        return self.did_for((await self.tenant()).slug)

    def private_key(self, key: IssuerKey) -> PrivateKey:
        """The decrypted private key of ``key`` (kept in a small in-process cache: decrypting and
        parsing an RSA key on every signature would cost more than the signature)."""
        cache_key = (key.id, key.private_key_encrypted[-24:])
        cached = _private_keys.get(cache_key)
        if cached is not None:
            return cached
        pem = secret_box(self.settings).decrypt(
            key.private_key_encrypted, context=_key_context(key.tenant_id, key.fragment)
        )
        private = private_key_from_pem(pem.encode("ascii"))
        if len(_private_keys) > 1024:
            _private_keys.clear()
        _private_keys[cache_key] = private
        return private

    async def _create_key(self, kind: str, generation: int) -> None:
        private = generate_private_key(kind)  # type: ignore[arg-type]
        fragment = key_fragment(kind, generation)
        pem = private_key_to_pem(private).decode("ascii")
        await hotcache.mark_changed(self.session)
        await self.repo.insert_key(
            {
                "tenant_id": self.tenant_id,
                "id": uuid.uuid4(),
                "kind": kind,
                "generation": generation,
                "fragment": fragment,
                "public_jwk": public_key_to_jwk(private.public_key()),
                "private_key_encrypted": secret_box(self.settings).encrypt(
                    pem, context=_key_context(self.tenant_id, fragment)
                ),
                "status": "active",
                "created_at": datetime.now(UTC),
            }
        )

    async def active_key(self, kind: str) -> IssuerKey:
        """The current key of ``kind``, generated on first need (a concurrent creator wins harmlessly:
        the fragment is unique and both then read the same row)."""
        key = await self.repo.active_key(kind)
        if key is None:
            await self._create_key(kind, await self.repo.max_generation(kind) + 1)
            key = await self.repo.active_key(kind)
        if key is None:
            raise IssuerKeyUnavailable(f"no active {kind} key could be created for the issuer")
        return key

    async def signer(self, kind: str) -> Signer:
        """The signer of the current ``kind`` key (cached per tenant; invalidated when a key is created
        or retired or the district's slug changes, in any process: service.hotcache)."""
        invalidation = hotcache.for_session(self.session)
        cache_key = (self.tenant_id, kind, self.settings.public_url)
        cached = invalidation.get("signer", cache_key) if invalidation else None
        if isinstance(cached, Signer):
            return cached
        epoch = invalidation.current() if invalidation else None
        did = await self.did()
        key = await self.active_key(kind)
        signer = Signer(verification_method=f"{did}#{key.fragment}", private_key=self.private_key(key))
        if invalidation is not None and not self.session.info.get(hotcache.SESSION_FLAG):
            invalidation.put("signer", cache_key, epoch, signer)
        return signer

    async def context(self) -> IssuerContext:
        if self._context is None:
            tenant = await self.tenant()
            did = self.did_for(tenant.slug)
            self._context = IssuerContext(
                tenant=tenant,
                did=did,
                profile=documents.issuer_profile(self.settings.public_url, did, tenant.slug, tenant.name),
                data_integrity=await self.signer("Ed25519"),
                vc_jwt=await self.signer("RSA"),
            )
        return self._context

    async def ensure_keys(self) -> None:
        for kind in KIND_ORDER:
            await self.active_key(kind)

    async def rotate(self, kinds: Sequence[str]) -> list[IssuerKey]:
        """New keys of ``kinds``; the previous ones are retired and stay in the DID document, so the
        credentials they signed keep verifying."""
        now = datetime.now(UTC)
        for kind in dict.fromkeys(kinds):
            generation = await self.repo.max_generation(kind) + 1
            await self._create_key(kind, generation)
            await hotcache.mark_changed(self.session)
            await self.repo.retire_keys(kind, generation, now)
        self._context = None
        return list(await self.repo.keys())

    async def keys(self) -> list[IssuerKeyRead]:
        return await self._read_keys(await self.repo.keys())

    async def keys_page(self, page: PageParams) -> tuple[list[IssuerKeyRead], int]:
        """A page of the keys, oldest first."""
        rows, total = await self.repo.keys_page(page)
        return await self._read_keys(rows), total

    async def _read_keys(self, keys: Iterable[IssuerKey]) -> list[IssuerKeyRead]:
        did = await self.did()
        return [
            IssuerKeyRead.model_validate({**key.model_dump(), "verification_method": f"{did}#{key.fragment}"})
            for key in keys
        ]

    async def _did_keys(self) -> list[DidKey]:
        return [
            DidKey(
                fragment=key.fragment,
                public_key=public_key_from_jwk(key.public_jwk),
                retired=key.status == "retired",
            )
            for key in await self.repo.keys()
        ]

    async def did_document(self) -> dict[str, Any]:
        tenant = await self.tenant()
        did = self.did_for(tenant.slug)
        keys = await self._did_keys()
        if not keys:  # nothing issued yet: a valid document without keys (no write on a GET)
            return {"@context": ["https://www.w3.org/ns/did/v1"], "id": did, "verificationMethod": []}
        document = build_did_document(did, keys)
        document["service"] = [
            {
                "id": f"{did}#profile",
                "type": "LinkedDomains",
                "serviceEndpoint": documents.issuer_url(self.settings.public_url, tenant.slug),
            }
        ]
        return document

    async def jwks(self) -> dict[str, Any]:
        did = await self.did()
        keys = await self._did_keys()
        return jwks(did, keys) if keys else {"keys": []}

    async def profile(self) -> dict[str, Any]:
        """The issuer's OB 3.0 Profile (``id`` = the did:web)."""
        tenant = await self.tenant()
        did = self.did_for(tenant.slug)
        return {
            "@context": [VC_V2, OB_V3P0],
            **documents.issuer_profile(self.settings.public_url, did, tenant.slug, tenant.name).to_json(),
        }


class StatusListService:
    """The district's Bitstring Status Lists: allocation of indexes and the signed list credentials."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.repo = BadgeRepository(session, tenant_id)
        self.issuers = IssuerService(session, tenant_id, settings)
        self._counts: dict[uuid.UUID, int] = {}
        self._current: dict[str, StatusList] = {}

    async def current(self, purpose: str = "revocation") -> StatusList:
        """The list new credentials go to; a new one once half of its indexes are used."""
        latest = self._current.get(purpose) or await self.repo.latest_list(purpose)
        if latest is not None:
            count = self._counts.get(latest.id)
            if count is None:
                count = self._counts[latest.id] = await self.repo.entries_in_list(latest.id)
            if count < latest.size * FILL_LIMIT:
                self._current[purpose] = latest
                return latest
            self._current.pop(purpose, None)
        sequence = (latest.sequence + 1) if latest is not None else 1
        await self.repo.insert_list(
            {
                "id": uuid.uuid4(),
                "tenant_id": self.tenant_id,
                "purpose": purpose,
                "sequence": sequence,
                "size": self.settings.badges.status_list_size,
                "created_at": datetime.now(UTC),
                "updated_at": datetime.now(UTC),
            }
        )
        created = await self.repo.latest_list(purpose)
        assert created is not None
        await self.sign(created)
        return created

    def taken(self, list_id: uuid.UUID) -> None:
        self._counts[list_id] = self._counts.get(list_id, 0) + 1

    async def sign(self, status_list: StatusList) -> str:
        """Re-sign the list credential from the revoked credentials' indexes and store it."""
        await self.repo.lock_list(status_list.id)
        bits = Bitstring(status_list.size)
        for index in await self.repo.revoked_indexes(status_list.id):
            bits.set(index)
        context = await self.issuers.context()
        now = datetime.now(UTC)
        unsigned = build_status_list_credential(
            credential_id=documents.status_list_url(self.settings.public_url, status_list.id),
            issuer=context.did,
            bitstring=bits,
            valid_from=now,
            status_purpose=status_list.purpose,
        )
        signed = sign_data_integrity(unsigned, context.data_integrity, created=now)
        text = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
        etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40] + '"'
        await self.repo.store_signed_list(status_list.id, text, etag, now)
        status_list.signed, status_list.etag = text, etag
        return text


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
        self._competency_cache: dict[uuid.UUID, CompetencyRows] = {}
        self._achievement_cache: dict[uuid.UUID, Achievement] = {}

    # -- reading -----------------------------------------------------------------------------------

    async def get(self, credential_id: uuid.UUID) -> IssuedCredential:
        row = await self.repo.get_credential(credential_id)
        if row is None:
            raise CredentialNotFound(f"credential {credential_id} not found")
        return row

    async def list_credentials(self, page: PageParams, **filters: Any) -> tuple[list[CredentialRead], int]:
        rows, total = await self.repo.list_credentials(page, **filters)
        return [credential_read(row, self.settings.public_url) for row in rows], total

    # -- issuing -----------------------------------------------------------------------------------

    async def _badge(
        self, achievement_id: uuid.UUID, learner_id: uuid.UUID | None, evidence: Sequence[Evidence]
    ) -> documents.BadgeInfo:
        achievement = self._achievement_cache.get(achievement_id) or await self.repo.achievement(
            achievement_id
        )
        if achievement is not None:
            self._achievement_cache[achievement_id] = achievement
        if achievement is None:
            raise InvalidCredential(
                "unknown achievement",
                [
                    FieldError(
                        "body.achievement_id", f"unknown achievement {achievement_id}", "invalid_reference"
                    )
                ],
            )
        competency_ids: list[uuid.UUID] = []
        try:
            rule = rules.parse_rule(achievement.rule) if achievement.rule else None
        except ValueError:
            rule = None
        if isinstance(rule, rules.EvidenceRule):
            competency_ids = list(rule.competency_ids)
        competency_ids += [e.competency_id for e in evidence if e.competency_id not in competency_ids]
        levels_from_evidence: dict[uuid.UUID, tuple[int, uuid.UUID]] = {}
        for e in evidence:
            if e.level_id is not None:
                current = levels_from_evidence.get(e.competency_id)
                if current is None or (e.level_position or 0) > current[0]:
                    levels_from_evidence[e.competency_id] = (e.level_position or 0, e.level_id)
        fallback = (
            await self.repo.best_levels(
                learner_id, [c for c in competency_ids if c not in levels_from_evidence]
            )
            if learner_id is not None
            else {}
        )
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
        """Build, validate and sign (both formats) one credential at a fresh random status index not in
        ``drawn``; the row to store. Nothing is written."""
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
        try:
            started = time.perf_counter()
            signed = issue(unsigned, context.data_integrity, created=now)
            middle = time.perf_counter()
            token = issue(unsigned, context.vc_jwt, proof_format="vc-jwt", check_json_ld=False)
            self.sign_seconds["data-integrity"] += middle - started
            self.sign_seconds["vc-jwt"] += time.perf_counter() - middle
        except CredentialError as exc:
            raise InvalidCredential(f"the credential cannot be issued: {exc}") from exc
        assert isinstance(signed, dict) and isinstance(token, str)
        return {
            "id": credential_id,
            "tenant_id": self.tenant_id,
            "award_id": spec.award_id,
            "source_key": spec.source_key,
            "learner_id": spec.learner_id,
            "achievement_id": spec.achievement_id,
            "name": badge.name[:500],
            "issuer_id": context.did,
            "subject_id": signed["credentialSubject"].get("id"),
            "status_list_id": status_list.id,
            "status_index": index,
            "document": json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
            "jwt": token,
            "issued_at": now,
            "issued_by": spec.issued_by,
        }

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
        prepared: list[tuple[IssueSpec, dict[str, Any]]] = []
        drawn: set[tuple[uuid.UUID, int]] = set()
        for spec in specs:
            try:
                prepared.append((spec, await self._prepare(spec, drawn)))
            except ServiceError as exc:
                if failures is None:
                    raise
                failures.append((spec, exc))
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
        if await self.repo.achievement(data.achievement_id) is None:
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


def learner_display_name(given: str, family: str | None, style: str) -> str | None:
    """The learner's name as the district lets public pages show it: ``full`` ("Aaliyah Garcia"),
    ``first_initial`` ("Aaliyah G.", the default: enough for the learner to show, little for others) or
    ``none``."""
    if style == "none":
        return None
    if style == "full":
        return f"{given} {family}".strip() if family else given
    return f"{given} {family[:1]}." if family else given


@dataclass(frozen=True)
class PublicCredential:
    row: IssuedCredential
    learner_display: str | None


@dataclass(frozen=True)
class PublicAchievement:
    issuer_name: str
    issuer_url: str
    issuer_did: str
    badge: documents.BadgeInfo
    document: dict[str, Any]


PUBLIC_ACHIEVEMENTS_LIMIT = 200


@dataclass(frozen=True)
class PublicListing:
    """One badge on an issuer's public page."""

    title: str
    description: str
    achievement_type: str
    url: str


class PublicBadgeService:
    """What anyone may read without a token: issuers' DID documents and profiles, credentials by
    their (unguessable) UUID, status lists."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = PublicRepository(session)

    async def issuer(self, slug: str) -> IssuerService:
        invalidation = hotcache.for_session(self.session)
        tenant_id = invalidation.get("tenant_by_slug", slug) if invalidation else None
        if not isinstance(tenant_id, uuid.UUID):
            epoch = invalidation.current() if invalidation else None
            tenant = await self.repo.tenant_by_slug(slug)
            if tenant is None:
                raise IssuerNotFound(f"issuer {slug!r} not found")
            tenant_id = tenant.id
            if invalidation is not None:
                invalidation.put("tenant_by_slug", slug, epoch, tenant_id)
        return IssuerService(self.session, tenant_id, self.settings)

    async def achievements(self, slug: str, limit: int = PUBLIC_ACHIEVEMENTS_LIMIT) -> list[PublicListing]:
        """The badges a district has issued, for its public issuer page: active achievements that at
        least one issued credential names (nothing about who earned them), by title."""
        tenant = await self.repo.tenant_by_slug(slug)
        if tenant is None:
            raise IssuerNotFound(f"issuer {slug!r} not found")
        rows = await self.repo.issued_achievements(tenant.id, limit)
        return [
            PublicListing(
                title=row.title,
                description=row.description,
                achievement_type=row.achievement_type,
                url=documents.achievement_url(self.settings.public_url, slug, row.id),
            )
            for row in rows
        ]

    async def credential(self, credential_id: uuid.UUID) -> PublicCredential:
        row = await self.repo.credential(credential_id)
        if row is None or (row.source_key or "").startswith("transcript:"):
            # A transcript's ClrCredential is served at its own id, /transcripts/{uuid}.
            raise CredentialNotFound(f"credential {credential_id} not found")
        display = None
        tenant = await self.repo.tenant(row.tenant_id)
        style = tenant.public_learner_name if tenant is not None else "first_initial"
        if row.learner_id is not None and style != "none":
            person = await self.repo.person(row.learner_id)
            if person is not None and person.tenant_id == row.tenant_id:
                display = learner_display_name(
                    person.preferred_name or person.given_name, person.family_name, style
                )
        return PublicCredential(row=row, learner_display=display)

    async def achievement(self, slug: str, achievement_id: uuid.UUID) -> PublicAchievement:
        """A badge definition as the credentials describe it (the target of their achievement URL)."""
        tenant = await self.repo.tenant_by_slug(slug)
        if tenant is None:
            raise IssuerNotFound(f"issuer {slug!r} not found")
        credentials = CredentialService(self.session, tenant.id, self.settings)
        if await credentials.repo.achievement(achievement_id) is None:
            raise AchievementNotFound(f"achievement {achievement_id} of issuer {slug!r} not found")
        badge = await credentials._badge(achievement_id, None, ())
        issuer = IssuerService(self.session, tenant.id, self.settings)
        achievement = documents.build_achievement(
            self.settings.public_url, slug, badge, images.badge_svg_data_uri(badge.name)
        )
        document = {"@context": [VC_V2, OB_V3P0], **achievement.to_json()}
        return PublicAchievement(
            issuer_name=tenant.name,
            issuer_url=documents.issuer_url(self.settings.public_url, slug),
            issuer_did=issuer.did_for(slug),
            badge=badge,
            document=document,
        )

    async def status_list(self, list_id: uuid.UUID) -> StatusList:
        row = await self.repo.status_list(list_id)
        if row is None or row.signed is None:
            raise StatusListNotFound(f"status list {list_id} not found")
        return row


async def queue_award_revocation(
    session: AsyncSession, tenant_id: uuid.UUID, award_id: uuid.UUID, reason: str | None
) -> None:
    """A revoked award revokes its credential: a job queued in the caller's transaction (revocation
    re-signs a status list, which needs the issuer's key and settings the awards service has not)."""
    await JobService(session, tenant_id).enqueue(
        REVOKE_AWARD_KIND, AREA, {"award_id": str(award_id), "reason": reason or "the award was revoked"}
    )


class VcApiIssuer:
    """W3C VC-API ``/credentials/issue`` for a district: signs a caller's credential (eddsa-rdfc-2022)
    as the district's did:web or as the did:key of its current Ed25519 key. Nothing is stored."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.issuers = IssuerService(session, tenant_id, settings)
        self.status_lists = StatusListService(session, tenant_id, settings)
        self.repo = BadgeRepository(session, tenant_id)
        self.tenant_id = tenant_id
        self.settings = settings
        self.choose_index: IndexChooser = secrets.randbelow

    async def issue(
        self,
        credential: dict[str, Any],
        *,
        method: str,
        created: datetime | None,
        status_purpose: str | None = None,
        issued_by: str | None = None,
    ) -> dict[str, Any]:
        """Sign ``credential``. With ``status_purpose`` (VC-API ``options.credentialStatus``) it also
        gets a ``BitstringStatusListEntry`` at a random free index of the district's lists and is
        stored like any issued credential, so that ``POST /api/v1/credentials/{uuid}/revoke`` can
        revoke it; without, nothing is stored."""
        from service.credentials.contexts import DATA_INTEGRITY_V2, VC_V1, VC_V2
        from service.credentials.data_model import credential_problems

        if method == "did:key":
            key = await self.issuers.active_key("Ed25519")
            private = self.issuers.private_key(key)
            public = private.public_key()
            assert isinstance(public, ed25519.Ed25519PublicKey)
            signer = Signer(verification_method=did_key_verification_method(public), private_key=private)
            issuer_id = did_key(public)
        else:
            signer = await self.issuers.signer("Ed25519")
            issuer_id = signer.controller

        def fail(loc: str, message: str, kind: str = "invalid") -> InvalidCredential:
            return InvalidCredential(message, [FieldError(f"body.credential{loc}", message, kind)])

        if "issuer" in credential and credential["issuer"] is None:
            raise fail(".issuer", "issuer must be a URL or an object with a URL id, not null")
        contexts = credential.get("@context")
        if not isinstance(contexts, list) or not contexts or contexts[0] not in (VC_V2, VC_V1):
            raise fail(
                ".@context", f"@context must be an array whose first item is {VC_V2} (VC 1.1: {VC_V1})"
            )
        if contexts[0] == VC_V1:
            # VC 1.1 (still sent by the W3C Data Integrity suites): issuanceDate is required, and the
            # 2018 context does not define DataIntegrityProof, so its context is added, as other
            # Data Integrity issuers do.
            if "issuanceDate" not in credential:
                raise fail(".issuanceDate", "a VC 1.1 credential needs issuanceDate")
            if DATA_INTEGRITY_V2 not in contexts:
                credential = {**credential, "@context": [*contexts, DATA_INTEGRITY_V2]}
        types = credential.get("type")
        if not isinstance(types, list) or "VerifiableCredential" not in types:
            raise fail(".type", "type must be an array that contains VerifiableCredential")
        subject = credential.get("credentialSubject")
        subjects = subject if isinstance(subject, list) else [subject]
        if not subjects or not all(isinstance(s, dict) and s for s in subjects):
            raise fail(
                ".credentialSubject", "credentialSubject must be a non-empty object (or array of them)"
            )
        if "proof" in credential:
            raise fail(".proof", "the credential must not carry a proof: the issuer adds it")
        issuer = credential.get("issuer")
        given = issuer.get("id") if isinstance(issuer, dict) else issuer
        if issuer is None:
            credential = {**credential, "issuer": issuer_id}
        elif given != issuer_id:
            raise fail(
                ".issuer", f"issuer must be {issuer_id} (the key this endpoint signs with)", "issuer_mismatch"
            )
        for name in ("validFrom", "validUntil"):
            value = credential.get(name)
            if value is not None:
                try:
                    parse_datetime(value)
                except (ValueError, TypeError):
                    raise fail(f".{name}", f"{name} must be an XML Schema dateTime") from None
        if isinstance(credential.get("id"), str) and ":" not in credential["id"]:
            raise fail(".id", "id must be an absolute URL")
        # The VC Data Model rules the verifier enforces (typed credentialStatus / credentialSchema /
        # evidence / termsOfUse / refreshService, URL ids, relatedResource digests...): never sign
        # what our own verifier would refuse.
        violations = credential_problems(credential, "credential", include_proof=False)
        if violations:
            raise InvalidCredential(
                "; ".join(v.message for v in violations[:5]),
                [FieldError(f"body.{v.path}", v.message, "data_model") for v in violations[:50]],
            )
        if status_purpose is not None:
            if contexts[0] != VC_V2:
                raise fail(".@context", "a credential status is added to VC 2.0 credentials only")
            if "credentialStatus" in credential:
                raise fail(
                    ".credentialStatus",
                    "the credential already has a credentialStatus: leave options.credentialStatus out",
                )
            return await self._issue_with_status(
                credential, signer, issuer_id, created, status_purpose, issued_by
            )
        return await self._sign(credential, signer, created)

    async def _sign(
        self, credential: dict[str, Any], signer: Signer, created: datetime | None
    ) -> dict[str, Any]:
        types = credential.get("type") or []
        try:
            # Off the event loop, in a worker process (service.badges.signing).
            return await signing.sign(
                credential,
                signer,
                created=created,
                check="OpenBadgeCredential" in types or "AchievementCredential" in types,
                processes=self.settings.badges.signing_processes,
            )
        except SchemaValidationError as exc:
            raise InvalidCredential(
                "the credential does not validate against its schema",
                [FieldError("body.credential", message, "schema") for message in exc.errors[:50]],
            ) from exc
        except SafeModeError as exc:
            raise InvalidCredential(
                f"JSON-LD safe mode: {exc}",
                [FieldError(f"body.credential{exc.path.removeprefix('$')}", str(exc), "undefined_term")],
            ) from exc
        except CredentialError as exc:
            raise InvalidCredential(
                f"the credential cannot be signed: {exc}", [FieldError("body.credential", str(exc))]
            ) from exc

    async def _issue_with_status(
        self,
        credential: dict[str, Any],
        signer: Signer,
        issuer_id: str,
        created: datetime | None,
        purpose: str,
        issued_by: str | None,
    ) -> dict[str, Any]:
        public_url = self.settings.public_url
        for _ in range(MAX_INDEX_DRAWS):
            status_list = await self.status_lists.current(purpose)
            index = self.choose_index(status_list.size)
            entry = BitstringStatusListEntry(
                status_list_credential=documents.status_list_url(public_url, status_list.id),
                status_list_index=index,
                status_purpose=purpose,
            )
            signed = await self._sign({**credential, "credentialStatus": entry.to_json()}, signer, created)
            subject = signed.get("credentialSubject")
            first = subject[0] if isinstance(subject, list) and subject else subject
            subject_id = first.get("id") if isinstance(first, dict) else None
            name = signed.get("name")
            row = {
                "id": uuid.uuid4(),
                "tenant_id": self.tenant_id,
                "name": (name if isinstance(name, str) else "VC-API credential")[:500],
                "issuer_id": issuer_id[:500],
                "subject_id": subject_id[:500] if isinstance(subject_id, str) else None,
                "status_list_id": status_list.id,
                "status_index": index,
                "document": json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
                "issued_at": datetime.now(UTC).replace(microsecond=0),
                "issued_by": issued_by,
            }
            if await self.repo.insert_credential(row):
                self.status_lists.taken(status_list.id)
                return signed
        raise IssuerKeyUnavailable("no free status list index found; try again")


class LocalDocuments:
    """Documents this service publishes itself, read from the database instead of fetched over HTTP
    (for verification: a verifier running here must not call its own public URL, which may not even
    be reachable from inside, nor count as an outbound request)."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.public = PublicBadgeService(session, settings)
        self.settings = settings

    def _slug(self, did: str) -> str | None:
        prefix = did_web_for_issuer(self.settings.public_url, "x")[: -len("x")]
        rest = did.split("#", 1)[0]
        if not rest.startswith(prefix):
            return None
        slug = rest[len(prefix) :]
        return slug if slug and ":" not in slug else None

    async def did_document(self, did: str) -> dict[str, Any] | None:
        """The DID document of one of this service's issuers, or None (not ours, or unknown)."""
        slug = self._slug(did)
        if slug is None:
            return None
        try:
            return await (await self.public.issuer(slug)).did_document()
        except IssuerNotFound:
            return None

    async def status_list(self, url: str) -> dict[str, Any] | None:
        """A status list credential this service serves (``<public_url>/status-lists/<uuid>``), or None."""
        prefix = f"{self.settings.public_url}/status-lists/"
        if not url.startswith(prefix):
            return None
        try:
            list_id = uuid.UUID(url[len(prefix) :])
        except ValueError:
            return None
        try:
            row = await self.public.status_list(list_id)
        except StatusListNotFound:
            return None
        assert row.signed is not None
        document: dict[str, Any] = json.loads(row.signed)
        return document
