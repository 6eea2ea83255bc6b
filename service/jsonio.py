"""The one reader of JSON request bodies: REST (pydantic bodies, bulk, imports), GraphQL (incl. variables).

Bounds, the same everywhere: the size is the request body limit (``RequestMiddleware``), nesting at
most ``limits.max_json_depth`` levels, at most ``limits.max_json_values`` values in all. A body over a
bound is a 400 naming the bound, never a ``RecursionError`` (the standard parser raises one a little
under 1,000 levels) and never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from service.errors import BadRequestError, FieldError

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_VALUES = 1_000_000


class MalformedJson(BadRequestError):
    code = "malformed_json"


class JsonTooDeep(BadRequestError):
    code = "json_too_deep"


class JsonTooLarge(BadRequestError):
    code = "json_too_many_values"


def _too_deep(max_depth: int, loc: str) -> JsonTooDeep:
    return JsonTooDeep(
        f"the JSON document nests too deeply: at most {max_depth} levels (limits.max_json_depth)",
        [FieldError(loc, f"nested deeper than {max_depth} levels", "too_deep")],
    )


def check_bounds(
    value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH, max_values: int = DEFAULT_MAX_VALUES, loc: str = "body"
) -> None:
    """Raise unless ``value`` (parsed JSON) nests at most ``max_depth`` levels and has at most
    ``max_values`` values. Iterative: a deep value cannot exhaust the stack here."""
    count = 1
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Any = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            raise _too_deep(max_depth, loc)
        count += len(children)
        if count > max_values:
            raise JsonTooLarge(
                f"the JSON document has more than {max_values} values (limits.max_json_values)",
                [FieldError(loc, f"more than {max_values} values", "too_many_values")],
            )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def loads(
    raw: bytes | str,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_values: int = DEFAULT_MAX_VALUES,
    loc: str = "body",
    what: str = "the request body",
) -> Any:
    """Parse ``raw`` as JSON within the bounds; errors are 400 ``ServiceError`` s naming ``loc``."""
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise _too_deep(max_depth, loc) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedJson(
            f"{what} is not valid JSON: {exc}", [FieldError(loc, str(exc), "json_invalid")]
        ) from exc
    check_bounds(value, max_depth=max_depth, max_values=max_values, loc=loc)
    return value
