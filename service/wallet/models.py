"""Wallet tables: registered clients, pending authorizations (codes), tokens, consents, received credentials.

Secrets are stored as SHA-256 hashes only (client secrets, codes, access and refresh tokens are 256-bit
random values, so a fast hash suffices). Every row belongs to a tenant (district).

The client, code and token rows implement Authlib's model mixins (``ClientMixin``, ``AuthorizationCodeMixin``,
``TokenMixin``): the OAuth 2.0 server (service.wallet.oauth) reads them through those methods.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id, updated_at_field, utcnow
from service.identity.tokens import hash_token

#: What every registered client may use: the 1EdTech APIs allow nothing else.
AUTH_METHOD = "client_secret_basic"
GRANT_TYPES = ("authorization_code", "refresh_token")
RESPONSE_TYPE = "code"


class WalletClient(SQLModel, ClientMixin, table=True):  # type: ignore[misc]
    """A wallet or learner record host registered by RFC 7591 dynamic registration with one district."""

    __tablename__ = "wallet_clients"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    client_id: str = Field(max_length=64, unique=True)
    secret_hash: str = Field(max_length=64)
    client_name: str = Field(max_length=200)
    client_uri: str = Field(max_length=2048)
    logo_uri: str = Field(max_length=2048)
    tos_uri: str = Field(max_length=2048)
    policy_uri: str = Field(max_length=2048)
    software_id: str = Field(max_length=255)
    software_version: str = Field(max_length=64)
    redirect_uris: list[str] = Field(default_factory=list, sa_type=JSONType)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    contacts: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = created_at_field()

    # -- Authlib ClientMixin ------------------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: every authorization request must name one of the registered URLs exactly."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client registered (the grant refuses any other beforehand)."""
        return " ".join(s for s in dict.fromkeys((scope or "").split()) if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_token(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == AUTH_METHOD

    def check_response_type(self, response_type: str) -> bool:
        return response_type == RESPONSE_TYPE

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class WalletAuthorization(SQLModel, AuthorizationCodeMixin, table=True):  # type: ignore[misc]
    """An authorization request between /authorize and /token: pending until the learner decides, then
    a single-use code (its hash) that expires quickly."""

    __tablename__ = "wallet_authorizations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    client_row_id: uuid.UUID = Field(foreign_key="wallet_clients.id", ondelete="CASCADE", index=True)
    redirect_uri: str = Field(max_length=2048)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    state: str = Field(default="", max_length=512)
    code_challenge: str = Field(max_length=128)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="people.id", ondelete="CASCADE")
    code_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # -- Authlib AuthorizationCodeMixin -------------------------------------------------------------

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.scopes)


class WalletConsent(SQLModel, table=True):
    """A learner's consent to one client; revoking it ends every token of the pair."""

    __tablename__ = "wallet_consents"
    __table_args__ = (UniqueConstraint("client_row_id", "person_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    client_row_id: uuid.UUID = Field(foreign_key="wallet_clients.id", ondelete="CASCADE")
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE", index=True)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WalletToken(SQLModel, TokenMixin, table=True):  # type: ignore[misc]
    """An access token and its refresh token (hashes), bound to a tenant, a client and a learner."""

    __tablename__ = "wallet_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    client_row_id: uuid.UUID = Field(foreign_key="wallet_clients.id", ondelete="CASCADE", index=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE", index=True)
    access_hash: str = Field(max_length=64, unique=True)
    refresh_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = created_at_field()
    access_expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    refresh_expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # -- Authlib TokenMixin (access and refresh token of one pair) ----------------------------------

    def check_client(self, client: WalletClient) -> bool:
        return self.client_row_id == client.id

    def get_scope(self) -> str:
        return " ".join(self.scopes)

    def get_expires_in(self) -> int:
        return int((self.access_expires_at - self.created_at).total_seconds())

    def is_expired(self) -> bool:
        return self.access_expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class WalletCredential(SQLModel, table=True):
    """A credential another issuer (or the learner's wallet) upserted for a learner, verified when received.

    Equality is the spec's: issuer id + credential id (per learner and API: ``ob`` or ``clr``)."""

    __tablename__ = "wallet_credentials"
    __table_args__ = (
        UniqueConstraint("tenant_id", "person_id", "api", "issuer_key", "credential_key"),
        Index("ix_wallet_credentials_person", "tenant_id", "person_id", "api"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE")
    api: str = Field(max_length=8)  # ob | clr
    #: SHA-256 of the issuer id and of the credential id: ids may be long URLs, the key stays short.
    issuer_key: str = Field(max_length=64)
    credential_key: str = Field(max_length=64)
    issuer_id: str = Field(sa_type=Text)
    credential_id: str = Field(sa_type=Text)
    valid_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    #: ``json``: ``document`` is the credential JSON; ``jws``: a compact JWS.
    format: str = Field(max_length=8)
    document: str = Field(sa_type=Text)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class WalletProfile(SQLModel, table=True):
    """What a wallet put with PUT /profile for a learner (the Profile the API returns)."""

    __tablename__ = "wallet_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id", "api"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE")
    api: str = Field(max_length=8)
    document: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    updated_at: datetime = updated_at_field()
