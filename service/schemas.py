"""Schema building blocks shared by every domain (not tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class InputSchema(BaseModel):
    """Base of request bodies: unknown fields are rejected so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text and jsonb cannot hold U+0000: refuse it here, naming the field, instead of
        # failing in the database with a 500 (SQLite would store it, so both backends agree).
        if contains_nul(value):
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


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


def contains_nul(value: object) -> bool:
    """Whether a string, or any string (key or value) nested in lists and dicts, holds U+0000."""
    stack = [value]
    while stack:  # iterative: a deeply nested document cannot exhaust the recursion limit
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return False
