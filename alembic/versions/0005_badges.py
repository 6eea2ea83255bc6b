"""badges

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issuer_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("fragment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "public_jwk",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_issuer_keys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_issuer_keys")),
        sa.UniqueConstraint("tenant_id", "fragment", name=op.f("uq_issuer_keys_tenant_id_fragment")),
    )
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("signed", sa.Text(), nullable=True),
        sa.Column("etag", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_status_lists_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
        sa.UniqueConstraint(
            "tenant_id", "purpose", "sequence", name=op.f("uq_status_lists_tenant_id_purpose_sequence")
        ),
    )
    op.create_table(
        "issued_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("award_id", sa.Uuid(), nullable=True),
        sa.Column("source_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("learner_id", sa.Uuid(), nullable=True),
        sa.Column("achievement_id", sa.Uuid(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("issuer_id", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("status_list_id", sa.Uuid(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("jwt", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["status_lists.id"],
            name=op.f("fk_issued_credentials_status_list_id_status_lists"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_issued_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_credentials")),
        sa.UniqueConstraint(
            "status_list_id", "status_index", name=op.f("uq_issued_credentials_status_list_id_status_index")
        ),
        sa.UniqueConstraint("tenant_id", "award_id", name=op.f("uq_issued_credentials_tenant_id_award_id")),
        sa.UniqueConstraint(
            "tenant_id", "source_key", name=op.f("uq_issued_credentials_tenant_id_source_key")
        ),
    )
    with op.batch_alter_table("issued_credentials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issued_credentials_tenant_achievement", ["tenant_id", "achievement_id"], unique=False
        )
        batch_op.create_index(
            "ix_issued_credentials_tenant_issued_at", ["tenant_id", "issued_at"], unique=False
        )
        batch_op.create_index(
            "ix_issued_credentials_tenant_learner", ["tenant_id", "learner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("issued_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_issued_credentials_tenant_learner")
        batch_op.drop_index("ix_issued_credentials_tenant_issued_at")
        batch_op.drop_index("ix_issued_credentials_tenant_achievement")

    op.drop_table("issued_credentials")
    op.drop_table("status_lists")
    op.drop_table("issuer_keys")
