"""RFC 9457 problem documents for every error of the own API."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from service.errors import ServiceError
from service.logging import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:portrait:problem:"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, detail, title=title, errors=errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in parts)


def validation_errors(exc: RequestValidationError) -> tuple[int, str, str, list[dict[str, Any]]]:
    raw = list(exc.errors())
    # A body that is not JSON at all is a 400, not a field error.
    for err in raw:
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            reason = ctx.get("error", "malformed JSON")
            return (
                400,
                "malformed_json",
                f"the request body is not valid JSON: {reason}",
                [{"loc": _loc(err.get("loc", ())), "message": str(reason), "type": "json_invalid"}],
            )
    errors = [
        {
            "loc": _loc(err.get("loc", ())),
            "message": str(err.get("msg", "invalid")),
            "type": str(err.get("type", "invalid")),
        }
        for err in raw
    ]
    fields = ", ".join(e["loc"] for e in errors[:5])
    more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
    return 422, "validation_failed", f"invalid input: {fields}{more}", errors


#: Renders an error of a path family with a format of its own: (status, detail, headers, minor code or None).
ErrorRenderer = Callable[[int, str, dict[str, str] | None, str | None], Response]
#: Renders the request validation errors of a path family.
ValidationRenderer = Callable[[RequestValidationError], Response]


class ErrorFormat:
    """Paths (by prefix) whose errors are not problem documents, e.g. the 1EdTech ``Imsx_StatusInfo``."""

    def __init__(
        self, prefixes: tuple[str, ...], render: ErrorRenderer, render_validation: ValidationRenderer
    ) -> None:
        self.prefixes = prefixes
        self.render = render
        self.render_validation = render_validation

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefixes) or path in {p.rstrip("/") for p in self.prefixes}


def error_format_for(app: Any, path: str) -> ErrorFormat | None:
    """The error format registered for ``path`` on ``app`` (``None``: RFC 9457 problem documents)."""
    state = getattr(app, "state", None)
    formats: Sequence[ErrorFormat] = getattr(state, "error_formats", ()) if state is not None else ()
    return next((f for f in formats if f.matches(path)), None)


def error_response(
    app: Any,
    path: str,
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    """An error answer in the format the path's family uses (for middleware that answers by itself)."""
    fmt = error_format_for(app, path)
    if fmt is not None:
        return fmt.render(status, detail, headers, None)
    return problem_response(status, code, detail, errors=errors, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app fully matches for this path (probing the router, which also
    covers included routers)."""
    routes = request.app.router.routes
    scope = {k: v for k, v in request.scope.items() if k not in ("path_params", "endpoint", "route")}
    return [m for m in _METHODS if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in routes)]


def install_handlers(app: FastAPI, formats: Sequence[ErrorFormat] = ()) -> None:
    app.state.error_formats = tuple(formats)

    def other_format(request: Request) -> ErrorFormat | None:
        return error_format_for(app, request.url.path)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        fmt = other_format(request)
        if fmt is not None:
            return fmt.render(exc.status, exc.detail, None, getattr(exc, "imsx_minor", None))
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers = {"Retry-After": str(int(retry_after))}
        return problem_response(
            exc.status,
            exc.code,
            exc.detail,
            title=exc.title,
            errors=[e.as_dict() for e in exc.errors] or None,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        fmt = other_format(request)
        if fmt is not None:
            return fmt.render_validation(exc)
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        body_unread = any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
        if body_unread and media and not (media == "application/json" or media.endswith("+json")):
            # FastAPI ignores bodies of other media types; say so instead of "field required".
            return problem_response(
                415, "unsupported_media_type", f"expected an application/json body, got {media}"
            )
        status, code, detail, errors = validation_errors(exc)
        return problem_response(status, code, detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(status, "error")
        fmt = other_format(request)
        if fmt is not None:
            if status == 404 and detail == "Not Found":
                detail = f"there is no resource at {request.url.path}"
            headers = getattr(exc, "headers", None)
            if status == 405:
                # Starlette's Allow names the first route of the path only; name every method of it.
                allowed = ", ".join(_allowed_methods(request)) or (headers or {}).get("Allow", "")
                headers = {**(headers or {}), "Allow": allowed}
                detail = f"{request.method} is not allowed here" + (f"; use {allowed}" if allowed else "")
            return fmt.render(status, detail, headers, None)
        return problem_response(
            status, _CODES.get(status, "error"), detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> Response:
        # Services check uniqueness first; this catches the race between two writers.
        logger.info("integrity error: %s", exc.orig)
        fmt = other_format(request)
        if fmt is not None:
            return fmt.render(
                409, "the change conflicts with existing data (a concurrent write?)", None, None
            )
        return problem_response(
            409, "conflict", "the change conflicts with existing data (a concurrent write?)"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error", exc_info=exc)
        fmt = other_format(request)
        if fmt is not None:
            return fmt.render(500, "an internal error occurred", None, "internal_server_error")
        return problem_response(500, "internal_error", "an internal error occurred; see the request id")
