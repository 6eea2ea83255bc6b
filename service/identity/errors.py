"""Identity errors. Pages render them as refusal pages; ``detail`` is safe to show."""

from __future__ import annotations

from service.errors import ForbiddenError, NotFoundError, UnauthorizedError, ValidationFailedError


class SignInRefused(UnauthorizedError):
    """A sign-in attempt cannot be accepted (bad, used or expired link; failed SSO)."""

    code = "sign_in_refused"
    title = "Sign-in refused"


class UnknownPerson(ForbiddenError):
    """Signed in at the identity provider, but not a staff member on the district's roster."""

    code = "unknown_person"
    title = "Not on the roster"


class NotAllowed(ForbiddenError):
    """A staff member asked for something their roles do not cover."""

    code = "not_allowed"
    title = "Not allowed"


class CsrfFailed(ForbiddenError):
    code = "csrf_failed"
    title = "Form expired"


class SsoNotConfigured(NotFoundError):
    code = "sso_not_configured"
    title = "Single sign-on is not set up"


class InvalidRole(ValidationFailedError):
    code = "invalid_role"
