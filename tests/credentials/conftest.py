"""Fixtures for the credentials library tests: conformance files, the test-vector key, sample issuers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from service.credentials import (
    Achievement,
    AchievementSubject,
    Alignment,
    BitstringStatusListEntry,
    Criteria,
    Evidence,
    IdentityObject,
    Image,
    IssuerKey,
    KeyResolutionError,
    OpenBadgeCredential,
    Profile,
    Result,
    ResultDescription,
    RubricCriterionLevel,
    Signer,
    VerificationKey,
    build_did_document,
    did_web_for_issuer,
    document_resolver,
    generate_private_key,
    public_key_from_multibase,
    resolve_did_key_method,
)
from service.credentials.keys import KeyResolver, ed25519_private_from_multibase

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
OPENBADGES = CONFORMANCE / "openbadges"
EXAMPLES = OPENBADGES / "examples"
TESTVECTORS = OPENBADGES / "testvectors"
FIXTURES = OPENBADGES / "validator-fixtures"

PUBLIC_URL = "http://127.0.0.1:8000"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vector_key() -> dict[str, Any]:
    """The public eddsa-rdfc-2022 test key of the OB 3.0 / CLR 2.0 implementation guides."""
    data: dict[str, Any] = load(TESTVECTORS / "eddsa-rdfc-2022_testvector_key.json")
    data["private_key"] = ed25519_private_from_multibase(data["secretKeyMultibase"])
    return data


def fragment_key_resolver(method_url: str) -> VerificationKey:
    """How 1EdTech's validator reads its fixtures: ``<controller>#<publicKeyMultibase>``.

    Test-only: trusting a key named in the URL proves nothing about who controls it.
    """
    controller, _, fragment = method_url.partition("#")
    if method_url.startswith("did:key:"):
        return resolve_did_key_method(method_url)
    if not fragment.startswith("z"):
        raise KeyResolutionError(f"{method_url!r}: the key is not named by its fragment (needs the network)")
    try:
        key = public_key_from_multibase(fragment)
    except Exception as exc:
        raise KeyResolutionError(f"{method_url!r}: {exc}") from exc
    return VerificationKey(id=method_url, controller=controller, public_key=key)


@dataclass
class Issuer:
    """A district issuer with an Ed25519, a P-256 and an RSA key, its DID document and a resolver."""

    did: str
    ed25519: ed25519.Ed25519PrivateKey
    p256: ec.EllipticCurvePrivateKey
    rsa: rsa.RSAPrivateKey
    document: dict[str, Any]
    resolve: KeyResolver

    def signer(self, kind: str = "Ed25519") -> Signer:
        key = {"Ed25519": ("key-1", self.ed25519), "P-256": ("key-2", self.p256), "RSA": ("key-3", self.rsa)}
        fragment, private = key[kind]
        return Signer(f"{self.did}#{fragment}", private)


def make_issuer(slug: str = "north-district") -> Issuer:
    did = did_web_for_issuer(PUBLIC_URL, slug)
    ed = generate_private_key("Ed25519")
    p256 = generate_private_key("P-256")
    rsa_key = generate_private_key("RSA")
    assert isinstance(ed, ed25519.Ed25519PrivateKey)
    assert isinstance(p256, ec.EllipticCurvePrivateKey)
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    document = build_did_document(
        did,
        [
            IssuerKey("key-1", ed.public_key()),
            IssuerKey("key-2", p256.public_key()),
            IssuerKey("key-3", rsa_key.public_key()),
        ],
    )
    return Issuer(did, ed, p256, rsa_key, document, document_resolver({did: document}))


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return make_issuer()


LEVEL_IDS = [f"urn:uuid:7d6c0b1e-2f3a-4b5c-8d9e-00000000000{i}" for i in range(1, 5)]
RUBRIC_ID = "urn:uuid:0e8f6a52-3b1d-4c7e-9a20-5f4d3c2b1a00"


def sample_credential(issuer_id: str, **overrides: Any) -> OpenBadgeCredential:
    """A realistic Portrait badge: rubric scale, achieved level, CASE alignment, evidence, status."""
    levels = [
        RubricCriterionLevel(id=level_id, name=name, level=str(index), points=str(index))
        for index, (level_id, name) in enumerate(
            zip(LEVEL_IDS, ["Beginning", "Developing", "Proficient", "Advanced"], strict=True), 1
        )
    ]
    fields: dict[str, Any] = {
        "id": f"{PUBLIC_URL}/credentials/3f0c2c3e-8a53-4a9a-9c59-3c1d2f6c8a11",
        "issuer": Profile(id=issuer_id, name="North District", url="https://north.example.org"),
        "credential_subject": AchievementSubject(
            id="urn:uuid:5a1f0c39-0f2b-4f55-9b7c-8c3c8d2f7e10",
            identifier=[
                IdentityObject.hashed_identity("Learner@Example.org", salt="c0ffee"),
                IdentityObject.hashed_identity("S-12345", identity_type="sourcedId", salt="c0ffee"),
            ],
            achievement=Achievement(
                id=f"{PUBLIC_URL}/achievements/collaboration",
                name="Collaboration",
                description="Works effectively with others toward shared goals.",
                criteria=Criteria(
                    narrative="Proficient or higher on two performance tasks.\n\nScored by teachers."
                ),
                image=Image(id=f"{PUBLIC_URL}/achievements/collaboration/image.png", caption="Collaboration"),
                alignment=[
                    Alignment(
                        target_name="Collaboration",
                        target_url="https://case.example.org/ims/case/v1p1/CFItems/6b1f5a34-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                        target_code="POG.1",
                        target_framework="North District Portrait of a Graduate",
                    )
                ],
                result_description=[
                    ResultDescription(
                        id=RUBRIC_ID,
                        name="Collaboration rubric",
                        rubric_criterion_level=levels,
                        required_level=LEVEL_IDS[2],
                    )
                ],
            ),
            result=[Result(result_description=RUBRIC_ID, achieved_level=LEVEL_IDS[3])],
        ),
        "valid_from": datetime(2025, 1, 15, 12, 30, tzinfo=UTC),
        "name": "Collaboration",
        "evidence": [
            Evidence(
                id=f"{PUBLIC_URL}/evidence/9b2e4c1a",
                name="Community garden project",
                narrative="Coordinated a team of five over a semester.",
            )
        ],
        "credential_status": BitstringStatusListEntry(f"{PUBLIC_URL}/status-lists/1", 94567),
    }
    fields.update(overrides)
    return OpenBadgeCredential(**fields)


@pytest.fixture
def make_credential() -> Callable[..., OpenBadgeCredential]:
    return sample_credential
