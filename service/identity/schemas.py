"""Identity schemas (not tables)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from service.identity.roles import StaffRole
from service.schemas import InputSchema, ReadSchema


class OidcProviderSet(InputSchema):
    """A tenant's OpenID Connect provider (Google Workspace, Entra ID, Clever, ClassLink, ...)."""

    issuer: Annotated[str, Field(min_length=8, max_length=2048, description="the provider's issuer URL")]
    client_id: Annotated[str, Field(min_length=1, max_length=255)]
    client_secret: Annotated[str, Field(min_length=1, max_length=4096)]
    scopes: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=16)] = Field(
        default_factory=lambda: ["openid", "email", "profile"]
    )
    match_by: Literal["email", "sourced_id"] = "email"
    sourced_id_claim: Annotated[str, Field(min_length=1, max_length=64)] = "sub"
    enabled: bool = True

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the issuer must be an https URL")
        return value.rstrip("/")

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("the scopes must include openid")
        return list(dict.fromkeys(value))


class OidcProviderRead(ReadSchema):
    id: uuid.UUID
    issuer: str
    client_id: str
    scopes: list[str]
    match_by: str
    sourced_id_claim: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RoleGrantCreate(InputSchema):
    person_id: uuid.UUID
    role: StaffRole
    org_id: uuid.UUID | None = Field(default=None, description="the school a counselor or school lead covers")


class RoleGrantRead(ReadSchema):
    id: uuid.UUID
    person_id: uuid.UUID
    role: str
    org_id: uuid.UUID | None
    granted_by: uuid.UUID | None
    created_at: datetime
