"""Schema building blocks shared by every domain (not tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

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


#: Lists count the matches of their filters up to this many. Beyond it a page's ``total`` reads
#: COUNT_LIMIT + 1 and ``total_exact`` is false: counting half a million awards of one achievement costs
#: more than serving the page (tests/bench/bench_scale.py), and "more than 10,000" is what a reader needs.
COUNT_LIMIT = 10_000


class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts the matches of the filters (exactly up to 10,000)."""

    items: list[T]
    total: int = Field(
        ge=0,
        description=f"matches of the filters; above {COUNT_LIMIT:,} it reads {COUNT_LIMIT + 1:,} "
        "and total_exact is false",
    )
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)

    @computed_field(  # type: ignore[prop-decorator]
        description=f"false when there are more than {COUNT_LIMIT:,} matches (total is then a lower bound)"
    )
    @property
    def total_exact(self) -> bool:
        return self.total <= COUNT_LIMIT


class CursorPage(Page[T], Generic[T]):
    """A page of a list that also pages by cursor (awards, credentials): ``next`` is the cursor of the
    page after this one, for the ``after`` parameter; offsets keep working."""

    next: str | None = Field(
        description=(
            "the cursor of the next page: pass it as `after` (with the same filters) to read on from "
            "the last item of this page, however deep; null on the last page"
        )
    )


# Named as the page it extends: a list that gained cursor paging keeps its schema's name (Page_AwardRead_)
# in the OpenAPI document and in generated clients, with ``next`` as one more field.
CursorPage.__name__ = CursorPage.__qualname__ = "Page"


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def contains_nul(value: object) -> bool:
    """Whether a string, or any string (key or value) nested in lists and dicts, holds U+0000."""
    # Most fields are one string or a scalar: answer those without building a stack (this runs for
    # every field of every record of a bulk ingest).
    if isinstance(value, str):
        return "\x00" in value
    if not isinstance(value, (list, tuple, dict)):  # a tuple of types: faster than a union
        return False
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
