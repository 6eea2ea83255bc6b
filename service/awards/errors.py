"""Award errors."""

from __future__ import annotations

from service.errors import ConflictError, NotFoundError, ValidationFailedError


class AchievementNotFound(NotFoundError):
    code = "achievement_not_found"


class AwardNotFound(NotFoundError):
    code = "award_not_found"


class InvalidRule(ValidationFailedError):
    code = "invalid_rule"


class AwardExists(ConflictError):
    code = "award_exists"


class InvalidAwardTransition(ConflictError):
    code = "invalid_award_transition"
