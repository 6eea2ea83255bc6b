"""Independent check: Digital Bazaar's JS libraries (vc, data-integrity, eddsa-rdfc-2022-cryptosuite,
jsonld) verify what our library signs. Node runs tests/credentials/node/verify.mjs; the test installs
the pinned npm packages itself (``npm ci`` from package-lock.json) when they are missing or stale."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials import (
    Bitstring,
    build_status_list_credential,
    default_registry,
    did_key,
    did_key_verification_method,
    issue,
    resolve_did_key_method,
    sign_data_integrity,
    verify_credential,
)
from service.credentials.builder import Signer
from service.credentials.contexts import DID_V1, MULTIKEY_V1
from tests.credentials.conftest import EXAMPLES, PUBLIC_URL, Issuer, load, sample_credential
from tests.web.browser import npm_ci

NODE_DIR = Path(__file__).parent / "node"
LIST_URL = f"{PUBLIC_URL}/status-lists/1"
NOW = "2025-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def node() -> str:
    executable = shutil.which("node")
    if executable is None:
        # Node and npm are part of the machine this project runs on; never skip the independent check.
        pytest.fail("node and npm are required for the independent credential check")
    npm_ci(NODE_DIR, "for the independent credential check")
    return executable


def js_verify(node: str, tmp_path: Path, credential: Any, documents: dict[str, Any]) -> dict[str, Any]:
    payload = {
        "credential": credential,
        "contexts": default_registry().contexts(),
        "documents": documents,
        "now": NOW,
    }
    source = tmp_path / "input.json"
    source.write_text(json.dumps(payload))
    done = subprocess.run(  # noqa: S603 - fixed command, our own script
        [node, str(NODE_DIR / "verify.mjs"), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _status_list(issuer: Issuer, revoked: tuple[int, ...] = ()) -> dict[str, Any]:
    bits = Bitstring()
    for index in revoked:
        bits.set(index)
    unsigned = build_status_list_credential(
        credential_id=LIST_URL, issuer=issuer.did, bitstring=bits, valid_from=datetime(2025, 1, 1, tzinfo=UTC)
    )
    return sign_data_integrity(unsigned, issuer.signer())


def test_js_verifies_our_did_web_credential(node: str, tmp_path: Path, issuer: Issuer) -> None:
    signed = issue(sample_credential(issuer.did), issuer.signer())
    documents = {issuer.did: issuer.document, LIST_URL: _status_list(issuer)}
    result = js_verify(node, tmp_path, signed, documents)
    assert result["verified"] is True, result
    assert result["status"] == [{"index": 94567, "purpose": "revocation", "set": False, "length": 131072}]
    # the JS side used its own bundled copy of the VC v2 context, not ours
    assert result["contextSources"]["https://www.w3.org/ns/credentials/v2"] == "js-bundled"


def test_js_verifies_our_did_key_credential(node: str, tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    signer = Signer(did_key_verification_method(key.public_key()), key)
    signed = issue(sample_credential(did, credential_status=None), signer)
    assert verify_credential(signed, resolve_key=resolve_did_key_method).verified
    result = js_verify(node, tmp_path, signed, {})  # the JS side derives the did:key document itself
    assert result["verified"] is True, result


def test_js_rejects_revoked_and_tampered(node: str, tmp_path: Path, issuer: Issuer) -> None:
    signed = issue(sample_credential(issuer.did), issuer.signer())
    revoked = js_verify(
        node, tmp_path, signed, {issuer.did: issuer.document, LIST_URL: _status_list(issuer, (94567,))}
    )
    assert revoked["verified"] is False
    assert revoked["status"][0]["set"] is True

    tampered = json.loads(json.dumps(signed))
    tampered["credentialSubject"]["achievement"]["name"] = "Leadership"
    result = js_verify(
        node, tmp_path, tampered, {issuer.did: issuer.document, LIST_URL: _status_list(issuer)}
    )
    assert result["verified"] is False


def test_js_verifies_the_test_vectors(node: str, tmp_path: Path, vector_key: dict[str, Any]) -> None:
    """The published OB 3.0 / CLR 2.0 vectors, with a controller document for the test key."""
    controller = vector_key["controller"]
    document = {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": controller,
        "verificationMethod": [
            {
                "id": vector_key["verificationMethod"],
                "type": "Multikey",
                "controller": controller,
                "publicKeyMultibase": vector_key["publicKeyMultibase"],
            }
        ],
        "assertionMethod": [vector_key["verificationMethod"]],
    }
    for name in (
        "ob3_testvector_signed_credential_eddsa-rdfc-2022.json",
        "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json",
    ):
        result = js_verify(node, tmp_path, load(EXAMPLES / name), {controller: document})
        assert result["verified"] is True, (name, result)
