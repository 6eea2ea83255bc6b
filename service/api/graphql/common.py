"""Building blocks shared by the GraphQL domain modules: pages, enums, paging bounds, input conversion."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import strawberry
from pydantic import BaseModel, ValidationError

from service.api.deps import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from service.api.graphql.errors import Atomic, graphql_loc
from service.config import Settings
from service.db import InvalidCursor
from service.errors import FieldError, ValidationFailedError
from service.schemas import COUNT_LIMIT, PageParams

if TYPE_CHECKING:
    from service.api.graphql.context import Info

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

#: Same bounds as the REST ``limit``/``offset`` query parameters (service.api.deps.page_params).
MAX_OFFSET = 1_000_000_000


@strawberry.type(
    description="One page of a list; `total` counts the matches of the filters (exactly up to 10,000)."
)
class Page(Generic[T]):
    items: list[T]
    total: int = strawberry.field(
        description=f"matches of the filters; above {COUNT_LIMIT:,} it reads {COUNT_LIMIT + 1:,} "
        "and totalExact is false"
    )
    limit: int
    offset: int

    @strawberry.field(  # type: ignore[untyped-decorator]
        description=f"false when there are more than {COUNT_LIMIT:,} matches (total is then a lower bound)"
    )
    def total_exact(self) -> bool:
        return self.total <= COUNT_LIMIT


# Named Page too: a list that gained cursor paging keeps its type name (AwardPage, CredentialPage).
@strawberry.type(
    name="Page",
    description=(
        "One page of a list that also pages by cursor; `total` counts the matches of the filters "
        "(exactly up to 10,000), `next` is the cursor of the page after this one."
    ),
)
class CursorPage(Page[T]):
    next: str | None = strawberry.field(
        description=(
            "the cursor of the next page: pass it as `after` (with the same filters) to read on from the "
            "last item of this page, however deep; null on the last page"
        )
    )


@strawberry.enum(description="Whether a record is in use.")
class Status(Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


# -- decorators ---------------------------------------------------------------------------------
# strawberry.field(...)/strawberry.mutation(...) with arguments are typed as returning Any, which
# mypy --strict rejects as an untyped decorator; these keep the resolver's own signature.


def field(*, description: str, name: str | None = None) -> Callable[[F], F]:
    """A resolver field with a schema description."""

    def decorate(resolver: F) -> F:
        return cast(F, strawberry.field(resolver, name=name, description=description))

    return decorate


def mutation(*, description: str) -> Callable[[F], F]:
    """A mutation field; every mutation is ``Atomic`` (a failure rolls the whole request back)."""

    def decorate(resolver: F) -> F:
        return cast(F, strawberry.mutation(resolver, description=description, extensions=[Atomic()]))

    return decorate


# -- bounds -------------------------------------------------------------------------------------


def invalid(loc: str, message: str, type_: str = "invalid") -> ValidationFailedError:
    return ValidationFailedError(f"{loc}: {message}", [FieldError(loc, message, type_)])


def check_limit(limit: int, loc: str = "limit", *, maximum: int = MAX_PAGE_SIZE) -> int:
    if not 1 <= limit <= maximum:
        raise invalid(loc, f"must be between 1 and {maximum}", "out_of_range")
    return limit


def page_params(limit: int | None, offset: int, settings: Settings | None = None) -> PageParams:
    """REST's paging bounds: ``limit`` left out is PORTRAIT_LIMITS__DEFAULT_PAGE_SIZE, at most
    PORTRAIT_LIMITS__MAX_PAGE_SIZE (the defaults without ``settings``); a value out of range is a
    BAD_USER_INPUT naming the argument."""
    maximum = settings.limits.max_page_size if settings else MAX_PAGE_SIZE
    if limit is None:
        limit = min(settings.limits.default_page_size if settings else DEFAULT_PAGE_SIZE, maximum)
    check_limit(limit, maximum=maximum)
    if not 0 <= offset <= MAX_OFFSET:
        raise invalid("offset", f"must be between 0 and {MAX_OFFSET}", "out_of_range")
    return PageParams(limit=limit, offset=offset)


async def paged(
    info: Info,
    limit: int | None,
    offset: int,
    fetch: Callable[[PageParams], Awaitable[tuple[Sequence[R], int]]],
    convert: Callable[[R], T],
) -> Page[T]:
    """One page of a list field: REST's paging bounds, the rows fetched under the request's database lock
    (resolvers of one request share a session), each converted to its GraphQL type."""
    page = page_params(limit, offset, info.context.settings)
    async with info.context.db_lock:
        rows, total = await fetch(page)
    return Page(items=[convert(row) for row in rows], total=total, limit=page.limit, offset=offset)


async def cursor_paged(
    info: Info,
    limit: int | None,
    offset: int,
    after: str | None,
    fetch: Callable[[PageParams, str | None], Awaitable[tuple[Sequence[R], int, str | None]]],
    convert: Callable[[R], T],
) -> CursorPage[T]:
    """:func:`paged` for a list that also pages by cursor (``after``, not combined with ``offset``)."""
    page = page_params(limit, offset, info.context.settings)
    if after is not None and offset:
        raise invalid("offset", "must be 0 (or absent) with after", "cursor_with_offset")
    try:
        async with info.context.db_lock:
            rows, total, next_cursor = await fetch(page, after)
    except InvalidCursor as exc:
        raise invalid("after", "not a cursor this service made (a page's next)", "invalid_cursor") from exc
    return CursorPage(
        items=[convert(row) for row in rows], total=total, limit=page.limit, offset=offset, next=next_cursor
    )


def check_text(value: str | None, loc: str, *, max_length: int, min_length: int = 1) -> str | None:
    """Bounds of free-text filter arguments (the same as the REST query parameters)."""
    if value is not None and not min_length <= len(value) <= max_length:
        raise invalid(loc, f"length must be between {min_length} and {max_length}", "string_length")
    if value is not None and "\x00" in value:
        raise invalid(loc, "must not contain the NUL character (U+0000)", "string_nul")
    return value


def check_range(value: int | None, loc: str, *, ge: int, le: int) -> int | None:
    if value is not None and not ge <= value <= le:
        raise invalid(loc, f"must be between {ge} and {le}", "out_of_range")
    return value


def enum_value(value: Enum | None) -> Any:
    return None if value is None else value.value


# -- inputs -------------------------------------------------------------------------------------


def input_values(data: object) -> dict[str, Any]:
    """The fields of a strawberry input the client gave (``UNSET`` ones left out), enums as values."""
    assert dataclasses.is_dataclass(data)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(data):
        value = getattr(data, field.name)
        if value is strawberry.UNSET:
            continue
        values[field.name] = _plain(value)
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return input_values(value)  # a nested input object
    return value


def validate_input(
    model: type[P], data: object, *, arg: str = "input", extra: Mapping[str, Any] | None = None
) -> P:
    """The REST schema ``model`` validated from a GraphQL input: the domain's own rules, one place.

    Only fields the client gave are passed, so ``XUpdate.model_dump(exclude_unset=True)`` tells
    "not given" from an explicit ``null`` just as it does for a JSON body.
    """
    return validate_values(model, {**input_values(data), **(extra or {})}, arg=arg)


def validate_values(model: type[P], values: Mapping[str, Any], *, arg: str = "input") -> P:
    """``model`` validated from plain values; errors are named under ``arg`` (or bare when empty)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        errors = [
            FieldError(
                graphql_loc(arg, err["loc"]) if arg else graphql_loc("", err["loc"]).lstrip("."),
                err["msg"],
                err["type"],
            )
            for err in exc.errors()
        ]
        fields = ", ".join(e.loc for e in errors[:5])
        raise ValidationFailedError(f"invalid input: {fields}", errors) from None
