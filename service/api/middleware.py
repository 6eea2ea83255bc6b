"""The one ASGI middleware around every request (pure ASGI, no buffering but a checked JSON body).

It does, in this order, what five layers used to do one after the other (each layer cost a coroutine
frame per request and a wrapper per message sent, measured in ``docs/performance.md``):

1. request id: a well-formed ``X-Request-ID`` from the caller or a new one, set for logging and echoed;
   one access log line per request;
2. HTML security headers on every ``text/html`` answer (:mod:`service.api.web.headers`);
3. the NUL guard: U+0000 in the URL of the own API is a 400 naming the parameter;
4. request body limits: by Content-Length up front, else while streaming;
5. JSON bodies that FastAPI parses itself go through :mod:`service.jsonio`'s bounds first
   (:func:`service.api.rest.bodies.check_json_body`).

Every answer, the middleware's own refusals included, carries the request id and, when HTML, the
security headers.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import error_response, problem_response
from service.api.rest.bodies import check_json_body
from service.api.web.headers import is_html, secure_headers
from service.config import LimitSettings
from service.logging import request_id_var

access_log = logging.getLogger("portrait.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit} bytes")


NUL_MESSAGE = "must not contain the NUL character (U+0000)"


def nul_refusal(scope: Scope) -> Response | None:
    """A 400 naming where U+0000 is in the URL of the own API (PostgreSQL text cannot hold it, so a
    filter such as ``?q=%00`` would otherwise fail in the database with a 500); ``None`` if clean.
    Bodies are checked by the input schemas; ``/ims/`` keeps its own error format."""
    path: str = scope.get("path", "")
    if path.startswith("/ims/"):
        return None
    bad: list[str] = []
    if "\x00" in path:
        bad.append("path")
    raw: bytes = scope.get("query_string", b"")
    if raw and (b"%00" in raw or b"\x00" in raw):
        query = raw.decode("latin-1")
        bad += [
            f"query.{name.replace(chr(0), '')}"
            for name, value in parse_qsl(query, keep_blank_values=True)
            if "\x00" in name or "\x00" in value
        ] or ["query"]
    if not bad:
        return None
    return problem_response(
        400,
        "bad_request",
        "the URL contains the NUL character (U+0000)",
        errors=[{"loc": loc, "message": NUL_MESSAGE, "type": "string_nul"} for loc in bad],
    )


class RequestMiddleware:
    """Request id and access log, HTML security headers, NUL guard, body limits and bounded JSON
    bodies, in one layer (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: Callable[[str], int],
        json_limits: Callable[[], LimitSettings],
        reads_json_itself: tuple[str, ...],
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.json_limits = json_limits
        self.reads_json_itself = reads_json_itself

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the headers: the first X-Request-ID, every Content-Length, the last Content-Type.
        incoming = ""
        seen_id = False
        lengths: list[bytes] = []
        content_type = b""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                if not seen_id:
                    incoming, seen_id = value.decode("latin-1"), True
            elif name == b"content-length":
                lengths.append(value)
            elif name == b"content-type":
                content_type = value
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        id_header = (b"x-request-id", request_id.encode())
        token = request_id_var.set(request_id)
        status = 0
        started = time.perf_counter()

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append(id_header)
                if is_html(headers):
                    headers = secure_headers(headers)
                message["headers"] = headers
            await send(message)

        try:
            await self._handle(scope, receive, send_wrapped, lengths, content_type)
        finally:
            access_log.info(
                "%s %s %s %.1fms",
                scope.get("method"),
                scope.get("path"),
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, lengths: list[bytes], content_type: bytes
    ) -> None:
        refusal = nul_refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limit_for(path)
        for value in lengths:
            try:
                declared = int(value)
            except ValueError:
                response = error_response(
                    scope.get("app"), path, 400, "bad_request", "invalid Content-Length header"
                )
                await response(scope, receive, send)
                return
            if declared > limit:
                response = error_response(
                    scope.get("app"),
                    path,
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

        if scope.get("method") in _BODY_METHODS:
            media = content_type.decode("latin-1").split(";")[0].strip().lower()
            if (media == "application/json" or media.endswith("+json")) and not path.startswith(
                self.reads_json_itself
            ):
                await check_json_body(self.app, self.json_limits, scope, limited_receive, send)
                return
        await self.app(scope, limited_receive, send)
