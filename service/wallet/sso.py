"""Learners signing in to the wallet pages through their district's OpenID Connect provider.

The same provider, client and round trip as the staff console's single sign-on (service.identity.sso),
with the wallet pages' own callback (``/wallet/sso/callback``, which the district registers at its
provider as a second redirect URI) and a learner match: the ID token's verified email, or the configured
sourcedId claim, must name an active learner (role ``student``) on the roster.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import utcnow
from service.identity.errors import UnknownPerson
from service.identity.models import OidcProvider, StaffSession
from service.identity.oidc import OidcClient
from service.identity.repository import IdentityRepository
from service.identity.sso import OidcRoundTrip, SsoStart
from service.identity.tokens import hash_token, new_token
from service.roster.models import Person
from service.tenancy.models import Tenant
from service.wallet.service import LEARNER_ROLES, LEARNER_SESSION_METHOD, WALLET_PATH, Learner

CALLBACK_PATH = WALLET_PATH + "/sso/callback"


class LearnerSso:
    def __init__(self, session: AsyncSession, settings: Settings, oidc: OidcClient) -> None:
        self.settings = settings
        self.repo = IdentityRepository(session)
        self.trip = OidcRoundTrip(session, settings, oidc, redirect_uri=settings.public_url + CALLBACK_PATH)

    async def provider_row(self, tenant: Tenant) -> OidcProvider | None:
        return await self.trip.provider_row(tenant)

    async def begin(self, tenant: Tenant) -> SsoStart:
        return await self.trip.begin(tenant)

    async def finish(self, *, state: str, code: str, browser_state: str | None) -> Learner:
        answer = await self.trip.finish(state=state, code=code, browser_state=browser_state)
        tenant = answer.tenant
        person = await self._learner(tenant, answer.provider, answer.claims)
        now = utcnow()
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
