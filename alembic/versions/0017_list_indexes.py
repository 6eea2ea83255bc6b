"""Indexes in the order award and credential lists are served (created_at / issued_at DESC, id DESC)

A filtered page (by achievement, or by status) came from sorting every matching row: at a million learners
that is half a million rows per achievement. These indexes return the page in order, and their trailing
columns (status, source_key) let the capped count of a filtered list run on the index alone.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_awards_tenant_status", table_name="awards")
    op.create_index("ix_awards_tenant_status", "awards", ["tenant_id", "status", "created_at", "id"])
    op.create_index(
        "ix_awards_tenant_achievement",
        "awards",
        ["tenant_id", "achievement_id", "created_at", "id", "status"],
    )
    op.drop_index("ix_issued_credentials_tenant_achievement", table_name="issued_credentials")
    op.create_index(
        "ix_issued_credentials_tenant_achievement",
        "issued_credentials",
        ["tenant_id", "achievement_id", "issued_at", "id", "source_key"],
    )


def downgrade() -> None:
    op.drop_index("ix_issued_credentials_tenant_achievement", table_name="issued_credentials")
    op.create_index(
        "ix_issued_credentials_tenant_achievement", "issued_credentials", ["tenant_id", "achievement_id"]
    )
    op.drop_index("ix_awards_tenant_achievement", table_name="awards")
    op.drop_index("ix_awards_tenant_status", table_name="awards")
    op.create_index("ix_awards_tenant_status", "awards", ["tenant_id", "status"])
