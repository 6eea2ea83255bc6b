"""Every query of the identity domain; each is scoped by tenant or by a unique token hash."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.identity.models import OidcProvider, OidcRequest, SignInLink, StaffRoleGrant, StaffSession
from service.roster.models import Class, Enrollment, Person, PersonOrg


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: object) -> None:
        self.session.add(obj)
        await self.session.flush()

    # -- people and what they reach -------------------------------------------------------------

    async def person(self, tenant_id: uuid.UUID, person_id: uuid.UUID) -> Person | None:
        query = select(Person).where(col(Person.tenant_id) == tenant_id, col(Person.id) == person_id)
        return (await self.session.exec(query)).first()

    async def active_people_by_email(self, tenant_id: uuid.UUID, email: str) -> Sequence[Person]:
        query = select(Person).where(
            col(Person.tenant_id) == tenant_id,
            func.lower(col(Person.email)) == email.strip().lower(),
            col(Person.status) == "active",
        )
        return (await self.session.exec(query.order_by(col(Person.created_at), col(Person.id)))).all()

    async def active_person_by_sourced_id(self, tenant_id: uuid.UUID, sourced_id: str) -> Person | None:
        query = select(Person).where(
            col(Person.tenant_id) == tenant_id,
            col(Person.sourced_id) == sourced_id,
            col(Person.status) == "active",
        )
        return (await self.session.exec(query)).first()

    async def org_roles(self, tenant_id: uuid.UUID, person_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
        """(org, OneRoster role) pairs of a person."""
        query = select(PersonOrg.org_id, PersonOrg.role).where(
            col(PersonOrg.tenant_id) == tenant_id, col(PersonOrg.person_id) == person_id
        )
        return [(org_id, role) for org_id, role in (await self.session.exec(query)).all()]

    async def classes_taught(
        self, tenant_id: uuid.UUID, person_id: uuid.UUID, roles: frozenset[str]
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(class, school) of every active class the person teaches."""
        query = (
            select(Class.id, Class.school_id)
            .join(Enrollment, col(Enrollment.class_id) == col(Class.id))
            .where(
                col(Enrollment.tenant_id) == tenant_id,
                col(Enrollment.person_id) == person_id,
                col(Enrollment.role).in_(roles),
                col(Enrollment.status) == "active",
                col(Class.status) == "active",
            )
        )
        return [(c, s) for c, s in (await self.session.exec(query)).all()]

    async def learner_reach(
        self, tenant_id: uuid.UUID, learner_id: uuid.UUID
    ) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        """The orgs and classes of a learner (for the access check of a learner page)."""
        orgs = select(PersonOrg.org_id).where(
            col(PersonOrg.tenant_id) == tenant_id, col(PersonOrg.person_id) == learner_id
        )
        classes = select(Enrollment.class_id).where(
            col(Enrollment.tenant_id) == tenant_id,
            col(Enrollment.person_id) == learner_id,
            col(Enrollment.role) == "student",
        )
        return set((await self.session.exec(orgs)).all()), set((await self.session.exec(classes)).all())

    # -- role grants ----------------------------------------------------------------------------

    async def grants_of(self, tenant_id: uuid.UUID, person_id: uuid.UUID) -> Sequence[StaffRoleGrant]:
        query = select(StaffRoleGrant).where(
            col(StaffRoleGrant.tenant_id) == tenant_id, col(StaffRoleGrant.person_id) == person_id
        )
        return (await self.session.exec(query.order_by(col(StaffRoleGrant.created_at)))).all()

    async def grants_in(self, tenant_id: uuid.UUID, limit: int) -> Sequence[StaffRoleGrant]:
        query = (
            select(StaffRoleGrant)
            .where(col(StaffRoleGrant.tenant_id) == tenant_id)
            .order_by(col(StaffRoleGrant.created_at).desc(), col(StaffRoleGrant.id))
            .limit(limit)
        )
        return (await self.session.exec(query)).all()

    async def grant(self, tenant_id: uuid.UUID, grant_id: uuid.UUID) -> StaffRoleGrant | None:
        query = select(StaffRoleGrant).where(
            col(StaffRoleGrant.tenant_id) == tenant_id, col(StaffRoleGrant.id) == grant_id
        )
        return (await self.session.exec(query)).first()

    async def delete(self, obj: object) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    # -- sessions -------------------------------------------------------------------------------

    async def session_by_hash(self, token_hash: str) -> StaffSession | None:
        query = select(StaffSession).where(col(StaffSession.token_hash) == token_hash)
        return (await self.session.exec(query)).first()

    async def revoke_sessions(self, tenant_id: uuid.UUID, person_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.exec(
            update(StaffSession)
            .where(
                col(StaffSession.tenant_id) == tenant_id,
                col(StaffSession.person_id) == person_id,
                col(StaffSession.revoked_at).is_(None),
            )
            .values(revoked_at=now)
        )
        return int(result.rowcount or 0)

    async def delete_expired(self, now: datetime) -> None:
        """Housekeeping: sessions, links and SSO requests past their end are of no use."""
        await self.session.exec(delete(StaffSession).where(col(StaffSession.expires_at) < now))
        await self.session.exec(delete(SignInLink).where(col(SignInLink.expires_at) < now))
        await self.session.exec(delete(OidcRequest).where(col(OidcRequest.expires_at) < now))

    # -- links and SSO --------------------------------------------------------------------------

    async def link_by_hash(self, token_hash: str) -> SignInLink | None:
        query = select(SignInLink).where(col(SignInLink.token_hash) == token_hash)
        return (await self.session.exec(query)).first()

    async def open_links(self, tenant_id: uuid.UUID, person_id: uuid.UUID, now: datetime) -> int:
        """Unused, unexpired links of a person (a cap keeps the form from flooding a mailbox)."""
        query = select(func.count()).where(
            col(SignInLink.tenant_id) == tenant_id,
            col(SignInLink.person_id) == person_id,
            col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now,
        )
        return int((await self.session.exec(query)).one())

    async def claim_link(self, link_id: uuid.UUID, now: datetime) -> bool:
        """Mark a link used; False when another request used it first (a link works once)."""
        result = await self.session.exec(
            update(SignInLink)
            .where(col(SignInLink.id) == link_id, col(SignInLink.used_at).is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)

    async def oidc_provider(self, tenant_id: uuid.UUID) -> OidcProvider | None:
        query = select(OidcProvider).where(col(OidcProvider.tenant_id) == tenant_id)
        return (await self.session.exec(query)).first()

    async def oidc_request_by_hash(self, state_hash: str) -> OidcRequest | None:
        query = select(OidcRequest).where(col(OidcRequest.state_hash) == state_hash)
        return (await self.session.exec(query)).first()

    async def claim_oidc_request(self, request_id: uuid.UUID, now: datetime) -> bool:
        result = await self.session.exec(
            update(OidcRequest)
            .where(col(OidcRequest.id) == request_id, col(OidcRequest.used_at).is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)
