"""The OpenID Connect round trip that both sign-ins share (staff on the console, learners on the wallet
pages): the district's provider, the pending request kept server-side (state hashed, nonce, PKCE verifier,
single use, short-lived), and the checked ID token's claims.

Who may sign in with those claims is the caller's business (a staff member, or a learner); each sign-in
has its own callback URL, registered at the district's provider.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.crypto import SecretBoxError, secret_box
from service.db import utcnow
from service.identity.errors import SignInRefused, SsoNotConfigured
from service.identity.models import OidcProvider, OidcRequest
from service.identity.oidc import OidcClient, OidcFailure, Provider, new_code_verifier, new_nonce, new_state
from service.identity.repository import IdentityRepository
from service.identity.tokens import hash_token
from service.tenancy.models import Tenant
from service.tenancy.repository import TenantRepository


@dataclass(frozen=True)
class SsoStart:
    url: str
    state: str


@dataclass(frozen=True)
class SsoAnswer:
    """A completed round trip: the district, its provider and the ID token's verified claims."""

    tenant: Tenant
    provider: OidcProvider
    claims: dict[str, object]


class OidcRoundTrip:
    def __init__(
        self, session: AsyncSession, settings: Settings, oidc: OidcClient, *, redirect_uri: str
    ) -> None:
        self.session = session
        self.settings = settings
        self.oidc = oidc
        self.redirect_uri = redirect_uri
        self.repo = IdentityRepository(session)

    async def provider_row(self, tenant: Tenant) -> OidcProvider | None:
        """The district's enabled provider, if it has set one up."""
        row = await self.repo.oidc_provider(tenant.id)
        return row if row is not None and row.enabled else None

    def _provider(self, row: OidcProvider) -> Provider:
        try:
            secret = secret_box(self.settings).decrypt(
                row.client_secret_encrypted, context=f"oidc:{row.tenant_id}"
            )
        except SecretBoxError as exc:
            raise SignInRefused("single sign-on is misconfigured: its client secret cannot be read") from exc
        return Provider(issuer=row.issuer, client_id=row.client_id, client_secret=secret, scopes=row.scopes)

    async def begin(self, tenant: Tenant) -> SsoStart:
        """The provider's authorization URL, and the state the browser keeps in a cookie."""
        row = await self.provider_row(tenant)
        if row is None:
            raise SsoNotConfigured(f"{tenant.name} has not set up single sign-on; use a sign-in link")
        state, nonce, verifier = new_state(), new_nonce(), new_code_verifier()
        try:
            url = await self.oidc.authorization_url(
                self._provider(row),
                redirect_uri=self.redirect_uri,
                state=state,
                nonce=nonce,
                code_verifier=verifier,
            )
        except OidcFailure as exc:
            raise SignInRefused(str(exc)) from exc
        now = utcnow()
        await self.repo.add(
            OidcRequest(
                tenant_id=tenant.id,
                state_hash=hash_token(state),
                nonce=nonce,
                code_verifier=verifier,
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.console.oidc_request_ttl_seconds),
            )
        )
        return SsoStart(url=url, state=state)

    async def finish(self, *, state: str, code: str, browser_state: str | None) -> SsoAnswer:
        """The provider's redirect back: the state must be the one this browser started with, unused and
        unexpired; the code is exchanged and the ID token checked (nonce, PKCE verifier)."""
        if not browser_state or not hmac.compare_digest(state, browser_state):
            raise SignInRefused(
                "this sign-in did not start in this browser (or its cookie was lost); start again"
            )
        pending = await self.repo.oidc_request_by_hash(hash_token(state))
        now = utcnow()
        if pending is None or pending.used_at is not None or pending.expires_at <= now:
            raise SignInRefused("this sign-in has expired or was already completed; start again")
        if not await self.repo.claim_oidc_request(pending.id, now):
            raise SignInRefused("this sign-in was already completed; start again")
        tenant = await TenantRepository(self.session).get(pending.tenant_id)
        row = await self.provider_row(tenant) if tenant is not None and tenant.status == "active" else None
        if tenant is None or row is None:
            raise SignInRefused("single sign-on is no longer set up for this district")
        try:
            claims = await self.oidc.sign_in(
                self._provider(row),
                code=code,
                redirect_uri=self.redirect_uri,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        except OidcFailure as exc:
            raise SignInRefused(str(exc)) from exc
        return SsoAnswer(tenant, row, claims)
