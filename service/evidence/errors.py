"""Evidence errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ValidationFailedError


class EvidenceNotFound(NotFoundError):
    code = "evidence_not_found"


class InvalidEvidence(ValidationFailedError):
    code = "invalid_evidence"


class AlreadyWithdrawn(ConflictError):
    code = "evidence_withdrawn"


class IdempotencyKeyReused(ValidationFailedError):
    code = "idempotency_key_reused"
