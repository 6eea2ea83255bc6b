"""frameworks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "frameworks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("previous_version_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("adoption_date", sa.Date(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("creator", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("publisher", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
        sa.Column(
            "subjects",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rubric_id", sa.Uuid(), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_frameworks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_frameworks")),
    )
    with op.batch_alter_table("frameworks", schema=None) as batch_op:
        batch_op.create_index("ix_frameworks_tenant_id_family_id", ["tenant_id", "family_id"], unique=False)

    op.create_table(
        "framework_attributes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("foundational", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Uuid(), nullable=False),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["frameworks.tenant_id", "frameworks.id"],
            name=op.f("fk_framework_attributes_tenant_id_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_framework_attributes")),
    )
    with op.batch_alter_table("framework_attributes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_framework_attributes_framework", ["tenant_id", "framework_id", "position"], unique=False
        )

    op.create_table(
        "rubric_levels",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("proficient", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["frameworks.tenant_id", "frameworks.id"],
            name=op.f("fk_rubric_levels_tenant_id_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_rubric_levels")),
        sa.UniqueConstraint(
            "tenant_id",
            "framework_id",
            "position",
            name=op.f("uq_rubric_levels_tenant_id_framework_id_position"),
        ),
    )
    op.create_table(
        "competencies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("attribute_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("statement", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "grade_bands",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "look_fors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("launch_school_year", sa.Integer(), nullable=True),
        sa.Column("association_id", sa.Uuid(), nullable=False),
        sa.Column("criterion_id", sa.Uuid(), nullable=False),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "attribute_id"],
            ["framework_attributes.tenant_id", "framework_attributes.id"],
            name=op.f("fk_competencies_tenant_id_framework_attributes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["frameworks.tenant_id", "frameworks.id"],
            name=op.f("fk_competencies_tenant_id_frameworks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["competencies.tenant_id", "competencies.id"],
            name=op.f("fk_competencies_tenant_id_competencies"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_competencies")),
    )
    with op.batch_alter_table("competencies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_competencies_framework", ["tenant_id", "framework_id", "position"], unique=False
        )

    op.create_table(
        "level_descriptors",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("competency_id", sa.Uuid(), nullable=False),
        sa.Column("level_id", sa.Uuid(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "competency_id"],
            ["competencies.tenant_id", "competencies.id"],
            name=op.f("fk_level_descriptors_tenant_id_competencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "level_id"],
            ["rubric_levels.tenant_id", "rubric_levels.id"],
            name=op.f("fk_level_descriptors_tenant_id_rubric_levels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_level_descriptors")),
        sa.UniqueConstraint(
            "tenant_id",
            "competency_id",
            "level_id",
            name=op.f("uq_level_descriptors_tenant_id_competency_id_level_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("level_descriptors")
    with op.batch_alter_table("competencies", schema=None) as batch_op:
        batch_op.drop_index("ix_competencies_framework")

    op.drop_table("competencies")
    op.drop_table("rubric_levels")
    with op.batch_alter_table("framework_attributes", schema=None) as batch_op:
        batch_op.drop_index("ix_framework_attributes_framework")

    op.drop_table("framework_attributes")
    with op.batch_alter_table("frameworks", schema=None) as batch_op:
        batch_op.drop_index("ix_frameworks_tenant_id_family_id")

    op.drop_table("frameworks")
