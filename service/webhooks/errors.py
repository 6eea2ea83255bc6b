"""Webhook errors."""

from __future__ import annotations

from service.errors import NotFoundError, ValidationFailedError


class WebhookNotFound(NotFoundError):
    code = "webhook_not_found"


class WebhookUrlRejected(ValidationFailedError):
    """The URL is not http(s), carries credentials, or points at a private address."""

    code = "webhook_url_rejected"
