"""Schema building blocks shared by every domain (not tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class InputSchema(BaseModel):
    """Base of request bodies: unknown fields are rejected so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts every match of the filters."""

    items: list[T]
    total: int = Field(ge=0)
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int
