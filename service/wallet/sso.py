"""Learners signing in to the wallet pages through their district's OpenID Connect provider.

The same provider row and client as the staff console's single sign-on (service.identity), with the wallet
pages' own callback (``/wallet/sso/callback``, which the district registers at its provider as a second
redirect URI) and a learner match: the ID token's verified email, or the configured sourcedId claim, must
name an active learner (role ``student``) on the roster.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.crypto import SecretBoxError, secret_box
from service.db import utcnow
from service.identity.errors import SignInRefused, UnknownPerson
from service.identity.models import OidcProvider, OidcRequest, StaffSession
from service.identity.oidc import OidcClient, OidcFailure, Provider, new_code_verifier, new_nonce, new_state
from service.identity.repository import IdentityRepository
from service.identity.service import hash_token, new_token
from service.roster.models import Person
from service.tenancy.models import Tenant
from service.tenancy.repository import TenantRepository
from service.wallet.service import LEARNER_ROLES, LEARNER_SESSION_METHOD, WALLET_PATH, Learner

CALLBACK_PATH = WALLET_PATH + "/sso/callback"


@dataclass(frozen=True)
class Started:
    url: str
    state: str


class LearnerSso:
    def __init__(self, session: AsyncSession, settings: Settings, oidc: OidcClient) -> None:
        self.session = session
        self.settings = settings
        self.oidc = oidc
        self.repo = IdentityRepository(session)

    def redirect_uri(self) -> str:
        return self.settings.public_url + CALLBACK_PATH

    async def provider_row(self, tenant: Tenant) -> OidcProvider | None:
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

    async def begin(self, tenant: Tenant) -> Started:
        row = await self.provider_row(tenant)
        if row is None:
            raise SignInRefused(f"{tenant.name} has not set up single sign-on; use a sign-in link")
        state, nonce, verifier = new_state(), new_nonce(), new_code_verifier()
        try:
            url = await self.oidc.authorization_url(
                self._provider(row),
                redirect_uri=self.redirect_uri(),
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
        return Started(url, state)

    async def finish(self, *, state: str, code: str, browser_state: str | None) -> Learner:
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
                redirect_uri=self.redirect_uri(),
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        except OidcFailure as exc:
            raise SignInRefused(str(exc)) from exc
        person = await self._learner(tenant, row, claims)
        token = new_token()
        session_row = StaffSession(
            tenant_id=tenant.id,
            person_id=person.id,
            token_hash=hash_token(token),
            method=LEARNER_SESSION_METHOD,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=self.settings.wallet.session_seconds),
        )
        await self.repo.add(session_row)
        return Learner(session_row, token, tenant, person)

    async def _learner(self, tenant: Tenant, row: OidcProvider, claims: dict[str, object]) -> Person:
        refusal = UnknownPerson(f"your account matches no learner on the roster of {tenant.name}")
        if row.match_by == "sourced_id":
            value = claims.get(row.sourced_id_claim)
            person = (
                await self.repo.active_person_by_sourced_id(tenant.id, value)
                if isinstance(value, str)
                else None
            )
            if person is None or person.role not in LEARNER_ROLES:
                raise refusal
            return person
        email = claims.get("email")
        if not isinstance(email, str) or not email or claims.get("email_verified") is False:
            raise UnknownPerson("the identity provider did not share a verified email address")
        for person in await self.repo.active_people_by_email(tenant.id, email):
            if person.role in LEARNER_ROLES:
                return person
        raise refusal
