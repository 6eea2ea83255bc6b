"""Credential verification, pure: every input that needs I/O (keys, status lists) comes from callbacks.

:func:`verify_credential` reports five named checks, always in this order:

``schema``
    The official 1EdTech JSON Schema for the credential's type (OB 3.0 achievement / endorsement
    credential, CLR 2.0). VC 1.1-era credentials are checked against the same schema after the VC 1.1
    names are mapped to their VCDM 2.0 equivalents (``issuanceDate`` -> ``validFrom``, ...).
``proof``
    Data Integrity ``eddsa-rdfc-2022`` (also ``eddsa-2022`` and ``Ed25519Signature2020``), expanded in
    safe mode over the pinned contexts, or a VC-JWT signature; the key must be usable for
    ``assertionMethod``.
``issuer``
    The controller of the verification method is the credential's issuer.
``validity``
    ``validFrom`` / ``validUntil`` (VC 1.1: ``issuanceDate`` / ``expirationDate``; JWT ``nbf`` / ``exp``).
``status``
    Each ``credentialStatus`` entry through the caller's ``status_checker``.

To verify with keys that must be fetched (did:web), call :func:`verification_methods` first, fetch, then
pass a resolver over the fetched documents (see :func:`service.credentials.did.document_resolver`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.credentials.contexts import VC_V1, VC_V2, ContextRegistry
from service.credentials.data_integrity import proof_suite, verify_proof
from service.credentials.data_model import MAX_DEPTH, credential_problems, exceeds_depth
from service.credentials.errors import (
    CredentialError,
    KeyResolutionError,
    ProofError,
    SafeModeError,
    UnknownContextError,
)
from service.credentials.keys import KeyResolver, VerificationKey
from service.credentials.linked_data import expand
from service.credentials.memo import VerificationMemo, json_digest
from service.credentials.schema import schema_errors, schema_for
from service.credentials.status_list import StatusResult
from service.credentials.timeutil import format_datetime, parse_datetime
from service.credentials.vc_jwt import ParsedJwt, looks_like_jwt, parse_vc_jwt, verify_vc_jwt

CHECK_NAMES = ("schema", "proof", "issuer", "validity", "status")

StatusChecker = Callable[[Mapping[str, Any]], StatusResult]
"""Given one ``credentialStatus`` entry, return its :class:`StatusResult` (raise a ``CredentialError``
when the status cannot be determined, e.g. the list could not be fetched or did not verify)."""


@dataclass(frozen=True)
class Check:
    """One named verification step and its outcome."""

    check: str
    ok: bool
    message: str
    #: False when the check does not apply to this credential (the 1EdTech schema check of a credential
    #: that is neither an Open Badge nor a CLR); ``ok`` is then True and says nothing.
    applicable: bool = True

    def to_json(self) -> dict[str, Any]:
        """``{"check", "ok", "message"}`` as the verify API returns it (plus ``"applicable": false``
        for a check that does not apply)."""
        out: dict[str, Any] = {"check": self.check, "ok": self.ok, "message": self.message}
        if not self.applicable:
            out["applicable"] = False
        return out


@dataclass(frozen=True)
class VerificationResult:
    """``verified`` is true only when every check passed (the W3C sense: a genuine, current, unrevoked
    verifiable credential); ``credential`` is the parsed credential. :attr:`recognized` says whether it
    is a credential this service judges as a badge (an Open Badge 3.0 or CLR 2.0 credential, whose
    1EdTech schema check applied); :attr:`badge_verified` needs both."""

    verified: bool
    checks: tuple[Check, ...]
    credential: dict[str, Any] | None = None
    proof_format: str | None = None

    def check(self, name: str) -> Check:
        """The check called ``name`` (``schema``, ``proof``, ``issuer``, ``validity``, ``status``)."""
        for item in self.checks:
            if item.check == name:
                return item
        raise KeyError(name)

    @property
    def recognized(self) -> bool:
        """Whether the 1EdTech schema check applied: an Open Badge 3.0 (achievement or endorsement)
        or CLR 2.0 credential. Unreadable input counts as recognized (its checks already failed)."""
        return all(item.applicable for item in self.checks)

    @property
    def badge_verified(self) -> bool:
        """The verdict of an Open Badges / CLR verifier: every check passed *and* the credential is an
        Open Badge or CLR (as the 1EdTech validator, whose type probe fails any other credential)."""
        return self.verified and self.recognized

    @property
    def failed(self) -> list[str]:
        """Names of the checks that failed."""
        return [item.check for item in self.checks if not item.ok]

    def to_json(self) -> dict[str, Any]:
        """``{"verified": bool, "checks": [{"check", "ok", "message"}]}``."""
        return {"verified": self.verified, "checks": [item.to_json() for item in self.checks]}


class ProofMemo:
    """Remembers Data Integrity proofs that verified, keyed by a digest of the exact document, proof
    and public key, so a document verified again (a status list shared by many credentials) skips
    canonicalization. Sound because the outcome depends on nothing else (pinned contexts, no clock);
    bounded (least recently used forgotten first) and thread-safe. Only successes are remembered."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def digest(document: Mapping[str, Any], proof: Mapping[str, Any], key: VerificationKey) -> bytes:
        public = key.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        text = json.dumps([document, proof], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8") + b"\0" + public).digest()

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            if digest in self._seen:
                self._seen.move_to_end(digest)  # type: ignore[arg-type]
                return True
            return False

    def add(self, digest: bytes) -> None:
        with self._lock:
            self._seen[digest] = None
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


@dataclass
class _State:
    checks: dict[str, Check] = field(default_factory=dict)
    keys: list[VerificationKey] = field(default_factory=list)
    #: The memo of pure steps and the document's digest for it (see service.credentials.memo).
    memo: VerificationMemo | None = None
    digest: bytes | None = None

    def put(self, name: str, ok: bool, message: str, *, applicable: bool = True) -> None:
        self.checks[name] = Check(name, ok, message, applicable)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _method_id(proof: Mapping[str, Any]) -> str | None:
    method = proof.get("verificationMethod")
    if isinstance(method, Mapping):
        method = method.get("id")
    return method if isinstance(method, str) else None


def _is_vc1(credential: Mapping[str, Any]) -> bool:
    contexts = _as_list(credential.get("@context"))
    return bool(contexts) and contexts[0] == VC_V1


_ENVELOPED = re.compile(r"^data:application/(?:vc\+jwt|vc\+ld\+json\+jwt|vc\+ld\+jwt)(;[^,]*)?,(.*)$", re.S)


def enveloped_token(value: Mapping[str, Any]) -> str | None:
    """The compact JWS inside an ``EnvelopedVerifiableCredential`` (VC-JOSE-COSE: ``id`` is a
    ``data:application/vc+jwt,<JWS>`` URL), or ``None`` when ``value`` is not one. Raises
    :class:`CredentialError` for an envelope whose ``id`` holds no JWS."""
    if "EnvelopedVerifiableCredential" not in _as_list(value.get("type")):
        return None
    identifier = value.get("id")
    match = _ENVELOPED.match(identifier) if isinstance(identifier, str) else None
    if match is None:
        raise CredentialError(
            "an EnvelopedVerifiableCredential needs an id of the form data:application/vc+jwt,<JWS>"
        )
    parameters, data = match.group(1) or "", match.group(2)
    if ";base64" in parameters:
        try:
            data = base64.b64decode(data, validate=True).decode("ascii")
        except (ValueError, UnicodeDecodeError) as exc:
            raise CredentialError(f"the envelope's base64 data is invalid: {exc}") from exc
    else:
        data = unquote(data)
    if not looks_like_jwt(data):
        raise CredentialError("the EnvelopedVerifiableCredential's data is not a compact JWS")
    return data.strip()


def parse_input(
    doc_or_jws: Mapping[str, Any] | str | bytes,
) -> tuple[dict[str, Any], ParsedJwt | None, str | None]:
    """Turn a credential (JSON object, JSON text, compact JWS or an ``EnvelopedVerifiableCredential``
    holding a VC-JWT) into ``(credential, jwt, token)``.

    Raises :class:`ProofError` for a malformed JWS and :class:`CredentialError` for anything that is
    neither JSON nor a JWS.
    """
    if isinstance(doc_or_jws, Mapping):
        token = enveloped_token(doc_or_jws)
        if token is not None:
            return parse_input(token)
    if isinstance(doc_or_jws, bytes):
        try:
            doc_or_jws = doc_or_jws.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CredentialError("the credential is not UTF-8 text") from exc
    if isinstance(doc_or_jws, str):
        text = doc_or_jws.strip()
        if looks_like_jwt(text):
            parsed = parse_vc_jwt(text)
            if exceeds_depth(parsed.payload):
                raise ProofError(f"the JWT payload nests objects or arrays deeper than {MAX_DEPTH} levels")
            return parsed.credential, parsed, text
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise CredentialError("the credential is neither JSON nor a compact JWS") from exc
        if not isinstance(value, dict):
            raise CredentialError("the credential must be a JSON object")
        token = enveloped_token(value)
        if token is not None:
            return parse_input(token)
        return _shallow_enough(value), None, None
    if not isinstance(doc_or_jws, Mapping):
        raise CredentialError("the credential must be a JSON object or a compact JWS")
    return _shallow_enough(dict(doc_or_jws)), None, None


def _shallow_enough(credential: dict[str, Any]) -> dict[str, Any]:
    if exceeds_depth(credential):
        raise CredentialError(f"the credential nests objects or arrays deeper than {MAX_DEPTH} levels")
    return credential


def verification_methods(doc_or_jws: Mapping[str, Any] | str | bytes) -> list[str]:
    """The verification method URLs a verification will ask ``resolve_key`` for (to pre-fetch them)."""
    credential, parsed, _ = parse_input(doc_or_jws)
    return methods_of(credential, parsed)


def methods_of(credential: Mapping[str, Any], parsed: ParsedJwt | None) -> list[str]:
    """:func:`verification_methods` of an input :func:`parse_input` has already read."""
    if parsed is not None:
        kid = parsed.kid or parsed.payload.get("iss")
        return [kid] if isinstance(kid, str) else []
    methods: list[str] = []
    for proof in _as_list(credential.get("proof")):
        if isinstance(proof, Mapping) and proof_suite(proof) and (method := _method_id(proof)):
            methods.append(method)
    return methods


def verify_credential(
    doc_or_jws: Mapping[str, Any] | str | bytes,
    *,
    resolve_key: KeyResolver,
    now: datetime | None = None,
    status_checker: StatusChecker | None = None,
    registry: ContextRegistry | None = None,
    proof_memo: ProofMemo | None = None,
    memo: VerificationMemo | None = None,
) -> VerificationResult:
    """Verify a credential given as a JSON object, JSON text or a compact JWS (VC-JWT).

    ``resolve_key`` maps a verification method URL to a :class:`VerificationKey` (raise
    ``KeyResolutionError`` when it cannot); ``now`` (default: the current time) is the instant validity
    is judged at; ``status_checker`` reads ``credentialStatus`` entries; ``proof_memo`` (with the
    default registry only) skips Data Integrity proofs already verified. ``memo`` (with the default
    registry only, and only for input parsed from JSON text) remembers the steps that are pure
    functions of the exact document and key: schema, signatures, JSON-LD safe mode
    (:mod:`service.credentials.memo`). Never raises for a bad credential: every problem becomes a
    failed check with a readable message.
    """
    try:
        credential, parsed, token = parse_input(doc_or_jws)
    except CredentialError as exc:
        state = _State()
        for name in CHECK_NAMES:
            state.put(
                name, False, str(exc) if name in ("schema", "proof") else "not checked: unreadable input"
            )
        return _result(state, None, None)
    return verify_parsed(
        credential,
        parsed,
        token,
        resolve_key=resolve_key,
        now=now,
        status_checker=status_checker,
        registry=registry,
        proof_memo=proof_memo,
        memo=memo,
    )


def verify_parsed(
    credential: dict[str, Any],
    parsed: ParsedJwt | None,
    token: str | None,
    *,
    resolve_key: KeyResolver,
    now: datetime | None = None,
    status_checker: StatusChecker | None = None,
    registry: ContextRegistry | None = None,
    proof_memo: ProofMemo | None = None,
    memo: VerificationMemo | None = None,
) -> VerificationResult:
    """:func:`verify_credential` of an input :func:`parse_input` has already read (and depth-checked)."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    state = _State()
    if memo is not None and registry is None:
        state.memo, state.digest = memo, json_digest(credential)
    _check_schema(state, credential)
    if parsed is not None and token is not None:
        _check_jwt_proof(state, token, parsed, resolve_key, registry)
    else:
        _check_data_integrity(
            state, credential, resolve_key, registry, proof_memo if registry is None else None
        )
    _check_issuer(state, credential)
    _check_validity(state, credential, parsed, moment)
    _check_status(state, credential, status_checker)
    return _result(state, credential, "vc-jwt" if parsed is not None else "data-integrity")


def _result(state: _State, credential: dict[str, Any] | None, proof_format: str | None) -> VerificationResult:
    checks = tuple(state.checks[name] for name in CHECK_NAMES)
    return VerificationResult(
        verified=all(item.ok for item in checks),
        checks=checks,
        credential=credential,
        proof_format=proof_format,
    )


# --- schema -----------------------------------------------------------------------------------------


def _vc1_as_vc2(value: Any) -> Any:
    """Map VC 1.1 names to VCDM 2.0 ones (recursively, for embedded credentials) for schema checking."""
    if isinstance(value, list):
        return [_vc1_as_vc2(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    renamed: dict[str, str] = {"issuanceDate": "validFrom", "expirationDate": "validUntil"}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        if name == "@context":
            out[name] = [VC_V2 if entry == VC_V1 else entry for entry in _as_list(item)]
        else:
            out[renamed.get(name, name)] = _vc1_as_vc2(item)
    return out


def _memo_key(state: _State, step: str, *parts: Hashable) -> tuple[Hashable, ...] | None:
    """The memo key of a pure step over this document (``None``: nothing may be memoized)."""
    if state.memo is None or state.digest is None:
        return None
    return (step, state.digest, *parts)


_KEY_BYTES: dict[int, tuple[Any, bytes]] = {}


def _key_bytes(key: VerificationKey) -> bytes:
    """The public key's SubjectPublicKeyInfo bytes (remembered per key object: resolved keys are
    shared between verifications of the same DID document)."""
    public = key.public_key
    known = _KEY_BYTES.get(id(public))
    if known is not None and known[0] is public:
        return known[1]
    data = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if len(_KEY_BYTES) >= 1024:
        _KEY_BYTES.clear()
    _KEY_BYTES[id(public)] = (public, data)  # the entry holds the key: its id() cannot be reused
    return data


def _check_schema(state: _State, credential: Mapping[str, Any]) -> None:
    memo_key = _memo_key(state, "schema")
    if memo_key is not None and state.memo is not None:
        known = state.memo.get(memo_key)
        if isinstance(known, Check):
            state.checks["schema"] = known
            return
    _check_schema_now(state, credential)
    outcome = state.checks.get("schema")
    if memo_key is not None and state.memo is not None and outcome is not None and outcome.ok:
        state.memo.put(memo_key, outcome)


def _check_schema_now(state: _State, credential: Mapping[str, Any]) -> None:
    contexts = _as_list(credential.get("@context"))
    vc1 = _is_vc1(credential)
    if not contexts or contexts[0] not in (VC_V2, VC_V1):
        state.put("schema", False, f"@context must start with {VC_V2!r} (or {VC_V1!r} for VC 1.1)")
        return
    types = _as_list(credential.get("type"))
    if "VerifiableCredential" not in types:
        state.put("schema", False, "type must include 'VerifiableCredential'")
        return
    schema_id = schema_for(credential)
    if schema_id is None:
        missing = [name for name in ("issuer", "credentialSubject") if name not in credential]
        if missing:
            state.put("schema", False, f"missing {', '.join(missing)}")
        elif _data_model_holds(state, credential):
            # Not vacuously "valid": no 1EdTech schema applies. The check is reported as not applicable
            # and an Open Badges verdict (VerificationResult.badge_verified) stays false for it.
            state.put(
                "schema",
                True,
                f"not applicable: type {types} is neither an Open Badge 3.0 nor a CLR 2.0 credential "
                "(no 1EdTech schema applies; the W3C VC data model rules hold)",
                applicable=False,
            )
        return
    document = _vc1_as_vc2(credential) if vc1 else credential
    errors = schema_errors(document, schema_id)
    name = schema_id.rsplit("/", 1)[-1]
    if errors:
        shown = "; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")
        state.put("schema", False, f"does not validate against {name}: {shown}")
    elif not _data_model_holds(state, credential):
        return
    else:
        suffix = " (VC 1.1 names mapped to VCDM 2.0)" if vc1 else ""
        state.put("schema", True, f"valid against {name}{suffix}")


def _data_model_holds(state: _State, credential: Mapping[str, Any]) -> bool:
    """The W3C data model rules the 1EdTech schemas do not cover (dateTimeStamp, URL ids, typed
    entries); on failure the schema check names the first broken rule."""
    problems = credential_problems(credential, "credential", include_proof=False)
    if not problems:
        return True
    first = problems[0]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    state.put("schema", False, f"VC data model: {first.path}: {first.message}{more}")
    return False


# --- proof ------------------------------------------------------------------------------------------


def _resolve(resolve_key: KeyResolver, method: str) -> VerificationKey:
    try:
        key = resolve_key(method)
    except KeyResolutionError:
        raise
    except CredentialError as exc:
        raise KeyResolutionError(str(exc)) from exc
    if not isinstance(key, VerificationKey):
        raise KeyResolutionError(f"the key resolver returned {type(key).__name__}, not a VerificationKey")
    if key.id != method:
        raise KeyResolutionError(f"the key resolver returned {key.id!r} for {method!r}")
    return key


def _check_data_integrity(
    state: _State,
    credential: Mapping[str, Any],
    resolve_key: KeyResolver,
    registry: ContextRegistry | None,
    memo: ProofMemo | None = None,
) -> None:
    proofs = [proof for proof in _as_list(credential.get("proof")) if isinstance(proof, Mapping)]
    if not proofs:
        state.put("proof", False, "the credential has no proof")
        return
    supported = [proof for proof in proofs if proof_suite(proof)]
    unsupported = sorted(
        {str(proof.get("cryptosuite") or proof.get("type")) for proof in proofs if not proof_suite(proof)}
    )
    if not supported:
        state.put("proof", False, f"no supported proof (found {', '.join(unsupported)})")
        return
    messages: list[str] = []
    for proof in supported:
        suite = proof_suite(proof)
        method = _method_id(proof)
        if method is None:
            state.put("proof", False, f"{suite} proof has no verificationMethod")
            return
        if proof.get("proofPurpose") != "assertionMethod":
            state.put(
                "proof", False, f"proofPurpose must be 'assertionMethod', not {proof.get('proofPurpose')!r}"
            )
            return
        try:
            key = _resolve(resolve_key, method)
        except KeyResolutionError as exc:
            state.put("proof", False, f"could not resolve verification method {method!r}: {exc}")
            return
        if not key.allows("assertionMethod"):
            state.put(
                "proof", False, f"key {method!r} is not authorized for assertionMethod by its controller"
            )
            return
        previous = _previous_proofs(proof, proofs)
        if isinstance(previous, str):
            state.put("proof", False, f"{suite}: {previous}")
            return
        # The position of the proof in the document, its method and the exact key: a signature
        # check is a pure function of those and the document's bytes.
        memo_key = _memo_key(state, "proof", proofs.index(proof), method, _key_bytes(key))
        try:
            if memo_key is None or state.memo is None or not state.memo.get(memo_key):
                digest = ProofMemo.digest(credential, proof, key) if memo is not None else b""
                if memo is None or digest not in memo:
                    verify_proof(credential, proof, key.public_key, registry=registry, previous=previous)
                    if memo is not None:
                        memo.add(digest)
                if memo_key is not None and state.memo is not None:
                    state.memo.put(memo_key, True)
        except SafeModeError as exc:
            state.put("proof", False, f"{suite}: JSON-LD safe mode: {exc}")
            return
        except UnknownContextError as exc:
            state.put("proof", False, f"{suite}: {exc}")
            return
        except CredentialError as exc:
            state.put("proof", False, f"{suite}: {exc}")
            return
        state.keys.append(key)
        messages.append(f"{suite} signature by {method} is valid")
    if unsupported:
        messages.append(f"ignored unsupported proof(s): {', '.join(unsupported)}")
    state.put("proof", True, "; ".join(messages))


def _previous_proofs(
    proof: Mapping[str, Any], proofs: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]] | str:
    """The proofs ``proof.previousProof`` names (a proof chain), or why they cannot be found. Every
    proof is verified on its own, so each proof of a chain is verified before the result counts."""
    named = proof.get("previousProof")
    if named is None:
        return []
    ids = [named] if isinstance(named, str) else named
    if not isinstance(ids, list) or not ids or not all(isinstance(item, str) for item in ids):
        return "previousProof must be a proof id or a non-empty array of proof ids"
    by_id = {item.get("id"): item for item in proofs if isinstance(item.get("id"), str)}
    missing = [item for item in ids if item not in by_id]
    if missing:
        return f"previousProof {missing[0]!r} names no proof of the document"
    return [by_id[item] for item in dict.fromkeys(ids)]


def _check_jwt_proof(
    state: _State,
    token: str,
    parsed: ParsedJwt,
    resolve_key: KeyResolver,
    registry: ContextRegistry | None = None,
) -> None:
    method = parsed.kid
    if method is None:
        issuer = parsed.payload.get("iss")
        method = issuer if isinstance(issuer, str) else None
    if method is None:
        state.put("proof", False, "the JWT names no key: no kid header and no iss claim")
        return
    try:
        key = _resolve(resolve_key, method)
    except KeyResolutionError as exc:
        state.put("proof", False, f"could not resolve JWT key {method!r}: {exc}")
        return
    if not key.allows("assertionMethod"):
        state.put("proof", False, f"key {method!r} is not authorized for assertionMethod by its controller")
        return
    # Signature and safe mode are pure functions of the token's exact bytes and the key.
    memo_key = None
    if state.memo is not None and registry is None:
        memo_key = ("vc-jwt", hashlib.sha256(token.encode("utf-8")).digest(), method, _key_bytes(key))
    if memo_key is None or state.memo is None or not state.memo.get(memo_key):
        try:
            verify_vc_jwt(token, key.public_key)
        except ProofError as exc:
            state.put("proof", False, str(exc))
            return
        # The same JSON-LD safe mode a Data Integrity proof goes through: a JWS signs bytes, not
        # meaning, so without it an undefined term or an unpinned context would verify as a JWT and
        # fail as DI.
        try:
            expand(parsed.credential, registry=registry)
        except SafeModeError as exc:
            state.put("proof", False, f"VC-JWT: JSON-LD safe mode: {exc}")
            return
        except CredentialError as exc:
            state.put("proof", False, f"VC-JWT: {exc}")
            return
        if memo_key is not None and state.memo is not None:
            state.memo.put(memo_key, True)
    state.keys.append(key)
    state.put("proof", True, f"VC-JWT {parsed.header.get('alg')} signature by {method} is valid")


# --- issuer -----------------------------------------------------------------------------------------


def _check_issuer(state: _State, credential: Mapping[str, Any]) -> None:
    issuer = _issuer_id(credential)
    if issuer is None:
        state.put("issuer", False, "the credential has no issuer id")
        return
    if not state.keys:
        state.put("issuer", False, "not checked: no verified proof key to compare with the issuer")
        return
    # A proof set or chain may hold proofs of other parties too (witnesses, endorsers: every proof
    # has verified by now); the issuer's own key must have signed at least one of them.
    others = [key for key in state.keys if key.controller != issuer]
    if len(others) == len(state.keys):
        key = others[0]
        state.put(
            "issuer",
            False,
            f"key {key.id!r} is controlled by {key.controller!r}, not the issuer {issuer!r}",
        )
        return
    also = f"; other proofs by {', '.join(sorted({str(k.controller) for k in others}))}" if others else ""
    state.put("issuer", True, f"the signing key is controlled by the issuer {issuer}{also}")


# --- validity ---------------------------------------------------------------------------------------


def _check_validity(
    state: _State, credential: Mapping[str, Any], parsed: ParsedJwt | None, now: datetime
) -> None:
    vc1 = _is_vc1(credential)
    start_name, end_name = ("issuanceDate", "expirationDate") if vc1 else ("validFrom", "validUntil")
    bounds: list[tuple[str, datetime | None, datetime | None]] = []
    try:
        start = parse_datetime(credential[start_name]) if start_name in credential else None
        end = parse_datetime(credential[end_name]) if end_name in credential else None
    except (ValueError, TypeError) as exc:
        state.put("validity", False, f"invalid date: {exc}")
        return
    if vc1 and start is None:
        state.put("validity", False, "a VC 1.1 credential must have issuanceDate")
        return
    bounds.append((f"{start_name}/{end_name}", start, end))
    if parsed is not None:
        nbf, exp = parsed.payload.get("nbf"), parsed.payload.get("exp")
        # OB 3.0 (VC-JWT): nbf "MUST represent" validFrom and exp validUntil; a token whose claims say
        # otherwise is valid for a different window than the credential it carries.
        for claim, value, date, name in ((("nbf", nbf, start, start_name)), ("exp", exp, end, end_name)):
            if isinstance(value, int | float) and date is not None and abs(value - date.timestamp()) >= 1:
                state.put(
                    "validity",
                    False,
                    f"JWT {claim} {format_datetime(datetime.fromtimestamp(value, UTC))} does not match "
                    f"{name} {format_datetime(date)}",
                )
                return
        bounds.append(
            (
                "JWT nbf/exp",
                datetime.fromtimestamp(nbf, UTC) if isinstance(nbf, int | float) else None,
                datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None,
            )
        )
    for label, begin, finish in bounds:
        if begin is not None and finish is not None and finish < begin:
            state.put("validity", False, f"{label}: the end {format_datetime(finish)} is before the start")
            return
        if begin is not None and now < begin:
            state.put("validity", False, f"not yet valid: {label.split('/')[0]} is {format_datetime(begin)}")
            return
        if finish is not None and now >= finish:
            state.put("validity", False, f"expired: {label.split('/')[1]} was {format_datetime(finish)}")
            return
    window = f"from {format_datetime(start)}" if start else "no start date"
    window += f" until {format_datetime(end)}" if end else ", no expiry"
    state.put("validity", True, f"valid at {format_datetime(now)} ({window})")


# --- status -----------------------------------------------------------------------------------------


def _check_status(state: _State, credential: Mapping[str, Any], status_checker: StatusChecker | None) -> None:
    entries = [entry for entry in _as_list(credential.get("credentialStatus")) if isinstance(entry, Mapping)]
    if not entries:
        state.put("status", True, "no credentialStatus: nothing to check")
        return
    if status_checker is None:
        state.put(
            "status", False, "the credential has a credentialStatus but its status could not be checked"
        )
        return
    messages: list[str] = []
    for entry in entries:
        try:
            outcome = status_checker(entry)
        except CredentialError as exc:
            state.put("status", False, f"status of {entry.get('type')} could not be checked: {exc}")
            return
        if outcome.set and outcome.purpose in ("revocation", "suspension"):
            state.put("status", False, outcome.message)
            return
        messages.append(outcome.message)
    state.put("status", True, "; ".join(messages))
