"""OneRoster adapter errors: the ServiceError subclasses of the REST surface, and the client's own."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ValidationFailedError


class ConnectionNotFound(NotFoundError):
    code = "oneroster_connection_not_found"


class ConnectionUrlRejected(ValidationFailedError):
    """A base or token URL is not http(s), carries credentials, or points at a private address."""

    code = "oneroster_url_rejected"


class SyncAlreadyRunning(ConflictError):
    code = "oneroster_sync_running"


class GradeMapNotFound(NotFoundError):
    code = "oneroster_grade_map_not_found"


class GradeMapExists(ConflictError):
    code = "oneroster_grade_map_exists"


class DeactivationGuard(ConflictError):
    """Applying the data would deactivate more learners than allowed without an override."""

    code = "oneroster_deactivation_guard"


class InvalidBundle(ValidationFailedError):
    code = "oneroster_invalid_bundle"


class OneRosterError(Exception):
    """A provider request failed for good; ``kind`` groups it in a sync report.

    Kinds: ``auth`` (token refused), ``http_<status>`` (an error answer, with the provider's
    ``imsx_codeMajor``/``imsx_description`` when it sent them), ``network`` (timeouts, connection
    errors after the retries), ``blocked`` (the outbound guard refused the address), ``bad_response``
    (not JSON, too large, not the expected shape).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        code_major: str | None = None,
        code_minor: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code_major = code_major
        self.code_minor = code_minor
        self.url = url

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "message": self.message}
        for key in ("status", "code_major", "code_minor", "url"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out
