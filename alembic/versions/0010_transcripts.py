"""transcripts (CLR 2.0)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=True),
        sa.Column("framework_version", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("options", _json(), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("partial_reasons", _json(), nullable=False),
        sa.Column("counts", _json(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"],
            ["issued_credentials.id"],
            name=op.f("fk_transcripts_id_issued_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_transcripts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
    )
    op.create_index(
        "ix_transcripts_tenant_issued_at", "transcripts", ["tenant_id", "issued_at"], unique=False
    )
    op.create_index("ix_transcripts_tenant_job", "transcripts", ["tenant_id", "job_id"], unique=False)
    op.create_index("ix_transcripts_tenant_learner", "transcripts", ["tenant_id", "learner_id"], unique=False)
    op.create_table(
        "transcript_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_ref", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_transcript_records_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_records")),
        sa.UniqueConstraint(
            "tenant_id",
            "learner_id",
            "kind",
            "source_ref",
            "content_hash",
            name="uq_transcript_records_key",
        ),
    )


def downgrade() -> None:
    op.drop_table("transcript_records")
    op.drop_index("ix_transcripts_tenant_learner", table_name="transcripts")
    op.drop_index("ix_transcripts_tenant_job", table_name="transcripts")
    op.drop_index("ix_transcripts_tenant_issued_at", table_name="transcripts")
    op.drop_table("transcripts")
