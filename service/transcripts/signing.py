"""A transcript's CPU-bound work, run in the signing process pool (:mod:`service.badges.signing`).

Signing is nearly all of a transcript's CPU (the records' and the ClrCredential's eddsa-rdfc-2022
canonicalization, the RS256 VC-JWT, the schema check); a cohort job sends each learner's records and
then its transcript here, so one batch job uses every core while its own process reads and writes the
database. The functions are top-level and take plain data (the keys as DER bytes, loaded once per
worker) so that they pickle; they return ``("ok", ...)`` or ``("error", message)`` for a
:class:`CredentialError`, which the caller reports for that learner alone. Each pool worker keeps its
own caches (:mod:`service.credentials.clr_canonical`'s pieces and shapes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization

from service.credentials import CredentialError, issue, sign_vc_jwt
from service.credentials.builder import Signer
from service.credentials.clr import ClrCredential, build_clr_credential, sign_clr_data_integrity
from service.credentials.models import OpenBadgeCredential

_keys: dict[bytes, Any] = {}


def _key(der: bytes) -> Any:
    key = _keys.get(der)
    if key is None:
        if len(_keys) > 64:
            _keys.clear()
        key = _keys[der] = serialization.load_der_private_key(der, password=None)
    return key


@dataclass(frozen=True)
class Keys:
    """The district's two signers as picklable data."""

    data_integrity_method: str
    data_integrity_der: bytes
    vc_jwt_method: str
    vc_jwt_der: bytes

    @classmethod
    def of(cls, data_integrity: Signer, vc_jwt: Signer) -> Keys:
        def der(signer: Signer) -> bytes:
            return signer.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )

        return cls(
            data_integrity.verification_method, der(data_integrity), vc_jwt.verification_method, der(vc_jwt)
        )

    def data_integrity(self) -> Signer:
        return Signer(self.data_integrity_method, _key(self.data_integrity_der))

    def vc_jwt(self) -> Signer:
        return Signer(self.vc_jwt_method, _key(self.vc_jwt_der))


def sign_records(
    keys: Keys, records: list[OpenBadgeCredential], created: datetime
) -> tuple[str, list[str] | str]:
    """The records signed (eddsa-rdfc-2022), each as its JSON text."""
    signer = keys.data_integrity()
    out: list[str] = []
    try:
        for record in records:
            signed = issue(record, signer, created=created)
            assert isinstance(signed, dict)
            out.append(orjson.dumps(signed).decode())
    except CredentialError as exc:
        return "error", str(exc)
    return "ok", out


def sign_transcript(
    keys: Keys, credential: ClrCredential, created: datetime
) -> tuple[str, tuple[str, str] | str]:
    """The ClrCredential built and schema-checked, signed (eddsa-rdfc-2022, as JSON text) and as a
    VC-JWT (RS256)."""
    try:
        document = build_clr_credential(credential, check_json_ld=False)
        signed = sign_clr_data_integrity(document, keys.data_integrity(), created=created)
        token = sign_vc_jwt(document, keys.vc_jwt())
    except CredentialError as exc:
        return "error", str(exc)
    return "ok", (orjson.dumps(signed).decode(), token)
