"""The OpenAPI document as integrators receive it: complete and resolvable.

FastAPI builds the document from the routes. Two things it cannot know are added here, once, when the
document is first built:

- Request bodies that a route reads itself (bulk evidence as JSON array or NDJSON, CASE packages,
  verification input) are declared through ``openapi_extra`` and refer to models by name. Those models are
  registered here as components, so that every ``$ref`` resolves and SDK generators type the call.
- Examples given in ``openapi_extra`` are restored as given (FastAPI removes their ``null`` values).
- Error responses are problem documents (RFC 9457). FastAPI attaches a response model to the route's own
  media type (``application/json``); the schema is moved to ``application/problem+json``, the media type
  the service actually answers errors with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

PROBLEM_MEDIA_TYPE = "application/problem+json"
_REF_TEMPLATE = "#/components/schemas/{model}"


def register_models(document: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    """Add ``models`` (and the models they refer to) to ``components.schemas`` where missing."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=_REF_TEMPLATE
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)


def move_problem_schemas(document: dict[str, Any]) -> None:
    """Error responses declare their schema under ``application/problem+json`` only."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if not content or PROBLEM_MEDIA_TYPE not in content or str(status)[:1] not in "45":
                    continue
                problem = content[PROBLEM_MEDIA_TYPE]
                moved = content.pop("application/json", None)
                if not problem.get("schema"):
                    problem["schema"] = (moved or {}).get("schema") or {
                        "$ref": _REF_TEMPLATE.format(model="Problem")
                    }


def restore_examples(document: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """Examples exactly as the routes give them in ``openapi_extra``: FastAPI drops every ``null`` from
    the document, which would leave examples missing required (nullable) fields."""
    for context in iter_route_contexts(list(routes)):  # routes of included routers too
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.openapi_extra or context.path_format is None:
            continue
        operations = document.get("paths", {}).get(context.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            for media, content in route.openapi_extra.get("requestBody", {}).get("content", {}).items():
                if "example" in content:
                    operation["requestBody"]["content"][media]["example"] = content["example"]
            for status, response in route.openapi_extra.get("responses", {}).items():
                for media, content in response.get("content", {}).items():
                    if "example" in content:
                        operation["responses"][str(status)]["content"][media]["example"] = content["example"]


def install_openapi(app: FastAPI, extra_models: Callable[[], Iterable[type[BaseModel]]]) -> None:
    """Replace ``app.openapi`` with a builder that completes FastAPI's document (built once, cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            from service.api.rest.errors import Problem

            register_models(document, [Problem, *extra_models()])
            restore_examples(document, app.routes)
            move_problem_schemas(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
