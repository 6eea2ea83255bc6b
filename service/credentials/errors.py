"""Exceptions raised by the credentials library.

Every error derives from :class:`CredentialError`, so a caller can turn any of them into a 4xx answer
without knowing the details; the subclasses say which step failed.
"""

from __future__ import annotations


class CredentialError(Exception):
    """Base class of every error raised by ``service.credentials``."""


class ContextIntegrityError(CredentialError):
    """A pinned JSON-LD context file is missing or its SHA-256 does not match the pin."""


class UnknownContextError(CredentialError):
    """A document referenced a JSON-LD context URL that is not pinned (nothing is ever fetched)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context {url!r} is not one of the pinned contexts; it is never fetched")
        self.url = url


class JsonLdError(CredentialError):
    """JSON-LD processing failed (invalid syntax, invalid context, ...)."""


class SafeModeError(JsonLdError):
    """Safe-mode expansion refused the document: a term would be dropped or an IRI is relative.

    ``term`` names the offending key or value, ``path`` where it was found (JSON path-like).
    """

    def __init__(self, message: str, *, term: str | None = None, path: str = "$") -> None:
        super().__init__(message)
        self.term = term
        self.path = path


class KeyFormatError(CredentialError):
    """A key, multibase string, JWK or DID could not be decoded."""


class KeyResolutionError(CredentialError):
    """A verification method could not be resolved to a public key."""


class ProofError(CredentialError):
    """A proof could not be created or is malformed (unsupported type, bad proofValue, ...)."""


class SchemaValidationError(CredentialError):
    """A credential does not validate against its JSON Schema; ``errors`` lists each violation."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:5]) + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""))
        self.errors = errors


class StatusListError(CredentialError):
    """A Bitstring Status List is malformed, too short, too large or the index is out of range."""


class BakingError(CredentialError):
    """A badge image could not be baked or read: not a PNG/SVG, malformed, too large, unsafe XML."""


class FetchError(CredentialError):
    """A remote document (DID document, key, status list) could not be fetched or is not usable."""
