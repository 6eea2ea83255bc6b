"""Plain facts the pure rule engine (``service.awards.rules``) evaluates. No I/O, no ORM."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

SOURCES = (
    "rubric",  # rubric assessment by an educator
    "oneroster_result",  # grade result synced from the district's SIS/LMS
    "artifact",
    "exhibition",  # exhibition or presentation of learning
    "self_assessment",
    "peer",
)
#: Sources that count as assessed by an educator (a self-assessment never does).
EDUCATOR_SOURCES = ("rubric", "oneroster_result", "exhibition")
#: Sources given by the learner or peers: a set of these alone never meets a rule that says so.
SELF_SOURCES = ("self_assessment", "peer")


@dataclass(frozen=True, slots=True)
class EvidenceFact:
    """One active piece of evidence for one learner and one competency."""

    id: uuid.UUID
    competency_id: uuid.UUID
    source: str
    observed_at: datetime
    #: Position of the achieved rubric level on the framework's scale (0 = lowest); None if unscored.
    level: int | None = None
    score: float | None = None
    score_max: float | None = None
    context_id: uuid.UUID | None = None  # class
    session_id: uuid.UUID | None = None  # academic session


@dataclass(frozen=True)
class Scale:
    """A framework's rubric scale: level titles by position, for messages."""

    titles: tuple[str, ...]

    def title(self, position: int) -> str:
        if 0 <= position < len(self.titles):
            return self.titles[position]
        return f"level {position}"


@dataclass
class LearnerFacts:
    """Everything one evaluation needs about one learner."""

    evidence: list[EvidenceFact] = field(default_factory=list)
    earned_achievements: set[uuid.UUID] = field(default_factory=set)
    #: The evaluation instant (timezone-aware; a naive value is read as UTC). Needed by ``window_days``.
    now: datetime | None = None
    #: Competency titles for human-readable reasons (optional; a missing one is shown by its id).
    competency_names: dict[uuid.UUID, str] = field(default_factory=dict)
