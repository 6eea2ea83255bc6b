"""Pinned contexts: shipped in the package, checked by SHA-256, loaded offline."""

from __future__ import annotations

import hashlib
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from service.credentials import ContextIntegrityError, ContextRegistry, UnknownContextError, canonicalize
from service.credentials.contexts import (
    CLR_V2P0,
    CONTEXTS_DIR,
    DATA_INTEGRITY_V2,
    DID_V1,
    ED25519_2020_V1,
    MULTIKEY_V1,
    OB_V3P0,
    OB_V3P0_EXTENSIONS,
    PINNED_CONTEXTS,
    STATUS_V1,
    VC_V1,
    VC_V2,
    default_registry,
)
from tests.credentials.conftest import CONFORMANCE, EXAMPLES, load


def test_required_contexts_are_pinned() -> None:
    for url in (
        VC_V2,
        OB_V3P0,
        CLR_V2P0,
        OB_V3P0_EXTENSIONS,
        MULTIKEY_V1,
        DATA_INTEGRITY_V2,
        STATUS_V1,
        DID_V1,
        ED25519_2020_V1,
        VC_V1,
    ):
        assert url in default_registry()


@pytest.mark.parametrize("url", sorted(PINNED_CONTEXTS))
def test_pinned_file_is_the_published_copy(url: str) -> None:
    """Each shipped file equals the published copy (tests/conformance/contexts, or for contexts the
    conformance collection lacks, tests/credentials/contexts with its PROVENANCE.tsv) and matches its pin."""
    index = load(CONFORMANCE / "contexts" / "index.json")
    pin = PINNED_CONTEXTS[url]
    shipped = (CONTEXTS_DIR / pin.filename).read_bytes()
    if url in index:
        published = CONFORMANCE / "contexts" / index[url]
    else:
        extra = Path(__file__).parent / "contexts"
        rows = [line.split("\t") for line in (extra / "PROVENANCE.tsv").read_text().splitlines()[1:]]
        published = extra / {row[1]: row[0] for row in rows}[url]
    assert shipped == published.read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == pin.sha256


def test_tampered_copy_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "contexts"
    shutil.copytree(CONTEXTS_DIR, directory)
    target = directory / PINNED_CONTEXTS[OB_V3P0].filename
    # One changed IRI: "name" now means something else; the signature would cover other triples.
    target.write_text(target.read_text().replace("https://schema.org/name", "https://evil.example/name", 1))
    with pytest.raises(ContextIntegrityError, match=r"context-3\.0\.3\.json.*SHA-256"):
        ContextRegistry(directory)


def test_missing_copy_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "contexts"
    shutil.copytree(CONTEXTS_DIR, directory)
    (directory / PINNED_CONTEXTS[VC_V2].filename).unlink()
    with pytest.raises(ContextIntegrityError, match="missing"):
        ContextRegistry(directory)


def test_loader_refuses_unknown_urls() -> None:
    registry = default_registry()
    with pytest.raises(UnknownContextError, match="not one of the pinned"):
        registry.document_loader("https://example.com/context.json")
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    document["@context"].append("https://w3id.org/security/suites/jws-2020/v1")
    with pytest.raises(UnknownContextError) as caught:
        canonicalize(document)
    assert caught.value.url == "https://w3id.org/security/suites/jws-2020/v1"


def test_loader_returns_private_copies() -> None:
    registry = default_registry()
    first = registry.document_loader(VC_V2)["document"]
    first["@context"]["@vocab"] = "https://evil.example/"
    assert "@vocab" not in registry.document_loader(VC_V2)["document"]["@context"]


def test_canonicalization_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    fresh = ContextRegistry()  # cold caches: every context goes through the loader
    for name in ("ob3_complete_openbadgecredential.json", "clr2_testvector_unsigned_clrcredential.json"):
        assert canonicalize(load(EXAMPLES / name), registry=fresh)
