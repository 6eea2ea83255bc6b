"""Framework errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ValidationFailedError


class FrameworkNotFound(NotFoundError):
    code = "framework_not_found"


class NodeNotFound(NotFoundError):
    code = "not_found"


class FrameworkFrozen(ConflictError):
    """Published and retired versions never change; draft a new version instead."""

    code = "framework_frozen"


class InvalidTransition(ConflictError):
    code = "invalid_status_transition"


class FrameworkExists(ConflictError):
    code = "framework_exists"


class InvalidFrameworkReference(ValidationFailedError):
    code = "invalid_reference"
