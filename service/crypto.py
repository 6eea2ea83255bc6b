"""Secrets at rest: authenticated encryption with a key derived from the settings' key_encryption_key.

``SecretBox(key_material).encrypt("s3cret", context="webhook:<id>")`` returns ``"v1:<base64url>"``:
AES-256-GCM with a random 96-bit nonce, the key derived by HKDF-SHA256 from ``key_material``. The
optional ``context`` is authenticated but not stored (AES-GCM associated data): a ciphertext copied to
another row, whose context differs, fails to decrypt. The ``v1`` prefix names the format so that a
later one can be introduced without guessing. Key rotation: give the previous key materials as
``previous``; decryption tries the current key first, and :meth:`SecretBox.reencrypt` moves a value to
the current key.

Pure: no I/O, no settings lookup. Used for webhook secrets, OneRoster client secrets, issuer keys.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from service.config import Settings

VERSION = "v1"
_PREFIX = VERSION + ":"
_NONCE_BYTES = 12
_TAG_BYTES = 16
# Fixed, public HKDF parameters: they separate this use of the key material from any other use.
_HKDF_SALT = b"portrait/secretbox"
_HKDF_INFO = b"portrait secretbox v1 aes-256-gcm"
MIN_KEY_MATERIAL = 32


class SecretBoxError(Exception):
    """A value cannot be decrypted: wrong key, tampered or truncated data, or an unknown format."""


def derive_key(key_material: str) -> bytes:
    if len(key_material) < MIN_KEY_MATERIAL:
        raise ValueError(f"key material must be at least {MIN_KEY_MATERIAL} characters")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(key_material.encode("utf-8"))


class SecretBox:
    """Encrypts short secrets (at most a few KiB) for storage in the database."""

    def __init__(self, key_material: str, *, previous: Sequence[str] = ()) -> None:
        self._current = AESGCM(derive_key(key_material))
        self._keys = [self._current, *(AESGCM(derive_key(k)) for k in previous)]

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def decrypt(self, token: str, *, context: str = "") -> str:
        version, sep, body = token.partition(":")
        if not sep or version != VERSION:
            raise SecretBoxError(f"unknown secret format {version!r}: expected a '{VERSION}:' value")
        try:
            raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SecretBoxError("the encrypted secret is not valid base64url") from exc
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SecretBoxError("the encrypted secret is truncated")
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for key in self._keys:
            try:
                return key.decrypt(nonce, sealed, context.encode("utf-8")).decode("utf-8")
            except InvalidTag:
                continue
        raise SecretBoxError(
            "cannot decrypt the secret: the key_encryption_key differs from the one that encrypted it, "
            "or the value was altered"
        )

    def reencrypt(self, token: str, *, context: str = "") -> str:
        """The same secret under the current key (after a rotation)."""
        return self.encrypt(self.decrypt(token, context=context), context=context)


def secret_box(settings: Settings) -> SecretBox:
    """The box keyed by ``settings.key_encryption_key`` (generated into var_dir in embedded mode)."""
    if settings.key_encryption_key is None:
        settings.ensure_secrets()
    assert settings.key_encryption_key is not None
    return SecretBox(settings.key_encryption_key.get_secret_value())
