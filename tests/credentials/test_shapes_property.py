"""Property test: canonicalization by shape (compiled N-Quads templates, service/credentials/shapes.py)
gives the bytes of pyld's full RDFC-1.0 algorithm, for random credentials of known and unknown shapes.

The documents are OB 3.0 credentials built from a few optional parts (so shapes repeat and the compiled
path runs) with random strings: quotes, backslashes, line breaks, tabs, unicode, braces and
``str.format``-like text, strings equal to each other (duplicate quads), language-tagged and typed value
objects, identical alignments (two blank nodes with one first degree hash), a blank-node achievement
with repeated tags. Control characters must be refused by both paths alike.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.credentials import ContextRegistry, SafeModeError, canonicalize
from service.credentials.shapes import Shape, context_terms, shape_key

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
REGISTRY = ContextRegistry()  # shared by the examples: shapes learned from one serve the next ones
SPECIAL = ['"', "\\", "\n", "\r", "\t", "{", "}", "[", "]", "é", "ß", "学", "✓", "😀", "\u2028", "<", ">"]
ALPHABET = st.sampled_from([*"ab Z09:/#.-_", *SPECIAL])
TEXT = st.one_of(
    st.sampled_from(["Proficient", "Teamwork", "", "{0[1]}", "a{}b", 'say "hi"', "line\nbreak", "Ünïcödé"]),
    st.text(ALPHABET, max_size=12),
)
CONTROL_TEXT = st.sampled_from(["bell \x07", "nul \x00", "esc \x1b", "del \x7f"])
IRI = st.one_of(
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.integers(0, 50).map(lambda n: f"https://example.org/things/{n}"),
    st.integers(0, 50).map(lambda n: f"did:example:{n}"),
    st.sampled_from(["https://example.org/things/1", "urn:x:{curly}", "http://ex.org/a?b=c&d={e}#f"]),
)
LANGUAGES = st.sampled_from(["en", "en-US", "fr", "zh-Hant", "de-CH-1996"])
DATES = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


@st.composite
def texts(draw: Any, pool: list[str]) -> Any:
    """A string (often one used before: equal strings in two slots), a language-tagged or a typed
    value object."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return {"@value": draw(TEXT), "@language": draw(LANGUAGES)}
    if choice == 1:
        return {"@value": draw(TEXT), "@type": "http://www.w3.org/2001/XMLSchema#token"}
    if choice <= 3 and pool:
        return draw(st.sampled_from(pool))
    value = draw(TEXT)
    pool.append(value)
    return value


@st.composite
def credentials(draw: Any) -> dict[str, Any]:
    pool: list[str] = []
    image = draw(IRI)
    alignment = {
        "type": ["Alignment"],
        "targetName": draw(texts(pool)),
        "targetUrl": draw(IRI),
    }
    achievement: dict[str, Any] = {
        "type": ["Achievement"],
        "criteria": {"narrative": draw(texts(pool))},
        "description": draw(texts(pool)),
        "name": draw(texts(pool)),
    }
    if draw(st.booleans()):
        achievement["id"] = draw(IRI)
    if draw(st.booleans()):  # the same image node as the credential's, perhaps with another caption
        achievement["image"] = {"id": image, "type": "Image", "caption": draw(texts(pool))}
    if draw(st.booleans()):
        achievement["tag"] = draw(
            st.lists(st.sampled_from(["team", "work", draw(TEXT)]), min_size=1, max_size=3)
        )
    if draw(st.booleans()):  # identical alignments: two blank nodes with one first degree hash
        achievement["alignment"] = [dict(alignment) for _ in range(draw(st.integers(1, 2)))]
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": draw(IRI),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": draw(IRI), "type": ["Profile"], "name": draw(texts(pool))},
        "validFrom": draw(DATES),
        "name": draw(texts(pool)),
        "credentialSubject": {"id": draw(IRI), "type": ["AchievementSubject"], "achievement": achievement},
    }
    if draw(st.booleans()):
        document["image"] = {"id": image, "type": "Image", "caption": draw(texts(pool))}
    evidence = [
        {"type": ["Evidence"], "narrative": draw(texts(pool)), "name": draw(texts(pool))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    if evidence:
        document["evidence"] = evidence
    if draw(st.integers(0, 15)) == 0:
        document["name"] = draw(CONTROL_TEXT)  # refused by safe mode, on both paths
    return document


def _full(document: dict[str, Any]) -> str | type[SafeModeError]:
    try:
        return canonicalize(document, memoize=False)
    except SafeModeError:
        return SafeModeError


def _by_shape(document: dict[str, Any]) -> str | type[SafeModeError]:
    REGISTRY.canonical_documents = type(REGISTRY.canonical_documents)(2048)  # no whole-document hits
    try:
        return canonicalize(document, registry=REGISTRY)
    except SafeModeError:
        return SafeModeError


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credentials())
def test_shapes_give_the_bytes_of_full_rdfc(document: dict[str, Any]) -> None:
    full = _full(document)
    assert _by_shape(document) == full  # first sighting of a shape: remembered, full path
    assert _by_shape(document) == full  # second: learned, compiled or URDNA2015 over the filled quads
    parts = shape_key(document, context_terms(REGISTRY))
    assert parts is not None
    shape = REGISTRY.canonical_shapes.get(parts[0])
    if isinstance(shape, Shape):
        compiled = shape.canonical(parts[1])  # the compiled path itself, when it applies
        if compiled is not None:
            assert compiled == full


def test_the_compiled_path_runs_for_repeated_shapes() -> None:
    """The property test above must exercise the compiled path, not only the fallbacks."""
    registry = ContextRegistry()
    compiled = 0
    for index in range(5):
        document = {
            "@context": CONTEXT,
            "id": f"urn:uuid:00000000-0000-0000-0000-00000000000{index}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {
                "id": "https://example.edu/issuers/1",
                "type": ["Profile"],
                "name": 'The "best" {school}',
            },
            "validFrom": "2024-01-01T00:00:00Z",
            "name": f"Badge\n{index} ✓",
            "credentialSubject": {
                "id": f"did:example:{index}",
                "type": ["AchievementSubject"],
                "achievement": {
                    "type": ["Achievement"],
                    "criteria": {"narrative": "Do it\\twice"},
                    "description": {"@value": "Deux", "@language": "fr"},
                    "name": "Teamwork",
                },
            },
        }
        full = canonicalize(document, memoize=False)
        registry.canonical_documents = type(registry.canonical_documents)(2048)
        assert canonicalize(document, registry=registry) == full
        parts = shape_key(document, context_terms(registry))
        assert parts is not None
        shape = registry.canonical_shapes.get(parts[0])
        if isinstance(shape, Shape) and shape.canonical(parts[1]) == full:
            compiled += 1
    assert compiled == 4  # every sighting after the first
