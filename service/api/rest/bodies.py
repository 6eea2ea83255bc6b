"""Reading JSON bodies: every route's body goes through :mod:`service.jsonio` with the app's bounds.

* :func:`read_json_body` for routes whose body is not a pydantic model (CASE packages, bulk).
* :func:`check_json_body` for the others (pydantic bodies FastAPI parses itself), called by the
  request middleware: the same reader and bounds first (a 10,000-deep body is a 400 naming the
  bound, never a ``RecursionError``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import jsonio
from service.api.problems import problem_response
from service.config import LimitSettings, Settings
from service.errors import ServiceError, UnsupportedMediaTypeError
from service.jsonio import MalformedJson

__all__ = ["MalformedJson", "check_json_body", "parse_body", "read_json_body"]


def _limits(request: Request) -> LimitSettings:
    settings: Settings = request.app.state.settings
    return settings.limits


def parse_body(request: Request, raw: bytes | str, *, loc: str = "body") -> Any:
    """``raw`` parsed by the one reader with the app's bounds."""
    limits = _limits(request)
    return jsonio.loads(raw, max_depth=limits.max_json_depth, max_values=limits.max_json_values, loc=loc)


async def read_json_body(request: Request) -> Any:
    """The parsed JSON body; the body-size middleware has already bounded its length."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and not (media == "application/json" or media.endswith("+json")):
        raise UnsupportedMediaTypeError(f"expected an application/json body, got {media}")
    raw = await request.body()
    if not raw.strip():
        raise MalformedJson("the request body is empty; a JSON document is required")
    return parse_body(request, raw)


async def check_json_body(
    app: ASGIApp, limits: Callable[[], LimitSettings], scope: Scope, receive: Receive, send: Send
) -> None:
    """Reads a JSON request body of a route that lets FastAPI parse it, checks it with the one reader
    first, then hands it to ``app`` unchanged (called by :class:`service.api.middleware.RequestMiddleware`
    for POST/PUT/PATCH with a JSON media type, except on paths that read their bodies themselves).

    FastAPI parses a pydantic body with ``json.loads`` and no bounds of ours; this refuses a body over
    the bounds first (a 10,000-deep body is a 400 naming the bound, never a ``RecursionError``).
    """
    chunks: list[bytes] = []
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await app(scope, receive, send)  # disconnected: nothing to check
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
    except HTTPException as exc:  # the size limit, raised while streaming (outside the app's handlers)
        response = problem_response(exc.status_code, "payload_too_large", exc.detail)
        await response(scope, receive, send)
        return
    body = b"".join(chunks)
    if body.strip():
        bounds = limits()
        try:
            jsonio.loads(body, max_depth=bounds.max_json_depth, max_values=bounds.max_json_values)
        except jsonio.MalformedJson:
            pass  # FastAPI reports it with the position, as before
        except ServiceError as exc:
            response = problem_response(
                exc.status, exc.code, exc.detail, errors=[e.as_dict() for e in exc.errors]
            )
            await response(scope, receive, send)
            return
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    await app(scope, replay, send)
