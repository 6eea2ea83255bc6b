"""shared rate limits: token buckets in the database, shared by every process (PostgreSQL)

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("seen", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_rate_limit_buckets")),
    )
    op.create_index(op.f("ix_rate_limit_buckets_seen"), "rate_limit_buckets", ["seen"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_buckets_seen"), table_name="rate_limit_buckets")
    op.drop_table("rate_limit_buckets")
