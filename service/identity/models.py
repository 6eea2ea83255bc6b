"""Identity tables: staff role grants, server-side sessions, one-time sign-in links, OpenID Connect.

Secrets never sit in a row as they are: session and link tokens are stored as SHA-256 hashes (they are
256-bit random values, so a fast hash suffices), the OpenID Connect client secret is encrypted with the
settings' key (service.crypto).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id, updated_at_field


class StaffRoleGrant(SQLModel, table=True):
    """A console role granted by a district admin, on top of what the roster says.

    ``org_id`` limits a school-level role (counselor, school lead) to one school; empty means the
    person's own schools."""

    __tablename__ = "staff_role_grants"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="orgs.id", ondelete="CASCADE")
    granted_by: uuid.UUID | None = Field(default=None, foreign_key="people.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class StaffSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the row its hash."""

    __tablename__ = "staff_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    method: str = Field(max_length=16)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link: works once, until ``expires_at``."""

    __tablename__ = "sign_in_links"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OidcProvider(SQLModel, table=True):
    """A tenant's OpenID Connect identity provider (one per tenant)."""

    __tablename__ = "oidc_providers"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    issuer: str = Field(max_length=2048)
    client_id: str = Field(max_length=255)
    client_secret_encrypted: str = Field(sa_type=Text)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    #: ``email``: the ID token's verified email; ``sourced_id``: the claim ``sourced_id_claim``.
    match_by: str = Field(default="email", max_length=16)
    sourced_id_claim: str = Field(default="sub", max_length=64)
    enabled: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class OidcRequest(SQLModel, table=True):
    """A sign-in sent to the identity provider and not yet back: state, nonce and PKCE verifier."""

    __tablename__ = "oidc_requests"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    state_hash: str = Field(max_length=64, unique=True)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
