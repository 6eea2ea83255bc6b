"""W3C VC-API verification (``/vc-api/issuers/{slug}/credentials/verify``, ``.../presentations/verify``):
request rules and the mapping of our named checks to VC-API results.

Outcomes:

* verified: 200 ``{"verified": true, "checks": [...], "warnings": [...], "errors": []}``;
* the request or the credential breaks a data model rule (missing ``@context`` entry, no
  ``VerifiableCredential`` type, a bad ``validFrom``, no issuer, a malformed proof, an unusable
  option): 422, a problem document whose ``errors[]`` name each rule (``loc``, ``rule``) with VC
  Data Model problem types;
* well-formed but not verified (tampered, wrong key, unsupported cryptosuite, expired, revoked,
  status unreachable): 400, the same problem document with the failed checks in ``errors[]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.credentials.data_model import (
    CRYPTOGRAPHIC_SECURITY_ERROR,
    MALFORMED_VALUE_ERROR,
    PARSING_ERROR,
    RANGE_ERROR,
    Violation,
    credential_problems,
    presentation_problems,
)
from service.credentials.errors import CredentialError
from service.credentials.remote import MAX_PRESENTED_CREDENTIALS, NestedResult, PresentationResult
from service.credentials.vc_jwt import looks_like_jwt
from service.credentials.verify import Check, VerificationResult, enveloped_token
from service.logging import request_id_var

STATUS_VERIFICATION_ERROR = "https://www.w3.org/TR/vc-bitstring-status-list/#STATUS_VERIFICATION_ERROR"
STATUS_RETRIEVAL_ERROR = "https://www.w3.org/TR/vc-bitstring-status-list/#STATUS_RETRIEVAL_ERROR"
PROOF_VERIFICATION_ERROR = "https://w3id.org/security#PROOF_VERIFICATION_ERROR"

_CHECK_TYPES = {
    "schema": (MALFORMED_VALUE_ERROR, "The credential does not follow its data model or schema"),
    "proof": (PROOF_VERIFICATION_ERROR, "The proof does not verify"),
    "issuer": (CRYPTOGRAPHIC_SECURITY_ERROR, "The signing key is not controlled by the issuer"),
    "validity": (RANGE_ERROR, "The credential is not valid at this time"),
    "status": (STATUS_VERIFICATION_ERROR, "The credential's status is not good"),
}
OPTION_NAMES = ("challenge", "domain", "checks", "expectedProofPurpose", "returnCredential")


@dataclass(frozen=True)
class Outcome:
    """HTTP status and body of a VC-API verification answer."""

    status: int
    body: dict[str, Any]

    @property
    def verified(self) -> bool:
        return bool(self.body.get("verified"))


def _violation_item(violation: Violation, prefix: str) -> dict[str, Any]:
    return {
        "type": violation.type,
        "title": f"{violation.rule} is invalid",
        "detail": violation.message,
        "rule": violation.rule,
        "loc": f"{prefix}.{violation.path}" if violation.path else prefix,
        "message": violation.message,
    }


def _check_item(check: Check, loc: str) -> dict[str, Any]:
    kind, title = _CHECK_TYPES.get(check.check, (MALFORMED_VALUE_ERROR, "Check failed"))
    if check.check == "status" and "could not be checked" in check.message:
        kind, title = STATUS_RETRIEVAL_ERROR, "The credential's status could not be retrieved"
    return {
        "type": kind,
        "title": title,
        "detail": check.message,
        "rule": check.check,
        "loc": loc,
        "message": check.message,
    }


def malformed(violations: Sequence[Violation], *, prefix: str = "body") -> Outcome:
    """422: every broken rule named."""
    items = [_violation_item(v, prefix) for v in violations]
    first = violations[0]
    detail = f"{first.path or 'body'}: {first.message}" + (
        f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
    )
    return Outcome(422, _problem(422, "malformed_credential", detail, items))


def _problem(
    status: int, code: str, detail: str, errors: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:portrait:problem:{code}",
        "title": "Malformed credential" if status == 422 else "Verification failed",
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
        "verified": False,
        "checks": [],
        "warnings": [],
        "errors": errors,
    }
    body.update(extra)
    return body


def _warnings(result: VerificationResult) -> list[dict[str, Any]]:
    out = []
    for check in result.checks:
        if check.ok and "ignored unsupported proof" in check.message:
            out.append(
                {
                    "type": "urn:portrait:warning:unsupported-proof",
                    "title": "Proof ignored",
                    "detail": check.message,
                }
            )
    return out


def credential_result(
    result: VerificationResult,
    *,
    loc: str = "body.verifiableCredential",
    nested: Sequence[NestedResult] | None = None,
) -> Outcome:
    """200 when every check passed, else 400 naming each failed check. For a ClrCredential, ``nested``
    (each credential it holds, verified on its own) goes to ``credentialResults``; a nested failure
    makes the answer a 400 whose errors are located at that credential."""
    if nested is not None:
        return _clr_result(result, nested, loc)
    checks = [check.check for check in result.checks]
    if result.verified:
        return Outcome(200, {"verified": True, "checks": checks, "warnings": _warnings(result), "errors": []})
    failed = [check for check in result.checks if not check.ok]
    schema = next((c for c in failed if c.check == "schema"), None)
    if schema is not None:
        # A data model / schema problem is the credential's shape, not its security: 422.
        return Outcome(
            422,
            _problem(422, "malformed_credential", schema.message, [_check_item(schema, loc)], checks=checks),
        )
    detail = "; ".join(f"{c.check}: {c.message}" for c in failed)
    return Outcome(
        400,
        _problem(
            400,
            "verification_failed",
            detail,
            [_check_item(c, loc) for c in failed],
            checks=checks,
            warnings=_warnings(result),
        ),
    )


def _clr_result(result: VerificationResult, nested: Sequence[NestedResult], loc: str) -> Outcome:
    """The answer is the presented credential's (the ClrCredential's own checks, as for any credential);
    each credential it holds is reported in ``credentialResults``, and one that fails adds a warning
    located at it (and an error too when the ClrCredential itself failed)."""
    outer = credential_result(result, loc=loc)
    extra = {"credentialResults": [item.to_json() for item in nested]}
    failing = [
        (f"{loc}.credentialSubject.verifiableCredential[{item.index}]", check)
        for item in nested
        if not item.result.verified
        for check in item.result.checks
        if not check.ok
    ]
    warnings = list(outer.body.get("warnings", [])) + [
        {
            "type": "urn:portrait:warning:nested-credential",
            "title": f"A credential inside does not verify ({check.check})",
            "detail": check.message,
            "loc": where,
        }
        for where, check in failing
    ]
    body = {**outer.body, "warnings": warnings, **extra}
    if outer.status != 200:
        body["errors"] = list(outer.body.get("errors", [])) + [_check_item(c, where) for where, c in failing]
    return Outcome(outer.status, body)


def request_problems(body: Any, member: str) -> tuple[list[Violation], dict[str, Any]]:
    """Rules of the request envelope: ``{member: ..., "options": {...}}``; returns the options."""
    if not isinstance(body, Mapping):
        return [Violation("body", "", "the request body must be a JSON object", PARSING_ERROR)], {}
    problems: list[Violation] = []
    if member not in body:
        problems.append(Violation(member, member, f"{member} is required", PARSING_ERROR))
    options = body.get("options", {})
    if not isinstance(options, Mapping):
        problems.append(Violation("options", "options", "options must be an object", PARSING_ERROR))
        options = {}
    for name in ("challenge", "domain", "expectedProofPurpose"):
        if name in options and not isinstance(options[name], str):
            problems.append(
                Violation("options", f"options.{name}", f"options.{name} must be a string", PARSING_ERROR)
            )
    if "checks" in options and not (
        isinstance(options["checks"], list) and all(isinstance(item, str) for item in options["checks"])
    ):
        problems.append(
            Violation(
                "options", "options.checks", "options.checks must be an array of strings", PARSING_ERROR
            )
        )
    return problems, dict(options)


def credential_request_problems(body: Any) -> list[Violation]:
    problems, _ = request_problems(body, "verifiableCredential")
    if problems:
        return problems
    credential = body["verifiableCredential"]
    if isinstance(credential, str):
        # A VC-JWT: its payload is read by the verifier. Any other string (JSON text above all) is not
        # a credential: VC-API and Data Integrity want a map (PARSING_ERROR), not a serialized one.
        if looks_like_jwt(credential):
            return []
        return [
            Violation(
                "verifiableCredential",
                "verifiableCredential",
                "verifiableCredential must be a JSON object or a compact JWS (VC-JWT), not other text",
                PARSING_ERROR,
            )
        ]
    if isinstance(credential, Mapping):
        try:
            if enveloped_token(credential) is not None:
                return []  # VC-JOSE-COSE: the enveloped JWT is read and judged by the verifier
        except CredentialError as exc:
            return [Violation("verifiableCredential", "verifiableCredential.id", str(exc), PARSING_ERROR)]
    return credential_problems(credential)


def presentation_request_problems(body: Any) -> list[Violation]:
    problems, _ = request_problems(body, "verifiablePresentation")
    if problems:
        return problems
    presentation = body["verifiablePresentation"]
    problems = presentation_problems(presentation)
    if problems:
        return problems
    raw = presentation.get("verifiableCredential")
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if len(items) > MAX_PRESENTED_CREDENTIALS:
        return [
            Violation(
                "verifiableCredential",
                "verifiablePresentation.verifiableCredential",
                f"at most {MAX_PRESENTED_CREDENTIALS} credentials per presentation",
            )
        ]
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            where = "verifiablePresentation.verifiableCredential" + (
                f"[{index}]" if isinstance(raw, list) else ""
            )
            problems += credential_problems(item, where)
    return problems


def presentation_result(result: PresentationResult) -> Outcome:
    checks = (["proof"] if result.proof is not None else []) + [
        f"verifiableCredential[{index}]" for index in range(len(result.credentials))
    ]
    warnings: list[dict[str, Any]] = []
    if result.proof is None:
        warnings.append(
            {
                "type": "urn:portrait:warning:unsigned-presentation",
                "title": "Unsigned presentation",
                "detail": "the presentation has no proof: its holder is not authenticated",
            }
        )
    credential_results = []
    errors: list[dict[str, Any]] = []
    malformed_credential = False
    for index, item in enumerate(result.credentials):
        outcome = credential_result(item, loc=f"body.verifiablePresentation.verifiableCredential[{index}]")
        credential_results.append({"verified": item.verified, "checks": [c.to_json() for c in item.checks]})
        errors += outcome.body["errors"]
        malformed_credential = malformed_credential or outcome.status == 422
    if result.proof is not None and not result.proof.ok:
        errors.insert(0, _check_item(result.proof, "body.verifiablePresentation.proof"))
    extra = {
        "presentationResult": {"verified": result.proof.ok if result.proof else None}
        | ({"message": result.proof.message} if result.proof else {}),
        "credentialResults": credential_results,
    }
    if result.verified:
        return Outcome(200, {"verified": True, "checks": checks, "warnings": warnings, "errors": [], **extra})
    status = 422 if malformed_credential and (result.proof is None or result.proof.ok) else 400
    detail = "; ".join(f"{e['loc']}: {e['detail']}" for e in errors) or "the presentation does not verify"
    code = "malformed_credential" if status == 422 else "verification_failed"
    return Outcome(status, _problem(status, code, detail, errors, checks=checks, warnings=warnings, **extra))
