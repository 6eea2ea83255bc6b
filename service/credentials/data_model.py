"""W3C VC Data Model 2.0 rules a verifier enforces before it looks at proofs (pure, no I/O).

:func:`credential_problems` and :func:`presentation_problems` return every :class:`Violation` found,
each naming the rule (the property) and where it was found, so an API can answer "422: validFrom is
not an XML Schema dateTimeStamp" instead of a vague failure. VC 1.1 credentials (first context
``https://www.w3.org/2018/credentials/v1``) get the rules the two versions share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.credentials.contexts import VC_V1, VC_V2
from service.credentials.timeutil import parse_datetime

# VC DM 2.0 section 7.1 "Verification" problem types.
PARSING_ERROR = "https://www.w3.org/TR/vc-data-model#PARSING_ERROR"
CRYPTOGRAPHIC_SECURITY_ERROR = "https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR"
MALFORMED_VALUE_ERROR = "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR"
RANGE_ERROR = "https://www.w3.org/TR/vc-data-model#RANGE_ERROR"

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_DATETIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_TYPED = ("credentialStatus", "credentialSchema", "evidence", "termsOfUse", "refreshService")
SUPPORTED_CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-2022")


MAX_DEPTH = 64
"""Deepest nesting of objects/arrays accepted in a credential or presentation (real ones stay under 12);
deeper documents would exhaust recursion in JSON-LD processing and JSON encoding."""


_SCALARS = (str, int, float, bool, type(None))


def exceeds_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects/arrays deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    push, pop = stack.append, stack.pop
    while stack:
        item, depth = pop()
        if isinstance(item, dict):  # concrete types first: ABC checks are slow on the hot path
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        elif isinstance(item, Mapping):
            children = item.values()
        else:
            continue
        if depth > limit:
            return True
        for child in children:
            if not isinstance(child, _SCALARS):
                push((child, depth + 1))
    return False


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``rule`` names the property, ``path`` where (``verifiableCredential.validFrom``)."""

    rule: str
    path: str
    message: str
    type: str = MALFORMED_VALUE_ERROR


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def is_url(value: Any) -> bool:
    """An absolute URL/IRI (scheme ``:`` something, no spaces): ``https://...``, ``did:...``, ``urn:...``."""
    return isinstance(value, str) and bool(_URL.match(value))


def _language_value(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, Mapping):
        return isinstance(value.get("@value"), str) and all(
            isinstance(value.get(key), str) for key in ("@language", "@direction") if key in value
        )
    return False


def _context_problems(document: Mapping[str, Any], path: str) -> tuple[list[Violation], str | None]:
    contexts = document.get("@context")
    if contexts is None:
        return [Violation("@context", f"{path}.@context", "@context is required", PARSING_ERROR)], None
    items = _as_list(contexts)
    if not items or items[0] not in (VC_V2, VC_V1):
        return [
            Violation(
                "@context",
                f"{path}.@context",
                f"the first @context entry must be {VC_V2!r} (VC 1.1: {VC_V1!r}), "
                f"not {items[0] if items else None!r}",
                PARSING_ERROR,
            )
        ], None
    bad = [
        item
        for item in items
        if not (isinstance(item, str) and is_url(item)) and not isinstance(item, Mapping)
    ]
    if bad:
        return [
            Violation(
                "@context", f"{path}.@context", "@context entries must be URLs or objects", PARSING_ERROR
            )
        ], None
    return [], str(items[0])


def _type_problems(document: Mapping[str, Any], path: str, required: str) -> list[Violation]:
    types = document.get("type")
    if types is None:
        return [Violation("type", f"{path}.type", f"type is required and must include {required!r}")]
    items = _as_list(types)
    if not items or not all(isinstance(item, str) and item for item in items):
        return [Violation("type", f"{path}.type", "type must be a string or an array of strings")]
    if required not in items:
        return [Violation("type", f"{path}.type", f"type must include {required!r}")]
    return []


def _date_problem(
    document: Mapping[str, Any], name: str, path: str, v2: bool
) -> tuple[list[Violation], datetime | None]:
    if name not in document:
        return [], None
    value = document[name]
    if not isinstance(value, str) or (v2 and not _DATETIME_STAMP.match(value)):
        what = "an XML Schema dateTimeStamp (with a time zone)" if v2 else "an XML Schema dateTime"
        return [Violation(name, f"{path}.{name}", f"{name} must be {what}, not {value!r}")], None
    try:
        return [], parse_datetime(value)
    except ValueError:
        return [Violation(name, f"{path}.{name}", f"{name} {value!r} is not a valid date and time")], None


def credential_problems(
    credential: Any, path: str = "verifiableCredential", *, include_proof: bool = True
) -> list[Violation]:
    """Every VC data model rule ``credential`` breaks (empty list: the basics hold); proof shape rules
    too unless ``include_proof`` is false."""
    if not isinstance(credential, Mapping):
        return [Violation("credential", path, "a credential must be a JSON object", PARSING_ERROR)]
    problems, version = _context_problems(credential, path)
    if version is None:
        return problems
    v2 = version == VC_V2
    problems += _type_problems(credential, path, "VerifiableCredential")
    if "id" in credential and not is_url(credential["id"]):
        problems.append(Violation("id", f"{path}.id", "id must be a URL"))
    issuer = credential.get("issuer")
    if issuer is None:
        problems.append(Violation("issuer", f"{path}.issuer", "issuer is required"))
    elif isinstance(issuer, Mapping):
        if not is_url(issuer.get("id")):
            problems.append(Violation("issuer", f"{path}.issuer.id", "the issuer object must have a URL id"))
    elif not is_url(issuer):
        problems.append(Violation("issuer", f"{path}.issuer", "issuer must be a URL or an object with an id"))
    subjects = credential.get("credentialSubject")
    if subjects is None:
        problems.append(
            Violation("credentialSubject", f"{path}.credentialSubject", "credentialSubject is required")
        )
    else:
        items = _as_list(subjects)
        if not items or not all(isinstance(item, Mapping) and item for item in items):
            problems.append(
                Violation(
                    "credentialSubject",
                    f"{path}.credentialSubject",
                    "credentialSubject must be one or more non-empty objects",
                )
            )
        else:
            for index, item in enumerate(items):
                if "id" in item and not is_url(item["id"]):
                    problems.append(
                        Violation(
                            "credentialSubject", f"{path}.credentialSubject[{index}].id", "id must be a URL"
                        )
                    )
    if v2:
        start_problems, start = _date_problem(credential, "validFrom", path, True)
        end_problems, end = _date_problem(credential, "validUntil", path, True)
    else:
        if "issuanceDate" not in credential:
            problems.append(
                Violation("issuanceDate", f"{path}.issuanceDate", "a VC 1.1 credential needs issuanceDate")
            )
        start_problems, start = _date_problem(credential, "issuanceDate", path, False)
        end_problems, end = _date_problem(credential, "expirationDate", path, False)
    problems += start_problems + end_problems
    if start is not None and end is not None and end < start:
        problems.append(
            Violation(
                "validUntil" if v2 else "expirationDate",
                path,
                "the credential ends before it starts",
                RANGE_ERROR,
            )
        )
    for name in _TYPED:
        for index, item in enumerate(_as_list(credential.get(name))):
            where = f"{path}.{name}" + (f"[{index}]" if isinstance(credential.get(name), list) else "")
            if not isinstance(item, Mapping) or not item.get("type"):
                problems.append(Violation(name, where, f"each {name} entry must be an object with a type"))
                continue
            if "id" in item and not is_url(item["id"]):
                problems.append(Violation(name, f"{where}.id", f"{name} id must be a URL"))
            if name == "credentialSchema" and not is_url(item.get("id")):
                problems.append(Violation(name, f"{where}.id", "credentialSchema needs a URL id"))
    problems += _related_resource_problems(credential.get("relatedResource"), f"{path}.relatedResource")
    for name in ("name", "description"):
        if name in credential and not all(_language_value(item) for item in _as_list(credential[name])):
            problems.append(
                Violation(name, f"{path}.{name}", f"{name} must be a string or language value objects")
            )
    if include_proof:
        problems += proof_problems(credential.get("proof"), f"{path}.proof")
    return problems


def _related_resource_problems(resources: Any, path: str) -> list[Violation]:
    """VC DM 2.0 5.3 "Integrity of Related Resources": objects with a unique URL ``id`` and a
    ``digestSRI`` or ``digestMultibase``. (Whether a digest matches the resource is not checked: that
    needs the resource fetched, which issuing and verifying here never do.)"""
    problems: list[Violation] = []
    seen: set[str] = set()
    for index, item in enumerate(_as_list(resources)):
        where = path + (f"[{index}]" if isinstance(resources, list) else "")
        if not isinstance(item, Mapping):
            problems.append(Violation("relatedResource", where, "each relatedResource must be an object"))
            continue
        resource_id = item.get("id")
        if not is_url(resource_id):
            problems.append(Violation("relatedResource", f"{where}.id", "relatedResource needs a URL id"))
        elif resource_id in seen:
            problems.append(
                Violation("relatedResource", f"{where}.id", f"relatedResource id {resource_id!r} is repeated")
            )
        else:
            seen.add(str(resource_id))
        digests = [item.get(name) for name in ("digestSRI", "digestMultibase") if name in item]
        if not digests or not all(isinstance(value, str) and value for value in digests):
            problems.append(
                Violation(
                    "relatedResource", where, "relatedResource needs a digestSRI or digestMultibase string"
                )
            )
    return problems


def proof_problems(proofs: Any, path: str) -> list[Violation]:
    """Shape rules of Data Integrity proofs (the signature itself is checked by the verifier)."""
    problems: list[Violation] = []
    for index, proof in enumerate(_as_list(proofs)):
        where = path + (f"[{index}]" if isinstance(proofs, list) else "")
        if not isinstance(proof, Mapping):
            problems.append(
                Violation("proof", where, "a proof must be an object", CRYPTOGRAPHIC_SECURITY_ERROR)
            )
            continue
        if not isinstance(proof.get("type"), str):
            problems.append(
                Violation("proof", f"{where}.type", "a proof must have a type", CRYPTOGRAPHIC_SECURITY_ERROR)
            )
        if proof.get("type") not in ("DataIntegrityProof", "Ed25519Signature2020"):
            continue  # another proof type: its rules are its own; the verifier ignores or refuses it
        if proof.get("type") == "DataIntegrityProof" and not isinstance(proof.get("cryptosuite"), str):
            problems.append(
                Violation(
                    "proof",
                    f"{where}.cryptosuite",
                    "a DataIntegrityProof needs a cryptosuite",
                    CRYPTOGRAPHIC_SECURITY_ERROR,
                )
            )
        if not isinstance(proof.get("proofPurpose"), str):
            problems.append(
                Violation(
                    "proof",
                    f"{where}.proofPurpose",
                    "a proof needs a proofPurpose",
                    CRYPTOGRAPHIC_SECURITY_ERROR,
                )
            )
        method = proof.get("verificationMethod")
        method_id = method.get("id") if isinstance(method, Mapping) else method
        if not is_url(method_id):
            problems.append(
                Violation(
                    "proof",
                    f"{where}.verificationMethod",
                    "verificationMethod must be a URL",
                    CRYPTOGRAPHIC_SECURITY_ERROR,
                )
            )
        for name in ("created", "expires"):
            if name in proof and not (isinstance(proof[name], str) and _DATETIME_STAMP.match(proof[name])):
                problems.append(
                    Violation(
                        "proof",
                        f"{where}.{name}",
                        f"proof {name} must be an XML Schema dateTimeStamp",
                        CRYPTOGRAPHIC_SECURITY_ERROR,
                    )
                )
    return problems


def presentation_problems(presentation: Any, path: str = "verifiablePresentation") -> list[Violation]:
    """Every VC data model rule a presentation breaks (its credentials are checked one by one later)."""
    if not isinstance(presentation, Mapping):
        return [Violation("presentation", path, "a presentation must be a JSON object", PARSING_ERROR)]
    problems, version = _context_problems(presentation, path)
    if version is None:
        return problems
    problems += _type_problems(presentation, path, "VerifiablePresentation")
    if "id" in presentation and not is_url(presentation["id"]):
        problems.append(Violation("id", f"{path}.id", "id must be a URL"))
    holder = presentation.get("holder")
    if holder is not None:
        holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
        if not is_url(holder_id):
            problems.append(
                Violation("holder", f"{path}.holder", "holder must be a URL or an object with a URL id")
            )
    raw = presentation.get("verifiableCredential")
    for index, item in enumerate(_as_list(raw)):
        where = f"{path}.verifiableCredential" + (f"[{index}]" if isinstance(raw, list) else "")
        if isinstance(item, str):
            continue  # a compact JWS (VC-JWT) credential
        if not isinstance(item, Mapping):
            problems.append(
                Violation("verifiableCredential", where, "each credential must be an object or a JWS")
            )
    problems += proof_problems(presentation.get("proof"), f"{path}.proof")
    return problems


def holder_id(presentation: Mapping[str, Any]) -> str | None:
    holder = presentation.get("holder")
    value = holder.get("id") if isinstance(holder, Mapping) else holder
    return value if isinstance(value, str) else None
