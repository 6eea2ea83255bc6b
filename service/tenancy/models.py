"""Tenancy tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id, updated_at_field


class Tenant(SQLModel, table=True):
    """A school district: the unit of isolation of every other row."""

    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(max_length=63, unique=True)
    name: str = Field(max_length=200)
    status: str = Field(default="active", max_length=16)
    #: How public pages name a learner: full (given + family name), first_initial (Aaliyah G.) or none.
    public_learner_name: str = Field(
        default="first_initial", max_length=16, sa_column_kwargs={"server_default": "first_initial"}
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ApiClient(SQLModel, table=True):
    """An OAuth 2.0 confidential client of one tenant; the secret is stored as a SHA-256 hash."""

    __tablename__ = "api_clients"
    __table_args__ = (Index("ix_api_clients_tenant_id_created_at", "tenant_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=128)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    status: str = Field(default="active", max_length=16)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
