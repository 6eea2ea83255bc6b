"""Evidence ingest writes less: no foreign key from award links to evidence, external_ref index partial

Measured at 100,000 learners (tests/bench/profile_ingest.py): each award link inserted by rule evaluation
ran the foreign key check of award_evidence -> evidence, which locks the linked evidence row (FOR KEY
SHARE). Those rows are old evidence spread over the whole table, so every link dirtied another heap page
of evidence and wrote a WAL record for it, often with a full-page image: about 3.6 KB of WAL per ingested
record, a quarter of all the ingest wrote. The key protected nothing the other keys do not: a link pairs an
award with evidence of the same learner, evidence is never deleted on its own (append-only; withdrawal
keeps the row), and when a learner or tenant is deleted its awards go too, and their links with them
(award_evidence -> awards cascades). ix_award_evidence_evidence stays: flagging the awards that used
withdrawn evidence reads it.

ix_evidence_external_ref held one entry per piece of evidence, nearly all NULL (only synced grade results
carry a reference). Every read of it compares external_ref to a value (IN or a prefix), which implies
IS NOT NULL, so the partial index serves the same reads and ingest without references writes no entry.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("award_evidence", schema=None) as batch_op:
        batch_op.drop_constraint("fk_award_evidence_tenant_id_evidence", type_="foreignkey")
    op.drop_index("ix_evidence_external_ref", table_name="evidence")
    op.create_index(
        "ix_evidence_external_ref",
        "evidence",
        ["tenant_id", "external_ref"],
        postgresql_where=sa.text("external_ref IS NOT NULL"),
        sqlite_where=sa.text("external_ref IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_external_ref", table_name="evidence")
    op.create_index("ix_evidence_external_ref", "evidence", ["tenant_id", "external_ref"])
    with op.batch_alter_table("award_evidence", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_award_evidence_tenant_id_evidence",
            "evidence",
            ["tenant_id", "evidence_id"],
            ["tenant_id", "id"],
            ondelete="CASCADE",
        )
