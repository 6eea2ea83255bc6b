"""Tenancy request and response schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from service.schemas import InputSchema, ReadSchema
from service.tenancy import scopes as scope_names

Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        description="lowercase letters, digits and inner hyphens; used in URLs and DIDs",
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Status = Literal["active", "inactive"]
#: How public pages (the credential page) name a learner: "Aaliyah Garcia", "Aaliyah G." or not at all.
PublicLearnerName = Literal["full", "first_initial", "none"]
ScopeList = Annotated[list[str], Field(max_length=len(scope_names.ALL_SCOPES))]


def _check_scopes(value: list[str]) -> list[str]:
    unknown = scope_names.unknown_scopes(value)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    return scope_names.normalize(value)


class TenantCreate(InputSchema):
    slug: Slug
    name: Name


class TenantUpdate(InputSchema):
    name: Name | None = None
    status: Status | None = None
    public_learner_name: PublicLearnerName | None = Field(
        default=None, description="how public credential pages name the learner: full, first_initial or none"
    )


class TenantRead(ReadSchema):
    id: uuid.UUID
    slug: str
    name: str
    status: Status
    public_learner_name: PublicLearnerName
    created_at: datetime
    updated_at: datetime


class ApiClientCreate(InputSchema):
    tenant_id: uuid.UUID | None = Field(
        default=None, description="defaults to the caller's tenant; another tenant needs admin"
    )
    name: Name
    scopes: ScopeList

    _v_scopes = field_validator("scopes")(_check_scopes)


class ApiClientUpdate(InputSchema):
    name: Name | None = None
    scopes: ScopeList | None = None
    status: Status | None = None

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_scopes(value)


class ApiClientRead(ReadSchema):
    id: uuid.UUID
    tenant_id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    status: Status
    last_used_at: datetime | None
    created_at: datetime


class ApiClientCreated(ApiClientRead):
    client_secret: str = Field(description="shown once; only its hash is stored")


class TokenResponse(ReadSchema):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - not a secret
    expires_in: int
    scope: str
