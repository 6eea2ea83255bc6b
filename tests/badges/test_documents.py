"""Pure parts: content negotiation, the learner URN, hashed identifiers, settings bounds, artwork."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from service.api.rest.public_badges import negotiate
from service.badges import documents, images
from service.config import BadgeSettings
from service.credentials import BitstringStatusListEntry, IdentityObject, Profile
from tests.badges.helpers import official_schema_errors


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        (None, "json"),
        ("*/*", "json"),
        ("application/vc+ld+json", "json"),
        ("application/json", "json"),
        ("text/plain", "jwt"),
        ("application/jwt", "jwt"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"),
        ("text/html;q=0.1, application/json", "json"),
        ("text/plain;q=0.5, text/html;q=0.4", "jwt"),
        ("text/html;q=0", "json"),
        ("text/html;q=abc", "json"),
        ("image/png", "json"),
    ],
)
def test_negotiate(accept: str | None, kind: str) -> None:
    assert negotiate(accept) == kind


def test_learner_urn_is_stable_per_tenant_and_hides_the_id() -> None:
    tenant, other, learner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    urn = documents.learner_urn(tenant, learner)
    assert urn == documents.learner_urn(tenant, learner) != documents.learner_urn(other, learner)
    assert str(learner) not in urn and urn.startswith("urn:uuid:")


def test_a_credential_with_email_and_sourced_id_identifiers_is_schema_valid() -> None:
    learner = documents.LearnerInfo(id=uuid.uuid4(), email=" Ana@Example.ORG ", sourced_id="sis-1")
    badge = documents.BadgeInfo(id=uuid.uuid4(), name="Badge", description="d", criteria="c")
    credential = documents.build_badge_credential(
        public_url="https://p.example",
        credential_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        issuer=Profile(id="did:web:p.example:issuers:x", name="X"),
        slug="x",
        badge=badge,
        learner=learner,
        evidence=[],
        status=BitstringStatusListEntry("https://p.example/status-lists/1", 7),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        awarded_at=None,
        fallback_image=images.badge_svg_data_uri("Badge"),
    )
    document = credential.to_json()
    assert official_schema_errors(document) == []
    identifiers = document["credentialSubject"]["identifier"]
    assert [i["identityType"] for i in identifiers] == ["emailAddress", "sourcedId"]
    email = IdentityObject(
        identity_hash=identifiers[0]["identityHash"],
        identity_type="emailAddress",
        salt=identifiers[0]["salt"],
    )
    assert email.matches("ana@example.org") and not email.matches("bob@example.org")
    assert "Ana" not in str(document) and "sis-1" not in str(document)


def test_status_lists_are_never_smaller_than_131072() -> None:
    with pytest.raises(ValidationError):
        BadgeSettings(status_list_size=1024)
    assert BadgeSettings().status_list_size == 131_072


def test_generated_artwork_escapes_the_name_and_is_a_png() -> None:
    svg = images.badge_svg('<b onload="x">&')
    assert ("<b " not in svg and "&lt;b onload=&quot;x&quot;&gt;&amp;" in svg) or "&lt;b onload=" in svg
    png = images.badge_png("Name", size=32)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
