"""Job errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError


class JobNotFound(NotFoundError):
    code = "job_not_found"


class JobFinished(ConflictError):
    code = "job_finished"


class JobCancelled(Exception):
    """Raised inside a handler (``await ctx.raise_if_cancelled()``) to stop as cancelled."""


class UnknownJobKind(LookupError):
    """No handler is registered for a job's kind (a programming or deployment error)."""
