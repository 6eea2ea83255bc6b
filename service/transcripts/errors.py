"""Transcript errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ValidationFailedError


class TranscriptNotFound(NotFoundError):
    code = "transcript_not_found"


class LearnerNotFound(NotFoundError):
    code = "learner_not_found"


class TranscriptRevoked(ConflictError):
    code = "transcript_revoked"


class InvalidTranscriptRequest(ValidationFailedError):
    code = "invalid_transcript_request"


class CohortTooLarge(ValidationFailedError):
    code = "cohort_too_large"
