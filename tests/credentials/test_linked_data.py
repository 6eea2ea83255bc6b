"""Safe-mode expansion and RDFC-1.0 canonicalization."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from service.credentials import ContextRegistry, CredentialError, SafeModeError, canonicalize, expand
from tests.credentials.conftest import EXAMPLES, FIXTURES, TESTVECTORS, load

Mutation = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _append(*path: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path:
            target = target[key]
        target.append(value)

    return mutate


SAFE_MODE_CASES: list[tuple[str, Mutation, str]] = [
    ("undefined top-level term", _set("jti", value="urn:uuid:1"), "jti"),
    ("undefined term in a nested node", _set("credentialSubject", "achievement", "foo", value="x"), "foo"),
    (
        "undefined term in a typeless object",
        _set("credentialSubject", "achievement", "criteria", "bar", value=1),
        "bar",
    ),
    ("undefined term on the issuer", _set("issuer", "phoneNumber", value="555"), "phoneNumber"),
    ("undefined type", _append("credentialSubject", "achievement", "type", value="Bogus"), "Bogus"),
    ("relative subject id", _set("credentialSubject", "id", value="learners/1"), "learners/1"),
    ("relative issuer id", _set("issuer", "id", value="issuers/1"), "issuers/1"),
    ("relative credential id", _set("id", value="credentials/1"), "credentials/1"),
    (
        "image as a relative IRI",
        _set("credentialSubject", "achievement", "image", value="badge.png"),
        "badge.png",
    ),
    ("unknown @keyword", _set("@foo", value="x"), "unknown @keyword"),
    ("control character", _set("name", value="Team\x0cwork"), "control character"),
]


@pytest.mark.parametrize(
    ("case", "mutate", "named"), SAFE_MODE_CASES, ids=[case[0] for case in SAFE_MODE_CASES]
)
def test_safe_mode_refuses(case: str, mutate: Mutation, named: str) -> None:
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    mutate(document)
    with pytest.raises(SafeModeError, match=r"undefined|relative|control") as caught:
        canonicalize(document)
    assert named in str(caught.value)
    with pytest.raises(SafeModeError):
        expand(document)


def test_safe_mode_reports_the_term() -> None:
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    document["credentialSubject"]["achievement"]["shoeSize"] = 42
    with pytest.raises(SafeModeError) as caught:
        expand(document)
    assert caught.value.term == "shoeSize"
    assert "undefined term 'shoeSize'" in str(caught.value)


def test_allowed_values_pass() -> None:
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    document["name"] = "Team\twork\non two lines\r"  # tab, LF and CR are escaped identically everywhere
    document["credentialSubject"]["id"] = "urn:uuid:5a1f0c39-0f2b-4f55-9b7c-8c3c8d2f7e10"
    assert "Team\\twork\\non two lines\\r" in canonicalize(document)


def test_extension_term_needs_its_context() -> None:
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    document["credentialSchema"] = [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    with pytest.raises(SafeModeError, match="1EdTechJsonSchemaValidator2019"):
        canonicalize(document)
    document["@context"].append("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")
    assert "1EdTechJsonSchemaValidator2019" in canonicalize(document)


@pytest.mark.parametrize(
    ("example", "vector"),
    [
        ("ob3_testvector_unsigned_credential.json", "obv3p0_document-canon.nq"),
        ("clr2_testvector_unsigned_clrcredential.json", "clrv2p0_document-canon.nq"),
    ],
)
def test_document_canonical_nquads_match_the_test_vectors(example: str, vector: str) -> None:
    expected = (TESTVECTORS / vector).read_text(encoding="utf-8")
    document = load(EXAMPLES / example)
    assert canonicalize(document) == expected
    assert canonicalize(document, memoize=False) == expected


EXAMPLE_FILES = sorted(
    [path for path in EXAMPLES.glob("*.json") if "type" in load(path) and "@context" in load(path)]
    + [path for path in FIXTURES.glob("*/*.json") if "err" not in path.name],
    key=str,
)


def _outcome(document: dict[str, Any], registry: ContextRegistry | None, memoize: bool) -> tuple[str, str]:
    try:
        return "ok", canonicalize(copy.deepcopy(document), registry=registry, memoize=memoize)
    except CredentialError as exc:  # unknown contexts, undefined terms: must fail the same way
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[f"{p.parent.name}/{p.name}" for p in EXAMPLE_FILES])
def test_caches_do_not_change_a_byte(path: Any) -> None:
    """The context caches are an optimization only: the output (or the error) is identical with and
    without them, on a cold registry and a warm one, for every example credential."""
    document = load(path)
    plain = _outcome(document, ContextRegistry(), memoize=False)
    cold = _outcome(document, ContextRegistry(), memoize=True)
    warm = _outcome(document, None, memoize=True)
    assert plain == cold == warm


def test_concurrent_canonicalization_is_consistent() -> None:
    """The caches are shared by threads (the service signs in worker threads): same bytes as serial."""
    from concurrent.futures import ThreadPoolExecutor

    registry = ContextRegistry()
    documents = [load(path) for path in EXAMPLE_FILES[:12]]
    expected = [_outcome(document, ContextRegistry(), memoize=False) for document in documents]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            results = list(pool.map(lambda document: _outcome(document, registry, memoize=True), documents))
            assert results == expected


def test_the_document_memo_answers_only_for_the_same_json() -> None:
    """Canonical N-Quads are memoized by the document's exact JSON: a second call answers from the memo
    with the same bytes, a changed value (however small) is canonicalized afresh, and a document that
    fails safe mode fails every time (failures are never memoized)."""
    registry = ContextRegistry()
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    expected = (TESTVECTORS / "obv3p0_document-canon.nq").read_text(encoding="utf-8")
    assert canonicalize(document, registry=registry) == expected
    assert len(registry.canonical_documents) == 1
    assert canonicalize(copy.deepcopy(document), registry=registry) == expected
    assert len(registry.canonical_documents) == 1  # answered from the memo
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["achievement"]["name"] = "Teamwork!"
    other = canonicalize(changed, registry=registry)
    assert other != expected and '"Teamwork!"' in other
    assert other == canonicalize(changed, registry=ContextRegistry(), memoize=False)
    bad = copy.deepcopy(document)
    bad["credentialSubject"]["undefinedTerm"] = "x"
    for _ in range(2):
        with pytest.raises(SafeModeError):
            canonicalize(bad, registry=registry)
    assert len(registry.canonical_documents) == 2
