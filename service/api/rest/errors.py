"""``responses=`` declarations shared by routers: every error is a problem document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemFieldError(BaseModel):
    loc: str = Field(description="path of the offending input, e.g. body.given_name")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[ProblemFieldError] | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Malformed request",
        401: "Missing, invalid or expired access token",
        403: "The token lacks the required scope",
        404: "Not found in the caller's tenant",
        409: "Conflicts with existing data",
        413: "Body too large",
        422: "Validation failed; errors[] names each field",
    }
    return {
        s: {
            "model": Problem,
            "description": descriptions.get(s, "Error"),
            "content": {"application/problem+json": {}},
        }
        for s in statuses
    }


READ_ERRORS = problems(400, 401, 403, 422)
GET_ERRORS = problems(400, 401, 403, 404, 422)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 413, 422)
