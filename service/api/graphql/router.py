"""The ``/graphql`` endpoint: POST for operations, GET serves GraphiQL."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException as TransportError
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from strawberry.fastapi import GraphQLRouter

from service.api.graphql.context import Context, get_context
from service.api.graphql.schema import schema
from service.api.web.ide import html_page, offline_graphiql

PATH = "/graphql"


class ProblemGraphQLRouter(GraphQLRouter[Context, None]):
    """Transport-level failures (body not JSON, no query, wrong media type) become RFC 9457 problem
    documents like every other 4xx of the API, instead of strawberry's plain-text answers."""

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(*args, **kwargs)
        except TransportError as exc:
            raise HTTPException(exc.status_code, exc.reason) from exc

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL with its scripts and styles served by the service (no CDN)."""
        return html_page(offline_graphiql(self.graphql_ide_html))


def graphql_router() -> GraphQLRouter[Context, None]:
    return ProblemGraphQLRouter(
        schema,
        path=PATH,
        context_getter=get_context,
        graphql_ide="graphiql",
        # Operations only by POST: a GET must never be able to run anything (nor cache a token's reads).
        allow_queries_via_get=False,
        subscription_protocols=(),
        # Its contract is openapi/schema.graphql, not the REST OpenAPI document.
        include_in_schema=False,
    )
