"""Wallet errors. ``OAuthError`` carries an RFC 6749 / 7591 error code for what the transport refuses before
Authlib reads a request (service.wallet.oauth answers the protocol's own errors with Authlib's); the resource
API renders ServiceErrors as ``Imsx_StatusInfo`` bodies (imsx_codeMinor from ``imsx_minor``)."""

from __future__ import annotations

from typing import ClassVar

from service.errors import BadRequestError, ForbiddenError, NotFoundError, ServiceError, UnauthorizedError


class OAuthError(ServiceError):
    """An OAuth 2.0 protocol error: ``code`` is the RFC's ``error`` value, ``detail`` its description."""

    status: ClassVar[int] = 400
    code = "invalid_request"
    title = "OAuth request refused"


class InvalidRequest(OAuthError):
    code = "invalid_request"


class InvalidClientMetadata(OAuthError):
    code = "invalid_client_metadata"


class BadRedirect(OAuthError):
    """The client or redirect_uri cannot be trusted: the error is shown to the learner, never redirected."""

    code = "invalid_request"
    title = "This wallet's request cannot be used"


# -- resource API (Imsx_StatusInfo) --------------------------------------------------------------


class TokenRefused(UnauthorizedError):
    code = "invalid_token"
    imsx_minor = "unauthorizedrequest"


class ScopeMissing(ForbiddenError):
    code = "insufficient_scope"
    imsx_minor = "forbidden"


class InvalidData(BadRequestError):
    code = "invalid_data"
    imsx_minor = "invalid_data"


class InvalidQuery(BadRequestError):
    code = "invalid_query_parameter"
    imsx_minor = "invalid_query_parameter"


class UnknownTenant(NotFoundError):
    code = "not_found"
    imsx_minor = "not_found"
    title = "No such district"


class NotALearner(ForbiddenError):
    code = "not_a_learner"
    title = "Not a learner on the roster"


class ConnectionNotFound(NotFoundError):
    code = "not_found"
    title = "Connection not found"
