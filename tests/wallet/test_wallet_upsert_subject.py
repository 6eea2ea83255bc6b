"""Upsert stores a credential for the token's learner whatever subject the credential names.

OB 3.0 (and CLR 2.0) describe upsert as "appending it to the list of credentials for the subject" of the
access token: a host keeps what its user holds. A credential's ``credentialSubject`` may name the learner by
a DID the wallet controls, an ``identifier`` (hashed email) or nothing at all, so the service does not require
it to be the learner's URN. What it guarantees instead: the credential lands only in the token owner's list,
never in the list of the person it names."""

from __future__ import annotations

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.documents import learner_urn
from service.config import Settings
from service.credentials.builder import sign_data_integrity
from service.tenancy.repository import TenantRepository
from service.wallet.models import WalletCredential
from service.wallet.scopes import OB
from tests.wallet.helpers import code_for, district, exchange, oauth, pkce, register
from tests.wallet.test_wallet_flow import other_issuer_badge


async def test_upsert_keeps_credentials_about_other_subjects_in_the_token_owners_list(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    tenant = await TenantRepository(session).get_by_slug(d.slug)
    assert tenant is not None
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, f"{OB.read} {OB.upsert}")
    grant = await exchange(web, d, client, code, verifier)
    assert grant.status_code == 200, grant.text
    bearer = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    url = f"/ims/ob/v3p0/{d.slug}/credentials"

    # A subject the wallet controls (a DID), and one naming another learner of the same district.
    other_learner = learner_urn(tenant.id, d.other_learner_id)
    for n, subject in enumerate(("did:example:wallet-holder-7f3a", other_learner)):
        unsigned, signer = other_issuer_badge(subject, "2026-01-01T00:00:00Z")
        unsigned["id"] = f"urn:uuid:2f0b3c52-5b1c-4c55-a5c2-6f3d1e0b9a7{n}"
        created = await web.post(url, json=sign_data_integrity(unsigned, signer), headers=bearer)
        assert created.status_code == 201, created.text

    listed = await web.get(url, headers=bearer)
    assert listed.headers["x-total-count"] == "3"  # the learner's own badge and the two upserted
    subjects = [c["credentialSubject"]["id"] for c in listed.json()["credential"]]
    assert "did:example:wallet-holder-7f3a" in subjects and other_learner in subjects

    owners = await session.exec(
        select(WalletCredential.person_id).where(col(WalletCredential.tenant_id) == tenant.id)
    )
    assert owners.all() == [d.learner_id, d.learner_id]
    named = await session.exec(
        select(WalletCredential).where(col(WalletCredential.person_id) == d.other_learner_id)
    )
    assert named.all() == []
