"""Badge errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ServiceUnavailableError, ValidationFailedError


class IssuerNotFound(NotFoundError):
    code = "issuer_not_found"


class AchievementNotFound(NotFoundError):
    code = "achievement_not_found"


class CredentialNotFound(NotFoundError):
    code = "credential_not_found"


class StatusListNotFound(NotFoundError):
    code = "status_list_not_found"


class CredentialRevoked(ConflictError):
    code = "credential_revoked"


class AwardNotIssuable(ConflictError):
    code = "award_not_issuable"


class InvalidCredential(ValidationFailedError):
    code = "invalid_credential"


class IssuerKeyUnavailable(ServiceUnavailableError):
    code = "issuer_key_unavailable"
