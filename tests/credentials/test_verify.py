"""verify_credential: every check named, for our credentials, third-party ones and broken ones."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from service.credentials import (
    Bitstring,
    KeyResolutionError,
    StatusListError,
    StatusResult,
    VerificationKey,
    add_proof,
    build_credential,
    build_status_list_credential,
    check_status,
    document_resolver,
    generate_private_key,
    issue,
    sign_data_integrity,
    sign_vc_jwt,
    verification_methods,
    verify_credential,
)
from service.credentials.encoding import b64url_decode, b64url_encode
from service.credentials.verify import CHECK_NAMES
from tests.credentials.conftest import (
    EXAMPLES,
    FIXTURES,
    NOW,
    PUBLIC_URL,
    Issuer,
    fragment_key_resolver,
    load,
    make_issuer,
    sample_credential,
)

LIST_URL = f"{PUBLIC_URL}/status-lists/1"


def _status_checker(issuer: Issuer, revoked: tuple[int, ...] = ()) -> Any:
    bits = Bitstring()
    for index in revoked:
        bits.set(index)
    status_list = sign_data_integrity(
        build_status_list_credential(
            credential_id=LIST_URL,
            issuer=issuer.did,
            bitstring=bits,
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        issuer.signer(),
    )

    def checker(entry: Mapping[str, Any]) -> StatusResult:
        # what the service does: verify the list credential, then read the bit
        assert verify_credential(status_list, resolve_key=issuer.resolve, now=NOW).verified
        return check_status(entry, status_list)

    return checker


def _signed(
    issuer: Issuer, proof_format: str = "data-integrity", kind: str = "Ed25519", **overrides: Any
) -> Any:
    credential = sample_credential(issuer.did, **overrides)
    if proof_format == "vc-jwt":
        return sign_vc_jwt(build_credential(credential), issuer.signer(kind))
    return issue(credential, issuer.signer(kind))


FORMATS = [("data-integrity", "Ed25519"), ("vc-jwt", "RSA"), ("vc-jwt", "P-256"), ("vc-jwt", "Ed25519")]


@pytest.mark.parametrize(("proof_format", "kind"), FORMATS)
def test_issued_credentials_verify(issuer: Issuer, proof_format: str, kind: str) -> None:
    result = verify_credential(
        _signed(issuer, proof_format, kind),
        resolve_key=issuer.resolve,
        now=NOW,
        status_checker=_status_checker(issuer),
    )
    assert result.verified, result.to_json()
    assert [check.check for check in result.checks] == list(CHECK_NAMES)
    assert result.check("status").message == "not revoked (status list index 94567)"
    assert result.proof_format == proof_format
    assert result.to_json()["checks"][0] == {
        "check": "schema", "ok": True, "message": "valid against ob_v3p0_achievementcredential_schema.json"
    }  # fmt: skip


def _failed(result: Any) -> list[str]:
    return [check.check for check in result.checks if not check.ok]


@pytest.mark.parametrize(("proof_format", "kind"), FORMATS)
def test_tampered_fails_proof(issuer: Issuer, proof_format: str, kind: str) -> None:
    signed = _signed(issuer, proof_format, kind)
    if proof_format == "vc-jwt":
        head, body, signature = signed.split(".")
        payload = json.loads(b64url_decode(body))
        payload["credentialSubject"]["result"][0]["achievedLevel"] = payload["credentialSubject"][
            "achievement"
        ]["resultDescription"][0]["rubricCriterionLevel"][0]["id"]
        tampered: Any = ".".join([head, b64url_encode(json.dumps(payload).encode()), signature])
    else:
        tampered = json.loads(json.dumps(signed))
        tampered["credentialSubject"]["achievement"]["name"] = "Leadership"
    result = verify_credential(
        tampered, resolve_key=issuer.resolve, now=NOW, status_checker=_status_checker(issuer)
    )
    assert _failed(result) == ["proof", "issuer"]
    assert "signature" in result.check("proof").message
    assert result.check("issuer").message.startswith("not checked")


def test_wrong_key_fails_proof(issuer: Issuer) -> None:
    impostor = generate_private_key("Ed25519")
    document = build_credential(sample_credential(issuer.did))
    signed = add_proof(document, impostor, issuer.signer().verification_method)  # type: ignore[arg-type]
    result = verify_credential(
        signed, resolve_key=issuer.resolve, now=NOW, status_checker=_status_checker(issuer)
    )
    assert _failed(result) == ["proof", "issuer"]
    assert "does not match" in result.check("proof").message


def test_key_of_another_controller_fails_issuer(issuer: Issuer) -> None:
    other = make_issuer("south-district")
    document = build_credential(sample_credential(issuer.did))
    signed = sign_data_integrity(document, other.signer())
    resolver = document_resolver({issuer.did: issuer.document, other.did: other.document})
    result = verify_credential(signed, resolve_key=resolver, now=NOW, status_checker=_status_checker(issuer))
    assert _failed(result) == ["issuer"]
    assert "not the issuer" in result.check("issuer").message


@pytest.mark.parametrize(("proof_format", "kind"), FORMATS)
def test_expired_and_not_yet_valid(issuer: Issuer, proof_format: str, kind: str) -> None:
    signed = _signed(issuer, proof_format, kind, valid_until=datetime(2025, 3, 1, tzinfo=UTC))
    checker = _status_checker(issuer)
    expired = verify_credential(signed, resolve_key=issuer.resolve, now=NOW, status_checker=checker)
    assert _failed(expired) == ["validity"]
    assert expired.check("validity").message.startswith("expired: validUntil was 2025-03-01T00:00:00Z")
    early = verify_credential(
        signed, resolve_key=issuer.resolve, now=datetime(2024, 12, 31, tzinfo=UTC), status_checker=checker
    )
    assert _failed(early) == ["validity"]
    assert early.check("validity").message.startswith("not yet valid: validFrom is 2025-01-15T12:30:00Z")
    inside = verify_credential(
        signed, resolve_key=issuer.resolve, now=datetime(2025, 2, 1, tzinfo=UTC), status_checker=checker
    )
    assert inside.verified


@pytest.mark.parametrize(("proof_format", "kind"), FORMATS)
def test_revoked_fails_status(issuer: Issuer, proof_format: str, kind: str) -> None:
    result = verify_credential(
        _signed(issuer, proof_format, kind),
        resolve_key=issuer.resolve,
        now=NOW,
        status_checker=_status_checker(issuer, revoked=(94567,)),
    )
    assert _failed(result) == ["status"]
    assert result.check("status").message == "revoked (status list index 94567)"


def test_status_must_be_checked(issuer: Issuer) -> None:
    signed = _signed(issuer)
    unchecked = verify_credential(signed, resolve_key=issuer.resolve, now=NOW)
    assert _failed(unchecked) == ["status"]

    def unreachable(entry: Mapping[str, Any]) -> StatusResult:
        raise StatusListError("status list https://... could not be fetched")

    result = verify_credential(signed, resolve_key=issuer.resolve, now=NOW, status_checker=unreachable)
    assert _failed(result) == ["status"]
    assert "could not be fetched" in result.check("status").message
    no_status = verify_credential(
        _signed(issuer, credential_status=None), resolve_key=issuer.resolve, now=NOW
    )
    assert no_status.verified


def test_unresolvable_key_is_reported(issuer: Issuer) -> None:
    def nothing(url: str) -> VerificationKey:
        raise KeyResolutionError("did:web document unreachable")

    result = verify_credential(
        _signed(issuer), resolve_key=nothing, now=NOW, status_checker=_status_checker(issuer)
    )
    assert _failed(result) == ["proof", "issuer"]
    assert "could not resolve verification method" in result.check("proof").message
    assert "unreachable" in result.check("proof").message


def test_inputs_as_text_bytes_and_garbage(issuer: Issuer) -> None:
    signed = _signed(issuer)
    checker = _status_checker(issuer)
    assert verify_credential(
        json.dumps(signed), resolve_key=issuer.resolve, now=NOW, status_checker=checker
    ).verified
    token = _signed(issuer, "vc-jwt", "RSA")
    assert verify_credential(
        token.encode(), resolve_key=issuer.resolve, now=NOW, status_checker=checker
    ).verified
    garbage = verify_credential("hello", resolve_key=issuer.resolve, now=NOW)
    assert not garbage.verified and [c.ok for c in garbage.checks] == [False] * 5
    assert verification_methods(signed) == [issuer.signer().verification_method]
    assert verification_methods(token) == [issuer.signer("RSA").verification_method]


# --- third-party credentials ------------------------------------------------------------------------

ERROR_FIXTURES = {
    "simple-err-context.json": {"schema", "proof"},
    "simple-err-credential-subject-identifier-type.json": {"schema", "proof"},
    "simple-err-evidence-type.json": {"proof"},
    "simple-err-expired.json": {"validity"},
    "simple-err-issued.json": {"schema", "validity"},
    "simple-err-issuer-type.json": {"schema", "proof"},
    "simple-err-proof-method.json": {"proof"},
    "simple-err-proof-value.json": {"proof"},
    "simple-err-type.json": {"proof"},  # no OB type, so no OB schema; the undefined type fails safe mode
}


def test_every_error_fixture_is_listed() -> None:
    assert {path.name for path in (FIXTURES / "ob30").glob("simple-err-*.json")} == set(ERROR_FIXTURES)


@pytest.mark.parametrize("name", sorted(ERROR_FIXTURES))
def test_validator_error_fixtures_are_rejected(name: str) -> None:
    result = verify_credential(load(FIXTURES / "ob30" / name), resolve_key=fragment_key_resolver, now=NOW)
    assert not result.verified
    failed = set(_failed(result)) - {"issuer"}  # the issuer check cannot pass without a verified proof
    assert failed == ERROR_FIXTURES[name], result.to_json()


def test_error_fixture_messages() -> None:
    def message(name: str, check: str) -> str:
        result = verify_credential(load(FIXTURES / "ob30" / name), resolve_key=fragment_key_resolver, now=NOW)
        return result.check(check).message

    assert "expired" in message("simple-err-expired.json", "validity")
    assert "not yet valid" in message("simple-err-issued.json", "validity")
    assert "undefined term 'audience', 'genre'" in message("simple-err-evidence-type.json", "proof")
    assert "'InvalidProfile'" in message("simple-err-issuer-type.json", "proof")
    assert "could not resolve verification method" in message("simple-err-proof-method.json", "proof")
    assert "does not match" in message("simple-err-proof-value.json", "proof")


VALID_THIRD_PARTY = [
    EXAMPLES / "ob3_testvector_signed_credential_eddsa-rdfc-2022.json",
    EXAMPLES / "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json",
    FIXTURES / "ob30" / "simple.json",
    FIXTURES / "ob30" / "simple-did-web-method.json",
    FIXTURES / "ob30" / "simple-eddsa-2022.json",
    FIXTURES / "ob30" / "simple-multiple-proofs.json",
    FIXTURES / "ob30" / "simple-context-alias.json",
    FIXTURES / "ob30" / "simple-context-version.json",
    FIXTURES / "ob30" / "simple_v1.json",
    FIXTURES / "ob30" / "endorsement-valid.json",
    FIXTURES / "clr20" / "simple.json",
    FIXTURES / "clr20" / "simple_v1.json",
]


@pytest.mark.parametrize(
    "path", VALID_THIRD_PARTY, ids=[f"{p.parent.name}/{p.name}" for p in VALID_THIRD_PARTY]
)
def test_spec_examples_with_offline_keys_verify(path: Any) -> None:
    result = verify_credential(load(path), resolve_key=fragment_key_resolver, now=NOW)
    assert result.verified, result.to_json()


def test_credentials_with_status_lists_we_cannot_reach() -> None:
    """complete.json (1EdTechRevocationList) and the BitstringStatusList fixture verify in every other
    respect; their status is whatever the list says."""
    not_revoked = StatusResult(purpose="revocation", index=None, set=False)
    for name in ("complete.json", "bit-string-list_credential-status-revoked.json"):
        document = load(FIXTURES / "ob30" / name)
        result = verify_credential(document, resolve_key=fragment_key_resolver, now=NOW)
        assert _failed(result) == ["status"], result.to_json()
        assert verify_credential(
            document, resolve_key=fragment_key_resolver, now=NOW, status_checker=lambda entry: not_revoked
        ).verified


def test_did_key_issuer_must_match(issuer: Issuer) -> None:
    """simple-did-key-method.json: the signature is valid but the key's controller (a did:key) is not
    the issuer (a urn:uuid), which is exactly what the issuer check is for."""
    result = verify_credential(
        load(FIXTURES / "ob30" / "simple-did-key-method.json"), resolve_key=fragment_key_resolver, now=NOW
    )
    assert _failed(result) == ["issuer"]
    assert "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi" in result.check("issuer").message


def test_did_web_fixture_fails_at_key_resolution() -> None:
    document = load(FIXTURES / "ob30" / "credential-status-revoked.json")
    result = verify_credential(document, resolve_key=document_resolver({}), now=NOW)
    proof = result.check("proof")
    assert not proof.ok
    assert proof.message.startswith(
        "could not resolve verification method 'did:web:dc.1edtech.org:wellspring2022:wellspring-portal:org:"
    )
    assert "was it fetched?" in proof.message


def test_vc_1_1_jwt_fixture_needs_the_issuer_key() -> None:
    result = verify_credential(
        (FIXTURES / "ob30" / "simple.jwt").read_text(), resolve_key=fragment_key_resolver, now=NOW
    )
    assert "could not resolve JWT key 'https://example.edu/issuers/565049'" in result.check("proof").message
    assert result.check("validity").ok


def test_vc_1_1_dates() -> None:
    document = load(FIXTURES / "ob30" / "simple_v1.json")
    assert (
        verify_credential(document, resolve_key=fragment_key_resolver, now=datetime(2009, 1, 1, tzinfo=UTC))
        .check("validity")
        .message.startswith("not yet valid: issuanceDate")
    )


@pytest.mark.parametrize(
    ("claim", "shift", "field"), [("nbf", -86_400, "validFrom"), ("exp", 86_400 * 365, "validUntil")]
)
def test_jwt_nbf_and_exp_must_match_the_credential_dates(
    issuer: Issuer, claim: str, shift: int, field: str
) -> None:
    """OB 3.0: nbf represents validFrom and exp validUntil; a token claiming another window fails."""
    import jwt

    token = _signed(issuer, "vc-jwt", valid_until=datetime(2030, 1, 1, tzinfo=UTC))
    head, body, _ = token.split(".")
    header = json.loads(b64url_decode(head))
    payload = json.loads(b64url_decode(body))
    checker = _status_checker(issuer)
    inside = datetime(2025, 2, 1, tzinfo=UTC)
    assert verify_credential(token, resolve_key=issuer.resolve, now=inside, status_checker=checker).verified
    payload[claim] += shift
    forged = jwt.encode(payload, issuer.ed25519, algorithm="EdDSA", headers=header)
    result = verify_credential(forged, resolve_key=issuer.resolve, now=inside, status_checker=checker)
    assert _failed(result) == ["validity"]
    assert f"JWT {claim}" in result.check("validity").message and field in result.check("validity").message
