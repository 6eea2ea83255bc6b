"""Tenancy errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, UnauthorizedError


class TenantNotFound(NotFoundError):
    code = "tenant_not_found"


class TenantSlugTaken(ConflictError):
    code = "tenant_slug_taken"


class ApiClientNotFound(NotFoundError):
    code = "api_client_not_found"


class InvalidClient(UnauthorizedError):
    """OAuth ``invalid_client``: unknown client, wrong secret, or a disabled client or tenant."""

    code = "invalid_client"
