"""GraphQL errors: ``extensions.code`` for every error, unexpected ones masked, atomic mutations.

Codes: a domain ``ServiceError`` gives its ``graphql_code`` (NOT_FOUND, CONFLICT, BAD_USER_INPUT,
UNAUTHENTICATED, FORBIDDEN, ...) with ``status`` and the field ``errors``; a document that does not
parse is GRAPHQL_PARSE_FAILED, one that does not validate (unknown field, too deep) is
GRAPHQL_VALIDATION_FAILED, variables of the wrong type are BAD_USER_INPUT. Anything else is a bug:
the client sees "Internal server error" / INTERNAL_SERVER_ERROR and the log gets the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, OperationType
from sqlalchemy.exc import IntegrityError
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from service.api.deps import ROLLBACK_ONLY
from service.errors import ServiceError

logger = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Internal server error"


class Atomic(FieldExtension):
    """On every mutation field: a failure marks the request's transaction rollback-only.

    A GraphQL response with errors is still an HTTP 200, so the session dependency would commit;
    ``ROLLBACK_ONLY`` makes it roll back instead. Mutation fields are non-null, so graphql-core
    also stops running the mutations after a failed one and answers ``data: null``.
    """

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except BaseException:
            if info.context.has_session:  # an anonymous request has none (and wrote nothing)
                info.context.session.info[ROLLBACK_ONLY] = True
            raise


def graphql_loc(prefix: str, parts: Sequence[int | str]) -> str:
    """``("given_name",)`` under ``input`` -> ``input.givenName`` (the names the client used)."""
    return ".".join([prefix, *(to_camel_case(p) if isinstance(p, str) else str(p) for p in parts)])


def _field_errors(exc: ServiceError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors:
        item = err.as_dict()
        # Domain services name body fields (``body.sourced_id``); GraphQL clients sent ``input.sourcedId``.
        if err.loc.startswith("body."):
            item["loc"] = graphql_loc("input", err.loc.split(".")[1:])
        out.append(item)
    return out


def _rebuild(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorFormatter(SchemaExtension):
    """Rewrites the errors of each result; marks a mutation with errors rollback-only."""

    def __init__(self) -> None:
        self.invalid_document = False

    def on_validate(self) -> Iterator[None]:
        yield
        # Here, and only here, pre_execution_errors holds exactly the validation errors.
        self.invalid_document = bool(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        result = ctx.result
        errors = getattr(result, "errors", None)
        if not result or not errors:
            return
        request_id = getattr(ctx.context, "request_id", "-")
        result.errors = [self.format(error, request_id) for error in errors]
        # An anonymous request has no session (and wrote nothing).
        if getattr(ctx.context, "has_session", False) and self._is_mutation():
            # A partial mutation result (e.g. a payload field failed after the write) keeps nothing.
            ctx.context.session.info[ROLLBACK_ONLY] = True

    def _is_mutation(self) -> bool:
        try:
            return self.execution_context.operation_type.value == OperationType.MUTATION.value
        except RuntimeError:  # the document did not parse or names no operation
            return False

    def format(self, error: GraphQLError, request_id: str) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ServiceError):
            extensions: dict[str, Any] = {"code": original.graphql_code, "status": original.status}
            if original.errors:
                extensions["errors"] = _field_errors(original)
            return _rebuild(error, original.detail, extensions)
        if isinstance(original, IntegrityError):
            # Services check uniqueness first; this is the race between two writers (REST: 409).
            logger.info("integrity error in graphql (request %s): %s", request_id, original.orig)
            detail = "the change conflicts with existing data (a concurrent write?)"
            return _rebuild(error, detail, {"code": "CONFLICT", "status": 409})
        if error.path is None:
            if isinstance(error, GraphQLSyntaxError) or self.execution_context.graphql_document is None:
                return _rebuild(error, error.message, {"code": "GRAPHQL_PARSE_FAILED"})
            if self.invalid_document:
                return _rebuild(error, error.message, {"code": "GRAPHQL_VALIDATION_FAILED"})
            if error.message.startswith("Variable '$"):
                # graphql-core's variable coercion: missing, null or not of the declared type.
                return _rebuild(error, error.message, {"code": "BAD_USER_INPUT"})
        logger.error(
            "graphql: unexpected error at %s (request %s)",
            ".".join(str(p) for p in error.path or ()) or "-",
            request_id,
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
        return _rebuild(error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})
