"""The GraphQL schema: one Query and one Mutation type assembled from the domain modules."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import QueryDepthLimiter
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.types import ExecutionContext

from service.api.graphql.awards import AwardsMutation, AwardsQuery
from service.api.graphql.badges import BadgesMutation, BadgesQuery
from service.api.graphql.context import Context
from service.api.graphql.course_records import CourseRecordsMutation, CourseRecordsQuery
from service.api.graphql.errors import ErrorFormatter
from service.api.graphql.evidence import EvidenceMutation, EvidenceQuery
from service.api.graphql.frameworks import FrameworksMutation, FrameworksQuery
from service.api.graphql.jobs import JobsMutation, JobsQuery
from service.api.graphql.roster import RosterMutation, RosterQuery
from service.api.graphql.tenancy import TenancyMutation, TenancyQuery
from service.api.graphql.transcripts import TranscriptsMutation, TranscriptsQuery
from service.config import LimitSettings

DEFAULT_MAX_DEPTH: int = LimitSettings().max_graphql_depth


@strawberry.type(description="Reads. Every field needs a bearer token with the scope it names.")
class Query(
    TenancyQuery,
    RosterQuery,
    CourseRecordsQuery,
    FrameworksQuery,
    EvidenceQuery,
    AwardsQuery,
    BadgesQuery,
    TranscriptsQuery,
    JobsQuery,
):
    pass


@strawberry.type(
    description=(
        "Writes. One request is one transaction: if any mutation of a request fails, none of its "
        "writes are kept, the mutations after it are not run and `data` is null."
    )
)
class Mutation(
    TenancyMutation,
    RosterMutation,
    CourseRecordsMutation,
    FrameworksMutation,
    EvidenceMutation,
    AwardsMutation,
    BadgesMutation,
    TranscriptsMutation,
    JobsMutation,
):
    pass


@lru_cache(maxsize=16)
def _depth_rule(max_depth: int) -> type[ASTValidationRule]:
    return create_validator(max_depth, None)


class SettingsDepthLimiter(QueryDepthLimiter):
    """``QueryDepthLimiter`` whose limit is the request's ``settings.limits.max_graphql_depth``."""

    def __init__(self) -> None:
        super().__init__(max_depth=DEFAULT_MAX_DEPTH)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        depth = context.settings.limits.max_graphql_depth if isinstance(context, Context) else None
        self.validation_rules = [_depth_rule(depth or DEFAULT_MAX_DEPTH)]
        yield from super().on_operation()


class PortraitSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> Any:
        # ErrorFormatter logs the unexpected errors (with the request id); expected ones are not
        # server errors and strawberry's default would log each with a traceback.
        return None


schema: strawberry.Schema = PortraitSchema(
    query=Query,
    mutation=Mutation,
    extensions=[SettingsDepthLimiter, ErrorFormatter],
)
