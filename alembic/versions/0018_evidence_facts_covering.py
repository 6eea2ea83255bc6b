"""Rule evaluation and progress read evidence facts from the index alone (PostgreSQL)

A learner's evidence arrives over months, interleaved with everyone else's, so its rows sit on as many
heap pages as it has pieces (measured at a million learners: 30 pieces on 30 pages). Loading the facts of
one class (25 learners x 6 competencies) read 812 pages outside the cache, and rule evaluation during
ingest reads the facts of thousands of learners per request. With the facts' columns included in the
(learner, competency) index, those reads are index-only scans: one or two leaf pages per learner.
SQLite ignores INCLUDE; its index stays as it was.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["tenant_id", "learner_id", "competency_id", "status"]
#: The columns rule evaluation and progress read (service.awards.repository._FACTS_PG).
FACTS = [
    "id",
    "source",
    "observed_at",
    "level_position",
    "score",
    "score_max",
    "class_id",
    "academic_session_id",
]


def upgrade() -> None:
    op.drop_index("ix_evidence_learner_competency", table_name="evidence")
    op.create_index("ix_evidence_learner_competency", "evidence", KEY, postgresql_include=FACTS)


def downgrade() -> None:
    op.drop_index("ix_evidence_learner_competency", table_name="evidence")
    op.create_index("ix_evidence_learner_competency", "evidence", KEY)
