"""courses move from the OneRoster adapter to the roster; course records; classes name their course

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COPY_SQLITE = (
    "INSERT INTO courses (id, tenant_id, sourced_id, status, created_at, updated_at, title, course_code,"
    " org_id, grade_levels) SELECT id, tenant_id, sourced_id, status, created_at, updated_at, title,"
    " course_code, org_id, '[]' FROM oneroster_courses"
)
_COPY_PG = (
    "INSERT INTO courses (id, tenant_id, sourced_id, status, created_at, updated_at, title, course_code,"
    " org_id, grade_levels) SELECT id, tenant_id, sourced_id, status, created_at, updated_at, title,"
    " course_code, org_id, '[]'::jsonb FROM oneroster_courses"
)


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("course_code", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("grade_levels", _json(), nullable=False),
        sa.Column("credits", sa.Float(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_courses_org_id_orgs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_courses_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("tenant_id", "sourced_id", name=op.f("uq_courses_tenant_id_sourced_id")),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courses_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_courses_tenant_id_title", ["tenant_id", "title"], unique=False)

    # The adapter's courses keep their ids, so the sync's record index still points at them.
    op.execute(_COPY_PG if op.get_bind().dialect.name == "postgresql" else _COPY_SQLITE)
    op.drop_table("oneroster_courses")

    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("course_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_classes_course_id_courses"), "courses", ["course_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "course_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("course_title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("course_code", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("academic_session_id", sa.Uuid(), nullable=True),
        sa.Column("term_title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("school_year", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("school_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("grade_numeric", sa.Float(), nullable=True),
        sa.Column("grade_scale", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("credits_attempted", sa.Float(), nullable=True),
        sa.Column("credits_earned", sa.Float(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_ref", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["academic_session_id"],
            ["academic_sessions.id"],
            name=op.f("fk_course_records_academic_session_id_academic_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_records_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["people.id"],
            name=op.f("fk_course_records_learner_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_course_records_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_records")),
        sa.UniqueConstraint(
            "tenant_id", "source", "source_ref", name=op.f("uq_course_records_tenant_id_source_source_ref")
        ),
    )
    with op.batch_alter_table("course_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_records_course_id"), ["course_id"], unique=False)
        batch_op.create_index(
            "ix_course_records_tenant_id_learner_id", ["tenant_id", "learner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("course_records", schema=None) as batch_op:
        batch_op.drop_index("ix_course_records_tenant_id_learner_id")
        batch_op.drop_index(batch_op.f("ix_course_records_course_id"))
    op.drop_table("course_records")

    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_classes_course_id_courses"), type_="foreignkey")
        batch_op.drop_column("course_id")

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
    # Only synced courses (those with a sourcedId) existed before; courses made through the API go.
    op.execute(
        "INSERT INTO oneroster_courses (id, tenant_id, sourced_id, status, created_at, updated_at, title,"
        " course_code, org_id) SELECT id, tenant_id, sourced_id, status, created_at, updated_at, title,"
        " course_code, org_id FROM courses WHERE sourced_id IS NOT NULL"
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index("ix_courses_tenant_id_title")
        batch_op.drop_index(batch_op.f("ix_courses_tenant_id"))
    op.drop_table("courses")
