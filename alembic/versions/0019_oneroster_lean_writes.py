"""OneRoster sync: fewer index and foreign-key updates per record, seen marks without rewriting rows

* ``oneroster_records``: the ``tenant_id`` index and foreign key are dropped. No query reads the record
  index by tenant, and a tenant's records already go with it through their connection (whose foreign
  key cascades). Every record a sync writes saved one index insertion and one foreign-key check.
* ``oneroster_results``: the ``tenant_id`` foreign key is dropped (the column and the unique
  (tenant_id, sourced_id) stay). A tenant's results go with it through their line items and learners
  (both cascade). Results are most of a district's records (300,000 of 330,000 in the bench).
* ``oneroster_seen``: which records a running sync found unchanged (job, connection, collection,
  sourcedId). A full sync used to rewrite every unchanged record's ``seen_job_id`` to tell present
  records from dropped ones: an UPDATE of every row (a new row version and its index entries). Now it
  appends a narrow row here (no index, no foreign key) and deletes them when the sync ends.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oneroster_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oneroster_records_tenant_id"))
        batch_op.drop_constraint(batch_op.f("fk_oneroster_records_tenant_id_tenants"), type_="foreignkey")
    with op.batch_alter_table("oneroster_results", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_oneroster_results_tenant_id_tenants"), type_="foreignkey")
    op.create_table(
        "oneroster_seen",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("collection", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oneroster_seen")
    with op.batch_alter_table("oneroster_results", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_oneroster_results_tenant_id_tenants"),
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("oneroster_records", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_oneroster_records_tenant_id_tenants"),
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_oneroster_records_tenant_id"), ["tenant_id"], unique=False)
