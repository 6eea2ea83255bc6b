"""Issuer keys, status lists and issued credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, PrimaryKeyConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id


class IssuerKey(SQLModel, table=True):
    """One signing key of a district's issuer DID.

    ``fragment`` names the key in the DID document (``<did>#<fragment>``) and encodes its kind and
    generation (``ed25519-1``, ``rsa-2``); the unique key on it makes concurrent "create on first
    need" race-free. A rotated key is ``retired``: it signs nothing new but stays in the DID document.
    """

    __tablename__ = "issuer_keys"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "fragment"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    kind: str = Field(max_length=16)  # Ed25519 | P-256 | RSA
    generation: int
    fragment: str = Field(max_length=64)
    public_jwk: dict[str, Any] = Field(sa_type=JSONType)
    #: PKCS#8 PEM encrypted with the settings' key_encryption_key (service.crypto.SecretBox).
    private_key_encrypted: str = Field(sa_type=Text)
    status: str = Field(default="active", max_length=16)  # active | retired
    created_at: datetime = created_at_field()
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StatusList(SQLModel, table=True):
    """A Bitstring Status List of one district; the bits are the revoked credentials' indexes.

    ``signed`` caches the signed status list credential; it is re-signed whenever a bit changes, so
    serving it is a read.
    """

    __tablename__ = "status_lists"
    __table_args__ = (
        PrimaryKeyConstraint("id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "purpose", "sequence"),
    )

    id: uuid.UUID = Field(default_factory=new_id)
    tenant_id: uuid.UUID
    purpose: str = Field(default="revocation", max_length=16)
    sequence: int
    size: int
    signed: str | None = Field(default=None, sa_type=Text)
    etag: str | None = Field(default=None, max_length=80)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class IssuedCredential(SQLModel, table=True):
    """A signed OpenBadgeCredential, stored as issued and never changed (only revocation fields are).

    ``document`` is the exact JSON text of the eddsa-rdfc-2022 credential, ``jwt`` the compact JWS of
    the same credential (RS256). One per award (unique), one per status list index (unique).
    """

    __tablename__ = "issued_credentials"
    __table_args__ = (
        PrimaryKeyConstraint("id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["status_list_id"], ["status_lists.id"], ondelete="RESTRICT"),
        UniqueConstraint("tenant_id", "award_id"),
        UniqueConstraint("status_list_id", "status_index"),
        UniqueConstraint("tenant_id", "source_key"),
        Index("ix_issued_credentials_tenant_learner", "tenant_id", "learner_id"),
        # The list orders (issued_at DESC, id DESC): a filtered page comes from the index read backwards;
        # source_key (the transcript filter) is in the key so the capped count needs no table visits.
        Index(
            "ix_issued_credentials_tenant_achievement",
            "tenant_id",
            "achievement_id",
            "issued_at",
            "id",
            "source_key",
        ),
        Index("ix_issued_credentials_tenant_issued_at", "tenant_id", "issued_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id)
    tenant_id: uuid.UUID
    award_id: uuid.UUID | None = None
    #: Idempotency key of direct and batch issuance (``<job id>:<item>``, or a client's key).
    source_key: str | None = Field(default=None, max_length=255)
    learner_id: uuid.UUID | None = None
    achievement_id: uuid.UUID | None = None
    name: str = Field(max_length=500)
    issuer_id: str = Field(max_length=500)
    subject_id: str | None = Field(default=None, max_length=500)
    status_list_id: uuid.UUID
    status_index: int
    document: str = Field(sa_type=Text)
    jwt: str | None = Field(default=None, sa_type=Text)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    issued_by: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revocation_reason: str | None = Field(default=None, max_length=2000)
    revoked_by: str | None = Field(default=None, max_length=64)
