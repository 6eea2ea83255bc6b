"""Canonicalization by document shape (service/credentials/linked_data.py) gives the bytes of full
RDFC-1.0 canonicalization: over many generated credentials of a few shapes, over the official test
vectors, and it keeps every safe-mode refusal."""

from __future__ import annotations

import copy
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.badges import documents
from service.credentials import BitstringStatusListEntry, ContextRegistry, SafeModeError, canonicalize
from service.credentials.shapes import Shape as _Shape
from service.credentials.shapes import context_terms, shape_key
from tests.credentials.conftest import EXAMPLES, TESTVECTORS, load

PUBLIC = "https://portrait.example"
TEXTS = [
    "Good work",
    'Quotes " and \\ backslash',
    "Line\nbreak\tand tab\r",
    "Note: a colon, not a scheme",
    "https://looks.like/an/iri",
    "urn:uuid:not-an-id-here",
    "Ünïcödé ✓ 学",
    "",
    "Proficient",
]


def _credential(rng: random.Random, tenant: uuid.UUID, levels: list[documents.LevelInfo]) -> dict[str, Any]:
    """A credential as issuance builds it, with the strings that vary between learners drawn at random;
    the number of evidence entries (and so the shape) varies too."""
    competencies = [
        documents.CompetencyInfo(
            id=uuid.UUID(int=100 + c),
            title=f"Competency {c}",
            statement="Works with others",
            code=f"C.{c}",
            framework_title="Portrait",
            levels=levels,
            achieved_level=rng.choice([lv.id for lv in levels]),
        )
        for c in range(2)
    ]
    badge = documents.BadgeInfo(
        id=uuid.UUID(int=7),
        name="Collaborator",
        description="Works with others to reach shared goals.",
        criteria="Two pieces of evidence.",
        tags=["team", "team"],  # equal strings in two slots: toRdf keeps one triple
        competencies=competencies,
    )
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    evidence = [
        documents.EvidenceInfo(
            id=uuid.uuid4(),
            source=rng.choice(["teacher", "portfolio_upload"]),
            competency_title=rng.choice(TEXTS) or "x",
            level_title=rng.choice([None, "Proficient", "Extending"]),
            observed_at=now,
            narrative=rng.choice([None, *TEXTS]),
        )
        for _ in range(rng.randrange(3))
    ]
    learner = documents.LearnerInfo(
        id=uuid.uuid4(),
        email=rng.choice([None, f"kid{rng.randrange(999)}@school.example"]),
        sourced_id=rng.choice([None, f"sis-{rng.randrange(10**6)}"]),
    )
    did = "did:web:portrait.example:issuers:demo"
    unsigned = documents.build_badge_credential(
        public_url=PUBLIC,
        credential_id=uuid.uuid4(),
        tenant_id=tenant,
        issuer=documents.issuer_profile(PUBLIC, did, "demo", "Demo District"),
        slug="demo",
        badge=badge,
        learner=learner,
        evidence=evidence,
        status=BitstringStatusListEntry(
            status_list_credential=documents.status_list_url(PUBLIC, uuid.UUID(int=3)),
            status_list_index=rng.randrange(131072),
        ),
        valid_from=now,
        awarded_at=now - timedelta(days=rng.randrange(30)),
        fallback_image="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
    )
    return unsigned.to_json()


def _shape_of(document: dict[str, Any], registry: ContextRegistry) -> object:
    shaped = shape_key(document, context_terms(registry))
    assert shaped is not None
    return registry.canonical_shapes.get(shaped[0])


def test_generated_credentials_match_full_canonicalization() -> None:
    rng = random.Random(20261207)
    registry = ContextRegistry()
    levels = [
        documents.LevelInfo(id=uuid.UUID(int=200 + p), position=p, title=t, description=f"{t} level")
        for p, t in enumerate(["Beginning", "Developing", "Proficient", "Extending"], start=1)
    ]
    tenant = uuid.uuid4()
    shaped = 0
    for _ in range(150):
        document = _credential(rng, tenant, levels)
        full = canonicalize(document, memoize=False)
        assert canonicalize(document, registry=registry) == full
        registry.canonical_documents = type(registry.canonical_documents)(2048)  # no whole-document hits
        assert canonicalize(document, registry=registry) == full
        shaped += isinstance(_shape_of(document, registry), _Shape)
    assert shaped == 150  # every generated shape took the fast path (none fell back)


@pytest.mark.parametrize(
    "name", ["ob3_testvector_unsigned_credential.json", "ob3_basic_openbadgecredential.json"]
)
def test_official_documents_match_by_shape(name: str) -> None:
    registry = ContextRegistry()
    document = {k: v for k, v in load(EXAMPLES / name).items() if k != "proof"}
    full = canonicalize(document, memoize=False)
    canonicalize(document, registry=registry)  # a first sighting is only remembered
    assert not isinstance(_shape_of(document, registry), _Shape)
    registry.canonical_documents = type(registry.canonical_documents)(2048)
    assert canonicalize(document, registry=registry) == full  # the second one learns the shape
    assert isinstance(_shape_of(document, registry), _Shape)
    changed = copy.deepcopy(document)
    changed["id"] = f"urn:uuid:{uuid.uuid4()}"
    changed["name"] = "Another name: with a colon"
    assert canonicalize(changed, registry=registry) == canonicalize(changed, memoize=False)
    registry.canonical_documents = type(registry.canonical_documents)(2048)
    by_shape = canonicalize(document, registry=registry)
    assert by_shape == full
    if name.startswith("ob3_testvector"):
        assert by_shape == (TESTVECTORS / "obv3p0_document-canon.nq").read_text(encoding="utf-8")


def test_safe_mode_refusals_survive_a_known_shape() -> None:
    registry = ContextRegistry()
    document = {
        k: v for k, v in load(EXAMPLES / "ob3_testvector_unsigned_credential.json").items() if k != "proof"
    }
    canonicalize(document, registry=registry)
    registry.canonical_documents = type(registry.canonical_documents)(2048)
    canonicalize(document, registry=registry)
    assert isinstance(_shape_of(document, registry), _Shape)
    relative = copy.deepcopy(document)
    relative["id"] = "credentials/1"  # same shape? no: no scheme, so another marker: still refused
    with pytest.raises(SafeModeError):
        canonicalize(relative, registry=registry)
    spaced = copy.deepcopy(document)
    spaced["id"] = document["id"] + "/has a space"  # same marker as the good id: the value check refuses it
    assert _shape_of(spaced, registry) is _shape_of(document, registry)
    with pytest.raises(SafeModeError):
        canonicalize(spaced, registry=registry)
    control = copy.deepcopy(document)
    control["name"] = "bell \x07"
    with pytest.raises(SafeModeError):
        canonicalize(control, registry=registry)
    undefined = json.loads(json.dumps(document))
    undefined["notATerm"] = "x"
    with pytest.raises(SafeModeError):
        canonicalize(undefined, registry=registry)
