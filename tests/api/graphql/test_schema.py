"""The schema itself: enums mirror the REST vocabularies, names and bounds as documented."""

from __future__ import annotations

from enum import Enum
from typing import Any, get_args

import pytest

from service.api.graphql import roster as gql_roster
from service.api.graphql.common import Status
from service.api.graphql.schema import schema
from service.roster import schemas as rest_roster
from service.tenancy import schemas as rest_tenancy


@pytest.mark.parametrize(
    ("enum", "literal"),
    [
        (Status, rest_roster.Status),
        (Status, rest_tenancy.Status),
        (gql_roster.OrgType, rest_roster.OrgType),
        (gql_roster.SessionType, rest_roster.SessionType),
        (gql_roster.PersonRole, rest_roster.PersonRole),
        (gql_roster.EnrollmentRole, rest_roster.EnrollmentRole),
        (gql_roster.ClassType, rest_roster.ClassType),
    ],
)
def test_enums_carry_exactly_the_rest_values(enum: type[Enum], literal: Any) -> None:
    assert sorted(m.value for m in enum) == sorted(get_args(literal))


def test_sdl_names() -> None:
    sdl = schema.as_str()
    assert "class(id: UUID!): Class" in sdl
    assert "  class: Class\n" in sdl  # Enrollment.class
    for page in ("TenantPage", "ApiClientPage", "LearnerPage", "ClassPage", "OrgPage", "EnrollmentPage"):
        assert f"type {page} {{" in sdl
    assert "learners(filter: LearnerFilter = null, limit: Int = null, offset: Int! = 0): LearnerPage" in sdl
    assert "createApiClient(input: CreateApiClientInput!): ApiClientCreated!" in sdl
