"""A district as an issuer: its did:web, signing keys (created on first need, rotated, encrypted at rest and
decrypted once per process), DID document and JWKS."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service import hotcache
from service.badges import documents
from service.badges.errors import (
    IssuerKeyUnavailable,
    IssuerNotFound,
)
from service.badges.models import IssuerKey
from service.badges.repository import BadgeRepository
from service.badges.schemas import (
    IssuerKeyRead,
)
from service.config import Settings
from service.credentials import IssuerKey as DidKey
from service.credentials import (
    Profile,
    Signer,
    build_did_document,
    did_web_for_issuer,
    generate_private_key,
    jwks,
    public_key_from_jwk,
    public_key_to_jwk,
)
from service.credentials.contexts import OB_V3P0, VC_V2
from service.credentials.keys import PrivateKey, private_key_from_pem, private_key_to_pem
from service.crypto import secret_box
from service.schemas import PageParams
from service.tenancy.models import Tenant

KIND_PREFIX = {"Ed25519": "ed25519", "P-256": "p256", "RSA": "rsa"}
KIND_ORDER = ("Ed25519", "P-256", "RSA")

_private_keys: dict[tuple[uuid.UUID, str], PrivateKey] = {}


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
