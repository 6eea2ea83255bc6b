"""The W3C VC-API issuer of a district (``/vc-api/issuers/{slug}/credentials/issue``) and the documents
it resolves locally."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges import documents, group_commit, signing
from service.badges.errors import (
    InvalidCredential,
    IssuerKeyUnavailable,
    IssuerNotFound,
    StatusListNotFound,
)
from service.badges.issuance import MAX_INDEX_DRAWS, IndexChooser
from service.badges.issuers import IssuerService
from service.badges.public import PublicBadgeService
from service.badges.repository import BadgeRepository
from service.badges.status_lists import StatusListService
from service.config import Settings
from service.credentials import (
    BitstringStatusListEntry,
    CredentialError,
    Signer,
    did_key,
    did_key_verification_method,
    did_web_for_issuer,
)
from service.credentials.contexts import VC_V2
from service.credentials.errors import SafeModeError, SchemaValidationError
from service.credentials.timeutil import parse_datetime
from service.errors import FieldError


class VcApiIssuer:
    """W3C VC-API ``/credentials/issue`` for a district: signs a caller's credential (eddsa-rdfc-2022)
    as the district's did:web or as the did:key of its current Ed25519 key. Nothing is stored."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.issuers = IssuerService(session, tenant_id, settings)
        self.status_lists = StatusListService(session, tenant_id, settings)
        self.repo = BadgeRepository(session, tenant_id)
        self.session = session
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
    ) -> bytes:
        """Sign ``credential``; answers the signed credential's compact JSON. With ``status_purpose``
        (VC-API ``options.credentialStatus``) it also gets a ``BitstringStatusListEntry`` at a random
        free index of the district's lists and is stored like any issued credential, so that
        ``POST /api/v1/credentials/{uuid}/revoke`` can revoke it; without, nothing is stored."""
        from service.credentials.contexts import DATA_INTEGRITY_V2, VC_V1
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

    async def _sign(self, credential: dict[str, Any], signer: Signer, created: datetime | None) -> bytes:
        types = credential.get("type") or []
        try:
            # Off the event loop, in a worker process (service.badges.signing), which also serializes
            # the signed document: this process only passes the bytes on (and stores them).
            return await signing.sign_json(
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
    ) -> bytes:
        public_url = self.settings.public_url
        # Signing adds the proof only: the name and subject are the caller's.
        subject = credential.get("credentialSubject")
        first = subject[0] if isinstance(subject, list) and subject else subject
        subject_id = first.get("id") if isinstance(first, dict) else None
        name = credential.get("name")
        for _ in range(MAX_INDEX_DRAWS):
            status_list = await self.status_lists.current(purpose)
            index = self.choose_index(status_list.size)
            entry = BitstringStatusListEntry(
                status_list_credential=documents.status_list_url(public_url, status_list.id),
                status_list_index=index,
                status_purpose=purpose,
            )
            signed = await self._sign({**credential, "credentialStatus": entry.to_json()}, signer, created)
            row = {
                "id": uuid.uuid4(),
                "tenant_id": self.tenant_id,
                "name": (name if isinstance(name, str) else "VC-API credential")[:500],
                "issuer_id": issuer_id[:500],
                "subject_id": subject_id[:500] if isinstance(subject_id, str) else None,
                "status_list_id": status_list.id,
                "status_index": index,
                "document": signed.decode("utf-8"),
                "issued_at": datetime.now(UTC).replace(microsecond=0),
                "issued_by": issued_by,
            }
            # Written with the rows of concurrent requests when this request wrote nothing before
            # (service.badges.group_commit); else in the request's own transaction.
            inserted = await group_commit.insert(self.session, row)
            if inserted is None:
                inserted = await self.repo.insert_credential(row)
            if inserted:
                self.status_lists.taken(status_list.id)
                return signed
            self.status_lists.collided(status_list.id)
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
