"""Errors that carry their HTTP status; one handler per transport renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``loc`` is the path to it (e.g. ``body.name``)."""

    loc: str
    message: str
    type: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {"loc": self.loc, "message": self.message, "type": self.type}


@dataclass
class ServiceError(Exception):
    """Base of every expected failure of a use case."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    # GraphQL extensions.code
    graphql_code: ClassVar[str] = "BAD_USER_INPUT"

    def __post_init__(self) -> None:
        super().__init__(self.detail)


class BadRequestError(ServiceError):
    pass


class ValidationFailedError(ServiceError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"


class UnauthorizedError(ServiceError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"
    graphql_code = "UNAUTHENTICATED"


class ForbiddenError(ServiceError):
    status = 403
    code = "insufficient_scope"
    title = "Forbidden"
    graphql_code = "FORBIDDEN"


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"
    title = "Not found"
    graphql_code = "NOT_FOUND"


class ConflictError(ServiceError):
    status = 409
    code = "conflict"
    title = "Conflict"
    graphql_code = "CONFLICT"


class PayloadTooLargeError(ServiceError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaTypeError(ServiceError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class ServiceUnavailableError(ServiceError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"
    graphql_code = "UNAVAILABLE"
