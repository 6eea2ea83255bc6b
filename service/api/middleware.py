"""ASGI middleware: request ids and request body limits (pure ASGI, no buffering)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import error_response, problem_response
from service.logging import request_id_var

access_log = logging.getLogger("portrait.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` from the caller or makes one; echoes it; logs access."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status_holder = {"status": 0}
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s %.1fms",
                scope.get("method"),
                scope.get("path"),
                status_holder["status"],
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Rejects bodies over the limit: by Content-Length up front, else while streaming."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    response = error_response(
                        scope.get("app"),
                        scope.get("path", ""),
                        400,
                        "bad_request",
                        "invalid Content-Length header",
                    )
                    await response(scope, receive, send)
                    return
                if declared > limit:
                    response = error_response(
                        scope.get("app"),
                        scope.get("path", ""),
                        413,
                        "payload_too_large",
                        f"the request body exceeds the limit of {limit} bytes",
                    )
                    await response(scope, receive, send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


NUL_MESSAGE = "must not contain the NUL character (U+0000)"


class NulGuardMiddleware:
    """Refuses U+0000 in the URL (path or query) of the own API with a 400 naming the parameter.

    PostgreSQL text cannot hold it, so a filter such as ``?q=%00`` would otherwise fail in the database
    with a 500. Bodies are checked by the input schemas; ``/ims/`` keeps its own error format.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/ims/"):
            await self.app(scope, receive, send)
            return
        bad: list[str] = []
        if "\x00" in scope.get("path", ""):
            bad.append("path")
        query = scope.get("query_string", b"").decode("latin-1")
        if "%00" in query or "\x00" in query:
            bad += [
                f"query.{name.replace(chr(0), '')}"
                for name, value in parse_qsl(query, keep_blank_values=True)
                if "\x00" in name or "\x00" in value
            ] or ["query"]
        if bad:
            response = problem_response(
                400,
                "bad_request",
                "the URL contains the NUL character (U+0000)",
                errors=[
                    {
                        "loc": loc,
                        "message": "must not contain the NUL character (U+0000)",
                        "type": "string_nul",
                    }
                    for loc in bad
                ],
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
