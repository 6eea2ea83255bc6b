"""Issued credentials of our own for page tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from service.roster.schemas import PersonUpdate
from service.roster.service import RosterService
from tests.badges.helpers import earn

EMAIL = "Aaliyah.Garcia@Students.Example.org"


@dataclass(frozen=True)
class Issued:
    id: uuid.UUID
    url: str
    document: str
    jwt: str
    sourced_id: str
    achievement_id: uuid.UUID
    learner_id: uuid.UUID


async def issue_one(session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> Issued:
    """One committed credential of a learner with an e-mail address and a SIS id."""
    earned = await earn(session, tenant_id, learners=1)
    learner = earned.portrait.learner_ids[0]
    person = await RosterService(session, tenant_id).update_person(learner, PersonUpdate(email=EMAIL))
    service = CredentialService(session, tenant_id, settings)
    await service.issue_awards(earned.award_ids)
    await session.commit()
    row = service.issued[0]
    jwt = await service.jwt(row)  # signed on first request since issuance stores only eddsa
    await session.commit()
    return Issued(
        id=row.id,
        url=f"{settings.public_url}/credentials/{row.id}",
        document=row.document,
        jwt=jwt,
        sourced_id=person.sourced_id or "",
        achievement_id=earned.achievement_id,
        learner_id=learner,
    )
