"""platform: tenants, api clients, roster

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "academic_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["academic_sessions.id"],
            name=op.f("fk_academic_sessions_parent_id_academic_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_academic_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academic_sessions")),
        sa.UniqueConstraint(
            "tenant_id", "sourced_id", name=op.f("uq_academic_sessions_tenant_id_sourced_id")
        ),
    )
    with op.batch_alter_table("academic_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_academic_sessions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "api_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_clients_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
    )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_api_clients_tenant_id_created_at", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "orgs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["orgs.id"], name=op.f("fk_orgs_parent_id_orgs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_orgs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
        sa.UniqueConstraint("tenant_id", "sourced_id", name=op.f("uq_orgs_tenant_id_sourced_id")),
    )
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orgs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("given_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("family_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("middle_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("preferred_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column(
            "grades",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_people_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("tenant_id", "sourced_id", name=op.f("uq_people_tenant_id_sourced_id")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_people_tenant_id_role_family_name", ["tenant_id", "role", "family_name"], unique=False
        )

    op.create_table(
        "classes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("class_code", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("class_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("academic_session_id", sa.Uuid(), nullable=True),
        sa.Column(
            "grades",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "subjects",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["academic_session_id"],
            ["academic_sessions.id"],
            name=op.f("fk_classes_academic_session_id_academic_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["orgs.id"], name=op.f("fk_classes_school_id_orgs"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_classes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("tenant_id", "sourced_id", name=op.f("uq_classes_tenant_id_sourced_id")),
    )
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_classes_academic_session_id"), ["academic_session_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_classes_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_classes_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_classes_tenant_id_title", ["tenant_id", "title"], unique=False)

    op.create_table(
        "person_orgs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("role_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_person_orgs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_orgs_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_person_orgs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_orgs")),
        sa.UniqueConstraint("person_id", "org_id", "role", name=op.f("uq_person_orgs_person_id_org_id_role")),
    )
    with op.batch_alter_table("person_orgs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_orgs_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_orgs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("begin_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["class_id"], ["classes.id"], name=op.f("fk_enrollments_class_id_classes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_enrollments_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_enrollments_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "class_id", "person_id", "role", name=op.f("uq_enrollments_class_id_person_id_role")
        ),
        sa.UniqueConstraint("tenant_id", "sourced_id", name=op.f("uq_enrollments_tenant_id_sourced_id")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index("ix_enrollments_person_id", ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollments_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_tenant_id"))
        batch_op.drop_index("ix_enrollments_person_id")

    op.drop_table("enrollments")
    with op.batch_alter_table("person_orgs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_orgs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_person_orgs_org_id"))

    op.drop_table("person_orgs")
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.drop_index("ix_classes_tenant_id_title")
        batch_op.drop_index(batch_op.f("ix_classes_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_classes_school_id"))
        batch_op.drop_index(batch_op.f("ix_classes_academic_session_id"))

    op.drop_table("classes")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index("ix_people_tenant_id_role_family_name")
        batch_op.drop_index(batch_op.f("ix_people_tenant_id"))

    op.drop_table("people")
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orgs_tenant_id"))

    op.drop_table("orgs")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_index("ix_api_clients_tenant_id_created_at")

    op.drop_table("api_clients")
    with op.batch_alter_table("academic_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academic_sessions_tenant_id"))

    op.drop_table("academic_sessions")
    op.drop_table("tenants")
