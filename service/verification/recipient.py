"""Does a credential belong to the person in front of the verifier? (pure)

The verifier types the applicant's e-mail address or student id; it is compared with the salted-hash
``identifier`` entries of the credential subject (OB 3.0 ``IdentityObject``). Nothing else is revealed:
the answer is matched or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.credentials.models import IdentityObject

MAX_RECIPIENT_LENGTH = 320


def _subjects(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subject = credential.get("credentialSubject")
    items = subject if isinstance(subject, list) else [subject]
    return [item for item in items if isinstance(item, Mapping)]


def recipient_matches(credential: Mapping[str, Any] | None, value: str) -> bool:
    """True when ``value`` is one of the identifiers the credential's subject carries."""
    if not credential or not value.strip():
        return False
    for subject in _subjects(credential):
        identifiers = subject.get("identifier")
        for item in identifiers if isinstance(identifiers, list) else [identifiers]:
            if not isinstance(item, Mapping):
                continue
            digest, kind = item.get("identityHash"), item.get("identityType")
            if not isinstance(digest, str) or not isinstance(kind, str):
                continue
            salt = item.get("salt")
            identity = IdentityObject(
                identity_hash=digest,
                identity_type=kind,
                hashed=item.get("hashed") is not False,
                salt=salt if isinstance(salt, str) else None,
            )
            if identity.matches(value):
                return True
    return False
