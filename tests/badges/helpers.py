"""Shared by the badges tests: an earned award, the official schema, verification over HTTP."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.credentials import VerificationResult, check_status, document_resolver, verify_credential
from service.credentials.verify import verification_methods
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from tests.factories import PortraitFixture, make_portrait

SCHEMAS = Path(__file__).resolve().parents[1] / "conformance" / "openbadges" / "schemas"
_validator: jsonschema.protocols.Validator | None = None


def official_schema_errors(document: dict[str, Any]) -> list[str]:
    """Errors of ``document`` against the official ob_v3p0_achievementcredential_schema.json (read from
    the vendored conformance folder tests/conformance, not the library's copy)."""
    global _validator
    if _validator is None:
        schema = json.loads((SCHEMAS / "ob_v3p0_achievementcredential_schema.json").read_text())
        cls = jsonschema.validators.validator_for(schema)
        _validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator.iter_errors(document)]


@dataclass
class Earned:
    portrait: PortraitFixture
    achievement_id: uuid.UUID
    award_ids: list[uuid.UUID]


async def earn(
    session: AsyncSession, tenant_id: uuid.UUID, *, learners: int = 1, narrative: str = "Good work"
) -> Earned:
    """A published portrait, a badge for its first competency (one piece at Proficient), and evidence
    that earns it for ``learners`` learners: awards made by the real rule evaluation."""
    portrait = await make_portrait(session, tenant_id, competencies=2, learners=learners)
    achievement = await AwardService(session, tenant_id).create_achievement(
        AchievementCreate(
            title="Collaborator",
            description="Works well with others.",
            criteria="One piece of evidence at Proficient or above.",
            tags=["collaboration"],
            rule={
                "type": "evidence",
                "competency_ids": [str(portrait.competency_ids[0])],
                "min_level": 2,
                "min_count": 1,
            },
        )
    )
    evidence = EvidenceService(session, tenant_id)
    for learner in portrait.learner_ids:
        await evidence.create_one(
            EvidenceCreate(
                learner_id=learner,
                competency_id=portrait.competency_ids[0],
                source="rubric",
                level=2,
                class_id=portrait.class_ids[0],
                narrative=narrative,
                observed_at=datetime(2026, 10, 1, tzinfo=UTC),
            ),
            created_by="test",
        )
    from sqlmodel import col, select

    from service.awards.models import Award

    rows = await session.exec(
        select(Award.id).where(col(Award.tenant_id) == tenant_id, col(Award.achievement_id) == achievement.id)
    )
    return Earned(portrait=portrait, achievement_id=achievement.id, award_ids=list(rows.all()))


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


async def verify_via_http(http: httpx.AsyncClient, credential: dict[str, Any] | str) -> VerificationResult:
    """Verify with the library's verifier, resolving the issuer's did:web and the status list through
    the service's own public routes (what a remote verifier would fetch)."""
    documents: dict[str, Any] = {}
    for method in verification_methods(credential):
        did = method.split("#", 1)[0]
        if did.startswith("did:web:") and did not in documents:
            slug = did.rsplit(":", 1)[1]
            response = await http.get(f"/issuers/{slug}/did.json")
            assert response.status_code == 200, response.text
            documents[did] = response.json()
    lists: dict[str, Any] = {}
    parsed = credential if isinstance(credential, dict) else None
    if parsed is None:
        import jwt as pyjwt

        parsed = pyjwt.decode(credential, options={"verify_signature": False})
    status = parsed.get("credentialStatus")
    for entry in status if isinstance(status, list) else [status] if status else []:
        url = entry["statusListCredential"]
        response = await http.get(_path(url))
        assert response.status_code == 200, response.text
        lists[url] = response.json()
    return verify_credential(
        credential,
        resolve_key=document_resolver(documents),
        status_checker=lambda entry: check_status(entry, lists[entry["statusListCredential"]]),
    )
