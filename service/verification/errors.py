"""Errors of the verification domain."""

from __future__ import annotations

from service.errors import BadRequestError, PayloadTooLargeError, ValidationFailedError


class UnreadableCredential(BadRequestError):
    """The body is not JSON, not a JWS, not a readable image."""

    code = "unreadable_credential"


class NoCredentialFound(ValidationFailedError):
    """The body was read but carries no credential (e.g. an image without a baked credential)."""

    code = "no_credential"


class VerifyBodyTooLarge(PayloadTooLargeError):
    code = "payload_too_large"
