"""SecretBox: secrets encrypted at rest, versioned, bound to their context, with key rotation."""

from __future__ import annotations

import pytest

from service.crypto import SecretBox, SecretBoxError

KEY = "k" * 48
OTHER = "o" * 48


def test_round_trip_is_versioned_and_randomised() -> None:
    box = SecretBox(KEY)
    token = box.encrypt("whsec_abc", context="webhook:1")
    assert token.startswith("v1:") and "whsec_abc" not in token
    assert box.decrypt(token, context="webhook:1") == "whsec_abc"
    assert box.encrypt("whsec_abc", context="webhook:1") != token  # fresh nonce every time
    assert box.decrypt(box.encrypt("")) == ""
    assert box.decrypt(box.encrypt("é ✓")) == "é ✓"


def test_wrong_key_gives_a_clear_error() -> None:
    token = SecretBox(KEY).encrypt("s3cret")
    with pytest.raises(SecretBoxError, match="key_encryption_key differs"):
        SecretBox(OTHER).decrypt(token)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t.replace("v1:", "v2:"), "unknown secret format"),
        (lambda t: t.removeprefix("v1:"), "unknown secret format"),
        (lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], "key_encryption_key differs"),
        (lambda t: "v1:" + t[3:15], "truncated"),
        (lambda t: "v1:***", "base64url"),
    ],
)
def test_tampered_values_fail(mangle: object, message: str) -> None:
    token = SecretBox(KEY).encrypt("s3cret")
    assert callable(mangle)
    with pytest.raises(SecretBoxError, match=message):
        SecretBox(KEY).decrypt(mangle(token))


def test_context_binds_a_value_to_its_row() -> None:
    box = SecretBox(KEY)
    token = box.encrypt("s3cret", context="webhook:a")
    with pytest.raises(SecretBoxError):
        box.decrypt(token, context="webhook:b")


def test_rotation_reads_old_values_and_reencrypts_them() -> None:
    old = SecretBox(OTHER).encrypt("s3cret", context="c")
    rotated = SecretBox(KEY, previous=[OTHER])
    assert rotated.decrypt(old, context="c") == "s3cret"
    fresh = rotated.reencrypt(old, context="c")
    assert SecretBox(KEY).decrypt(fresh, context="c") == "s3cret"
    with pytest.raises(SecretBoxError):
        SecretBox(KEY).decrypt(old, context="c")


def test_short_key_material_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        SecretBox("short")
