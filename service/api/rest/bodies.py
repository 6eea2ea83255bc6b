"""Reading raw JSON bodies for routes whose body is not a pydantic model (CASE packages, bulk)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from service.errors import BadRequestError, UnsupportedMediaTypeError


class MalformedJson(BadRequestError):
    code = "malformed_json"


async def read_json_body(request: Request) -> Any:
    """The parsed JSON body; the body-size middleware has already bounded its length."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and not (media == "application/json" or media.endswith("+json")):
        raise UnsupportedMediaTypeError(f"expected an application/json body, got {media}")
    raw = await request.body()
    if not raw.strip():
        raise MalformedJson("the request body is empty; a JSON document is required")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"the request body is not valid JSON: {exc}") from exc
