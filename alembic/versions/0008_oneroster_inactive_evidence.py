"""oneroster connections: what happens to evidence of learners and classes the provider deactivates

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oneroster_connections") as batch:
        batch.add_column(
            sa.Column(
                "inactive_evidence",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="keep",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("oneroster_connections") as batch:
        batch.drop_column("inactive_evidence")
