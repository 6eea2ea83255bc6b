"""The ``/graphql`` endpoint: POST for operations, GET serves GraphiQL."""

from __future__ import annotations

from strawberry.fastapi import GraphQLRouter

from service.api.graphql.context import Context, get_context
from service.api.graphql.schema import schema

PATH = "/graphql"


def graphql_router() -> GraphQLRouter[Context, None]:
    return GraphQLRouter(
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
