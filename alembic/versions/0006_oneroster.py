"""oneroster connections, gradebook records, grade maps and the sync record index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oneroster_categories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_categories_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oneroster_categories")),
        sa.UniqueConstraint(
            "tenant_id", "sourced_id", name=op.f("uq_oneroster_categories_tenant_id_sourced_id")
        ),
    )
    op.create_table(
        "oneroster_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("base_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("auth_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("high_water_mark", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_job_id", sa.Uuid(), nullable=True),
        sa.Column("schedule_minutes", sa.Integer(), nullable=True),
        sa.Column("last_scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_connections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oneroster_connections")),
    )
    with op.batch_alter_table("oneroster_connections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_oneroster_connections_tenant_id_created_at", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "oneroster_grade_maps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("line_item_sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("category_sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("competency_id", sa.Uuid(), nullable=True),
        sa.Column(
            "cut_scores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_grade_maps_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oneroster_grade_maps")),
        sa.UniqueConstraint(
            "tenant_id",
            "category_sourced_id",
            name=op.f("uq_oneroster_grade_maps_tenant_id_category_sourced_id"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "line_item_sourced_id",
            name=op.f("uq_oneroster_grade_maps_tenant_id_line_item_sourced_id"),
        ),
    )
    with op.batch_alter_table("oneroster_grade_maps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oneroster_grade_maps_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "oneroster_courses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("course_code", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_oneroster_courses_org_id_orgs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_courses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oneroster_courses")),
        sa.UniqueConstraint(
            "tenant_id", "sourced_id", name=op.f("uq_oneroster_courses_tenant_id_sourced_id")
        ),
    )
    op.create_table(
        "oneroster_records",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("collection", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("local_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("parent_ref", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("seen_job_id", sa.Uuid(), nullable=True),
        sa.Column("date_last_modified", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["oneroster_connections.id"],
            name=op.f("fk_oneroster_records_connection_id_oneroster_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_records_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "collection", "sourced_id", name=op.f("pk_oneroster_records")
        ),
    )
    with op.batch_alter_table("oneroster_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oneroster_records_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "oneroster_line_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=True),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("academic_session_id", sa.Uuid(), nullable=True),
        sa.Column("result_value_min", sa.Float(), nullable=True),
        sa.Column("result_value_max", sa.Float(), nullable=True),
        sa.Column("assign_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "learning_objective_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["academic_session_id"],
            ["academic_sessions.id"],
            name=op.f("fk_oneroster_line_items_academic_session_id_academic_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["oneroster_categories.id"],
            name=op.f("fk_oneroster_line_items_category_id_oneroster_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name=op.f("fk_oneroster_line_items_class_id_classes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_line_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oneroster_line_items")),
        sa.UniqueConstraint(
            "tenant_id", "sourced_id", name=op.f("uq_oneroster_line_items_tenant_id_sourced_id")
        ),
    )
    op.create_table(
        "oneroster_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line_item_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("score_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("score_date", sa.Date(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["people.id"],
            name=op.f("fk_oneroster_results_learner_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["oneroster_line_items.id"],
            name=op.f("fk_oneroster_results_line_item_id_oneroster_line_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oneroster_results_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oneroster_results")),
        sa.UniqueConstraint(
            "tenant_id", "sourced_id", name=op.f("uq_oneroster_results_tenant_id_sourced_id")
        ),
    )
    with op.batch_alter_table("oneroster_results", schema=None) as batch_op:
        batch_op.create_index("ix_oneroster_results_learner_id", ["learner_id"], unique=False)
        batch_op.create_index("ix_oneroster_results_line_item_id", ["line_item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oneroster_results", schema=None) as batch_op:
        batch_op.drop_index("ix_oneroster_results_line_item_id")
        batch_op.drop_index("ix_oneroster_results_learner_id")

    op.drop_table("oneroster_results")
    op.drop_table("oneroster_line_items")
    with op.batch_alter_table("oneroster_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oneroster_records_tenant_id"))

    op.drop_table("oneroster_records")
    op.drop_table("oneroster_courses")
    with op.batch_alter_table("oneroster_grade_maps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oneroster_grade_maps_tenant_id"))

    op.drop_table("oneroster_grade_maps")
    with op.batch_alter_table("oneroster_connections", schema=None) as batch_op:
        batch_op.drop_index("ix_oneroster_connections_tenant_id_created_at")

    op.drop_table("oneroster_connections")
    op.drop_table("oneroster_categories")
