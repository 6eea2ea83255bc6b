"""Identity use cases: staff access, sessions, one-time sign-in links, OpenID Connect, role grants.

Services flush; transports commit. A refused sign-in raises, so the transport rolls back and nothing
of the attempt is written (a reused link stays used, an unknown person gets no session).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.crypto import secret_box
from service.db import after_commit, declare_write_intent, utcnow
from service.identity.errors import InvalidRole, NotAllowed, SignInRefused, UnknownPerson
from service.identity.mailer import Mailer, mail_sign_in_link, mailer_for
from service.identity.models import OidcProvider, SignInLink, StaffRoleGrant, StaffSession
from service.identity.oidc import OidcClient
from service.identity.repository import IdentityRepository
from service.identity.roles import (
    SCHOOL_ROLES,
    STAFF_ROLES,
    TEACHING_ENROLLMENT_ROLES,
    StaffAccess,
    roster_roles,
)
from service.identity.schemas import OidcProviderSet, RoleGrantCreate
from service.identity.sso import OidcRoundTrip, SsoStart
from service.identity.tokens import hash_token, new_token
from service.roster.models import Org, Person
from service.roster.repository import RosterRepository
from service.tenancy.models import Tenant
from service.tenancy.repository import TenantRepository

#: Cookie-borne tokens: 32 random bytes, base64url (43 characters).
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
#: At most this many unused, unexpired links per person: more requests send nothing (mailbox flooding).
MAX_OPEN_LINKS = 3
#: A session's last-seen time is written at most this often (not on every request).
TOUCH_INTERVAL = timedelta(seconds=60)
CONSOLE_PATH = "/console"
LINK_PATH = CONSOLE_PATH + "/sign-in/link/"
SSO_CALLBACK_PATH = CONSOLE_PATH + "/sso/callback"


def well_formed(token: str) -> bool:
    return bool(_TOKEN_RE.fullmatch(token))


def csrf_token(secret: str, binding: str) -> str:
    """The form token of a browser: an HMAC of its session (or pre-session) cookie, so nothing is stored."""
    return hmac.new(secret.encode(), b"csrf\x00" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret: str, binding: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(secret, binding), submitted or "")


@dataclass(frozen=True)
class SignedIn:
    """A signed-in browser: its session row, cookie token, person and what they may see."""

    session: StaffSession
    token: str
    tenant: Tenant
    person: Person
    access: StaffAccess


class IdentityService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        *,
        mailer: Mailer | None = None,
        oidc: OidcClient | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.repo = IdentityRepository(session)
        self.tenants = TenantRepository(session)
        self.roster = RosterRepository(session)
        self.mailer = mailer or mailer_for(settings)
        self._oidc = oidc

    @property
    def oidc(self) -> OidcClient:
        if self._oidc is None:
            self._oidc = OidcClient.from_settings(self.settings)
        return self._oidc

    # -- access ---------------------------------------------------------------------------------

    async def access_for(self, tenant_id: uuid.UUID, person: Person) -> StaffAccess:
        """Roles from the roster and from grants, and the schools and classes they reach."""
        org_roles = await self.repo.org_roles(tenant_id, person.id)
        own_orgs = {org_id for org_id, _ in org_roles}
        from_roster = roster_roles({person.role, *(role for _, role in org_roles)})
        roles: set[str] = set(from_roster)
        schools: set[uuid.UUID] = set(own_orgs) if from_roster & SCHOOL_ROLES else set()
        for grant in await self.repo.grants_of(tenant_id, person.id):
            roles.add(grant.role)
            if grant.role in SCHOOL_ROLES:
                schools |= {grant.org_id} if grant.org_id else own_orgs
        classes: set[uuid.UUID] = set()
        if "educator" in roles:
            taught = await self.repo.classes_taught(tenant_id, person.id, TEACHING_ENROLLMENT_ROLES)
            classes = {class_id for class_id, _ in taught}
        return StaffAccess(
            tenant_id=tenant_id,
            person_id=person.id,
            roles=frozenset(roles),
            school_ids=frozenset(schools),
            class_ids=frozenset(classes),
        )

    async def learner_visible(self, access: StaffAccess, learner_id: uuid.UUID) -> bool:
        orgs, classes = await self.repo.learner_reach(access.tenant_id, learner_id)
        return access.can_see_learner(orgs, classes)

    async def _staff(self, tenant_id: uuid.UUID, person: Person | None) -> tuple[Person, StaffAccess]:
        if person is None or person.status != "active":
            raise UnknownPerson("this person is not an active member of the district's roster")
        access = await self.access_for(tenant_id, person)
        if not access.is_staff:
            raise UnknownPerson(
                "the console is for the district's staff; the roster does not list this person "
                "as a teacher, counselor or administrator"
            )
        return person, access

    async def staff_by_email(self, tenant: Tenant, email: str) -> tuple[Person, StaffAccess]:
        """The staff member with this roster email (learners and guardians sharing it are passed over)."""
        for person in await self.repo.active_people_by_email(tenant.id, email):
            access = await self.access_for(tenant.id, person)
            if access.is_staff:
                return person, access
        raise UnknownPerson(f"no staff member of {tenant.name} has the email address {email} on the roster")

    async def tenant_by_slug(self, slug: str) -> Tenant:
        tenant = await self.tenants.get_by_slug(slug.strip().lower())
        if tenant is None or tenant.status != "active":
            raise SignInRefused(f"there is no district '{slug}' on this service")
        return tenant

    # -- sessions -------------------------------------------------------------------------------

    async def start_session(
        self, tenant: Tenant, person: Person, access: StaffAccess, method: str
    ) -> SignedIn:
        now = utcnow()
        await self.repo.delete_expired(now)  # housekeeping, on the rare write that signs someone in
        token = new_token()
        row = StaffSession(
            tenant_id=tenant.id,
            person_id=person.id,
            token_hash=hash_token(token),
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=self.settings.console.session_absolute_seconds),
        )
        await self.repo.add(row)
        return SignedIn(session=row, token=token, tenant=tenant, person=person, access=access)

    async def resume(self, token: str | None) -> SignedIn | None:
        """The session a cookie names, if it is still good (not revoked, idle or past its end)."""
        if not token or not well_formed(token):
            return None
        row = await self.repo.session_by_hash(hash_token(token))
        now = utcnow()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.last_seen_at + timedelta(seconds=self.settings.console.session_idle_seconds) <= now:
            return None
        tenant = await self.tenants.get(row.tenant_id)
        if tenant is None or tenant.status != "active":
            return None
        person = await self.repo.person(row.tenant_id, row.person_id)
        if person is None or person.status != "active":
            return None
        access = await self.access_for(row.tenant_id, person)
        if not access.is_staff:
            return None
        if now - row.last_seen_at >= TOUCH_INTERVAL and self.session.bind is not None:
            after_commit(self.session, partial(_touch_session, self.session.bind, row.id, now))
        return SignedIn(session=row, token=token, tenant=tenant, person=person, access=access)

    async def sign_out(self, current: SignedIn) -> None:
        current.session.revoked_at = utcnow()
        await self.repo.add(current.session)

    async def sign_out_everywhere(self, current: SignedIn) -> int:
        """Ends every session of the person (other browsers and devices too)."""
        return await self.repo.revoke_sessions(current.tenant.id, current.person.id, utcnow())

    # -- one-time links -------------------------------------------------------------------------

    def link_url(self, token: str) -> str:
        return f"{self.settings.public_url}{LINK_PATH}{token}"

    async def create_link(self, tenant: Tenant, person: Person) -> str:
        """A new one-time sign-in URL for a staff member (also what the mailer sends)."""
        await self._staff(tenant.id, person)
        token = new_token()
        now = utcnow()
        await self.repo.add(
            SignInLink(
                tenant_id=tenant.id,
                person_id=person.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.console.link_ttl_seconds),
            )
        )
        return self.link_url(token)

    async def link_for_email(self, tenant_slug: str, email: str) -> str:
        tenant = await self.tenant_by_slug(tenant_slug)
        person, _ = await self.staff_by_email(tenant, email)
        return await self.create_link(tenant, person)

    async def email_link(self, tenant_slug: str, email: str) -> bool:
        """Mail a sign-in link to the roster address, after commit. False when nobody matches: the page
        says the same either way, so that it does not tell who is on the roster."""
        try:
            tenant = await self.tenant_by_slug(tenant_slug)
            person, _ = await self.staff_by_email(tenant, email)
        except (SignInRefused, UnknownPerson):
            return False
        if await self.repo.open_links(tenant.id, person.id, utcnow()) >= MAX_OPEN_LINKS:
            return False  # earlier links still work; the page says the same as always
        url = await self.create_link(tenant, person)
        mail_sign_in_link(
            self.session,
            self.settings,
            self.mailer,
            to=person.email or email,
            name=person.preferred_name or person.given_name,
            subject=f"Sign in to Portrait ({tenant.name})",
            invitation=f"Open this link to sign in to the Portrait staff console of {tenant.name}",
            url=url,
        )
        return True

    async def redeem_link(self, token: str) -> SignedIn:
        """Open a one-time link: a new session, the link used up."""
        if not well_formed(token):
            raise SignInRefused("this sign-in link is not valid: it may have been cut short or changed")
        link = await self.repo.link_by_hash(hash_token(token))
        if link is None:
            raise SignInRefused("this sign-in link is not valid: it may have been cut short or changed")
        now = utcnow()
        if link.used_at is not None:
            raise SignInRefused("this sign-in link has already been used; each link works once")
        if link.expires_at <= now:
            raise SignInRefused("this sign-in link has expired; ask for a new one")
        if not await self.repo.claim_link(link.id, now):
            raise SignInRefused("this sign-in link has already been used; each link works once")
        tenant = await self.tenants.get(link.tenant_id)
        if tenant is None or tenant.status != "active":
            raise SignInRefused("the district of this sign-in link is not active")
        person, access = await self._staff(tenant.id, await self.repo.person(tenant.id, link.person_id))
        return await self.start_session(tenant, person, access, "link")

    # -- OpenID Connect -------------------------------------------------------------------------

    async def set_oidc_provider(self, tenant: Tenant, data: OidcProviderSet) -> OidcProvider:
        box = secret_box(self.settings)
        row = await self.repo.oidc_provider(tenant.id) or OidcProvider(
            tenant_id=tenant.id, issuer="", client_id="", client_secret_encrypted=""
        )
        row.issuer = data.issuer
        row.client_id = data.client_id
        row.client_secret_encrypted = box.encrypt(data.client_secret, context=f"oidc:{tenant.id}")
        row.scopes = data.scopes
        row.match_by = data.match_by
        row.sourced_id_claim = data.sourced_id_claim
        row.enabled = data.enabled
        row.updated_at = utcnow()
        await self.repo.add(row)
        return row

    async def sso_tenant(self, tenant_slug: str) -> Tenant | None:
        """The tenant of this slug when it has single sign-on set up (the sign-in page offers it)."""
        tenant = await self.tenants.get_by_slug(tenant_slug.strip().lower())
        if tenant is None or tenant.status != "active" or await self.oidc_provider(tenant) is None:
            return None
        return tenant

    def round_trip(self) -> OidcRoundTrip:
        return OidcRoundTrip(
            self.session, self.settings, self.oidc, redirect_uri=self.settings.public_url + SSO_CALLBACK_PATH
        )

    async def oidc_provider(self, tenant: Tenant) -> OidcProvider | None:
        return await self.round_trip().provider_row(tenant)

    async def begin_sso(self, tenant_slug: str) -> SsoStart:
        return await self.round_trip().begin(await self.tenant_by_slug(tenant_slug))

    async def finish_sso(self, *, state: str, code: str, browser_state: str | None) -> SignedIn:
        """The provider's redirect back: the state must be the one this browser started with."""
        answer = await self.round_trip().finish(state=state, code=code, browser_state=browser_state)
        person = await self._match(answer.tenant, answer.provider, answer.claims)
        person, access = await self._staff(answer.tenant.id, person)
        return await self.start_session(answer.tenant, person, access, "oidc")

    async def _match(self, tenant: Tenant, row: OidcProvider, claims: dict[str, object]) -> Person:
        if row.match_by == "sourced_id":
            value = claims.get(row.sourced_id_claim)
            person = (
                await self.repo.active_person_by_sourced_id(tenant.id, value)
                if isinstance(value, str)
                else None
            )
            if person is None:
                raise UnknownPerson(
                    f"your account at the identity provider ({value}) matches nobody on the roster "
                    f"of {tenant.name}"
                )
            return person
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise UnknownPerson("the identity provider did not share your email address")
        if claims.get("email_verified") is False:
            raise UnknownPerson("the identity provider has not verified your email address")
        person, _ = await self.staff_by_email(tenant, email)
        return person

    # -- role grants ----------------------------------------------------------------------------

    async def grant_role(
        self, actor: StaffAccess | None, tenant: Tenant, data: RoleGrantCreate
    ) -> StaffRoleGrant:
        """A district admin gives a person a console role (``actor`` None: the local operator, the CLI)."""
        if actor is not None and (actor.tenant_id != tenant.id or not actor.district_wide):
            raise NotAllowed("only a district admin can grant console roles")
        if data.role not in STAFF_ROLES:
            raise InvalidRole(f"unknown role {data.role}")
        person = await self.repo.person(tenant.id, data.person_id)
        if person is None or person.role in ("student", "parent", "guardian", "relative"):
            raise InvalidRole("console roles go to staff on the roster, not to learners or families")
        if data.org_id is not None:
            if data.role not in SCHOOL_ROLES:
                raise InvalidRole(f"the {data.role} role covers no single school")
            if await self.roster.get(Org, tenant.id, data.org_id) is None:
                raise InvalidRole(f"school {data.org_id} not found")
        for existing in await self.repo.grants_of(tenant.id, person.id):
            if existing.role == data.role and existing.org_id == data.org_id:
                return existing
        grant = StaffRoleGrant(
            tenant_id=tenant.id,
            person_id=person.id,
            role=data.role,
            org_id=data.org_id,
            granted_by=actor.person_id if actor else None,
        )
        await self.repo.add(grant)
        return grant

    async def grant_role_by_email(
        self, actor: StaffAccess, tenant: Tenant, email: str, role: str, org_id: uuid.UUID | None
    ) -> StaffRoleGrant:
        """The console's form: the person is named by their roster email."""
        if not actor.district_wide:
            raise NotAllowed("only a district admin can grant console roles")
        if role not in STAFF_ROLES:
            raise InvalidRole(f"choose a role: {', '.join(STAFF_ROLES)}")
        people = [
            p
            for p in await self.repo.active_people_by_email(tenant.id, email)
            if p.role not in ("student", "parent", "guardian", "relative")
        ]
        if not people:
            raise InvalidRole(f"no staff member of {tenant.name} has the email address {email} on the roster")
        data = RoleGrantCreate(person_id=people[0].id, role=role, org_id=org_id)
        return await self.grant_role(actor, tenant, data)

    async def list_grants(self, actor: StaffAccess, limit: int = 200) -> list[StaffRoleGrant]:
        if not actor.district_wide:
            raise NotAllowed("only a district admin can see console role grants")
        return list(await self.repo.grants_in(actor.tenant_id, limit))

    async def revoke_grant(self, actor: StaffAccess, grant_id: uuid.UUID) -> None:
        if not actor.district_wide:
            raise NotAllowed("only a district admin can take console roles away")
        grant = await self.repo.grant(actor.tenant_id, grant_id)
        if grant is not None:
            await self.repo.delete(grant)

    async def grants_of(self, tenant_id: uuid.UUID, person_id: uuid.UUID) -> list[StaffRoleGrant]:
        return list(await self.repo.grants_of(tenant_id, person_id))

    async def purge_expired(self, now: datetime | None = None) -> None:
        await self.repo.delete_expired(now or utcnow())


async def _touch_session(bind: AsyncEngine | AsyncConnection, session_id: uuid.UUID, now: datetime) -> None:
    """Record a session's last-seen time in a short write transaction of its own, after the request's.

    A page view only reads: written inside the request's read transaction, the touch would be that
    transaction's first write, and SQLite refuses such an upgrade at once ("database is locked") when
    another connection (a cohort job) committed in the meantime. Its own IMMEDIATE transaction waits
    its turn instead; if it fails all the same, the session only looks idle a minute earlier.
    """
    async with AsyncSession(bind) as session:
        await declare_write_intent(session)
        await session.execute(
            update(StaffSession)
            .where(col(StaffSession.id) == session_id, col(StaffSession.last_seen_at) < now)
            .values(last_seen_at=now)
        )
        await session.commit()
