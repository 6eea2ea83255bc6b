"""Roster errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ValidationFailedError


class RosterNotFound(NotFoundError):
    code = "not_found"


class SourcedIdTaken(ConflictError):
    code = "sourced_id_taken"


class DuplicateEnrollment(ConflictError):
    code = "duplicate_enrollment"


class InvalidReference(ValidationFailedError):
    """A body field points at an object that does not exist in the caller's tenant."""

    code = "invalid_reference"


class NullNotAllowed(ValidationFailedError):
    code = "null_not_allowed"
