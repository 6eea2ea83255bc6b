"""tenants.public_learner_name: how public credential pages name a learner

Revision ID: 0011
Revises: 0010 (re-chained in wip/clrdocs after merging wip/clr and wip/web)
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column(
                "public_learner_name",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="first_initial",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("public_learner_name")
