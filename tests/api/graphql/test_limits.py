"""GraphQL budgets (issue 11): what the attack audit sent is refused before parsing, validation or any
resolver, with an HTTP 4xx problem naming the limit; the standard introspection query still works."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, parse

from service.api.graphql.limits import GraphQLLimitExceeded, check_request, measure
from service.api.graphql.schema import schema
from service.config import LimitSettings
from tests.api.graphql.conftest import GraphQL, Result
from tests.factories import Actors

LIMITS = LimitSettings()
SCHEMA_WALK = "__schema { types { name fields { name type { name ofType { name } } } } }"
# Each level multiplies: types x fields x (the field's type's) fields x ...
STANDARD_INTROSPECTION = get_introspection_query(descriptions=True)
# The standard introspection query walking the whole schema three times (aliases): over the cost.
TRIPLE_INTROSPECTION = STANDARD_INTROSPECTION.replace(
    "__schema {", "a: __schema { types { ...FullType } } b: __schema { types { ...FullType } } __schema {", 1
)


def refused(result: Result, limit: str, status: int = 400) -> str:
    assert result.status == status, result.body
    assert result.body["code"] == "graphql_limit_exceeded"
    assert result.body["errors"][0]["type"] == limit
    assert f"limits.{limit}" in result.body["detail"]
    return str(result.body["detail"])


def _limit_of(query: str, *, anonymous: bool = False, **variables: object) -> str | None:
    try:
        check_request(query, schema._schema, LIMITS, anonymous=anonymous, variables=variables)
    except GraphQLLimitExceeded as exc:
        return exc.errors[0].type
    return None


@pytest.mark.parametrize(
    ("query", "anonymous", "limit"),
    [
        # Within every budget.
        (STANDARD_INTROSPECTION, True, None),
        ("{ learners(limit: 200) { items { id givenName } } }", False, None),
        ("{ " + " ".join(f"a{i}: learners {{ total }}" for i in range(20)) + " }", False, None),
        # The audit's documents.
        (
            "{ " + " ".join(f"a{i}: {SCHEMA_WALK}" for i in range(500)) + " }",
            True,
            "max_graphql_query_bytes_anonymous",
        ),
        ("{ " + " ".join(f"a{i}: {SCHEMA_WALK}" for i in range(500)) + " }", False, "max_graphql_tokens"),
        ("{ " + " ".join(f"a{i}: {SCHEMA_WALK}" for i in range(31)) + " }", False, "max_graphql_aliases"),
        (
            "{ " + " ".join(f"a{i}: __typename" for i in range(150_000)) + " }",
            False,
            "max_graphql_query_bytes",
        ),
        (
            "{ " + " ".join(f"a{i}: learners(limit: 200) {{ total }}" for i in range(1000)) + " }",
            False,
            "max_graphql_tokens",
        ),
        ("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }", True, "max_graphql_aliases"),
        ("{ " + " ".join(["_"] * 1100) + " }", True, "max_graphql_tokens_anonymous"),
        ("{ " + " ".join(["_"] * 4000) + " }", False, "max_graphql_root_fields"),
        ("{ " + " ".join(["learners { total }"] * 21) + " }", False, "max_graphql_root_fields"),
        ("{ learners { items { " + " ".join(["id"] * 21) + " } } }", False, "max_graphql_repeated_fields"),
        (TRIPLE_INTROSPECTION, True, "max_graphql_cost"),
        (
            "{ learners(limit: 200) { items { classes(limit: 50) { enrollments(limit: 50) { id } } } } }",
            False,
            "max_graphql_cost",
        ),
        ("{" * 2000 + "}" * 2000, True, "max_graphql_depth"),
        # A chain of fragments: 60 definitions, then 2,000 (tokens first).
        (
            "{ ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(60))
            + " fragment F60 on Query { __typename }",
            False,
            "max_graphql_fragments",
        ),
        (
            "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1500)),
            False,
            "max_graphql_tokens",
        ),
        # Fragments spread twice at each level: costed once each, the expansion still counts.
        (
            "{ ...F0 } "
            + " ".join(
                f"fragment F{i} on Query {{ ...F{i + 1} ... on Query {{ ...F{i + 1} }} }}" for i in range(40)
            )
            + " fragment F40 on Query { learners { total } }",
            False,
            "max_graphql_cost",
        ),
    ],
)
def test_budgets(query: str, anonymous: bool, limit: str | None) -> None:
    assert _limit_of(query, anonymous=anonymous) == limit


def test_limit_arguments_from_variables_count() -> None:
    query = (
        "query($n: Int!) { learners(limit: $n) { items { classes(limit: $n) { "
        "enrollments(limit: $n) { id } } } } }"
    )
    assert _limit_of(query, n=20) is None
    assert _limit_of(query, n=200) == "max_graphql_cost"


async def test_over_budget_requests_get_a_4xx_naming_the_limit(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("roster:read")  # first: a refused request rolls the test back
    walk = "{ " + " ".join(f"a{i}: {SCHEMA_WALK}" for i in range(500)) + " }"
    assert "8192 bytes" in refused(await gql(walk), "max_graphql_query_bytes_anonymous", 413)
    assert "at most 5000 tokens" in refused(await gql(walk, headers=headers), "max_graphql_tokens")
    learners = "{ " + " ".join(f"a{i}: learners(limit: 200) {{ total }}" for i in range(100)) + " }"
    assert "100 aliases; at most 30" in refused(await gql(learners, headers=headers), "max_graphql_aliases")
    refused(await gql(TRIPLE_INTROSPECTION), "max_graphql_cost")
    chain = "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1500))
    detail = refused(await gql(chain, headers=headers), "max_graphql_tokens")
    assert "recursion" not in detail


async def test_standard_introspection_still_answers(gql: GraphQL) -> None:
    data = (await gql(STANDARD_INTROSPECTION)).ok()
    assert data["__schema"]["queryType"]["name"] == "Query"
    assert len(data["__schema"]["types"]) > 50


async def test_fragment_cycles_are_validation_errors_with_a_code(gql: GraphQL, actors: Actors) -> None:
    cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    result = await gql(cycle, headers=await actors.a.headers("roster:read"))
    assert result.codes and set(result.codes) == {"GRAPHQL_VALIDATION_FAILED"}
    assert all("recursion" not in e["message"] for e in result.errors)


async def test_deeply_nested_variables_are_a_400(gql: GraphQL, actors: Actors) -> None:
    deep = "[" * 10_000 + "1" + "]" * 10_000
    response = await gql.http.post(
        "/graphql",
        content='{"query": "{ __typename }", "variables": {"v": ' + deep + "}}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "json_too_deep"


async def test_anonymous_callers_spend_a_cost_budget_per_ip(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("roster:read")
    # What one introspection costs grows with the schema: the budget is counted in those costs.
    cost = measure(parse(STANDARD_INTROSPECTION), schema._schema).cost
    allowed = LimitSettings().graphql_anonymous_cost_burst // cost
    assert allowed >= 3  # the default budget keeps a few full introspections a minute possible
    # Distinct texts (a trailing comment each), so that none is answered from the introspection cache.
    statuses = [(await gql(f"{STANDARD_INTROSPECTION}\n# {i}")).status for i in range(allowed + 1)]
    assert statuses == [200] * allowed + [429]
    limited = await gql(STANDARD_INTROSPECTION)
    assert limited.body["code"] == "too_many_requests"
    assert "limits.graphql_anonymous_cost_per_minute" in limited.body["detail"]
    # A caller with a token is accountable: not charged to the IP's anonymous budget.
    assert (await gql(STANDARD_INTROSPECTION, headers=headers)).status == 200


async def test_introspection_is_cached_per_schema_and_cheap_when_cached(gql: GraphQL) -> None:
    """The standard introspection query runs once; repeats are answered from the cache, identical, and
    cost an anonymous caller a hundredth of the full cost, so a GraphiQL user reloading is not
    throttled and an abuser cannot make the service re-run it."""
    cost = measure(parse(STANDARD_INTROSPECTION), schema._schema).cost
    allowed_uncached = LimitSettings().graphql_anonymous_cost_burst // cost
    first = (await gql(STANDARD_INTROSPECTION)).ok()
    repeats = [await gql(STANDARD_INTROSPECTION) for _ in range(3 * allowed_uncached)]
    assert [r.status for r in repeats] == [200] * len(repeats)  # uncached, the budget ends far sooner
    assert all(r.ok() == first for r in repeats)
    # Another text is another cache entry (and is charged in full).
    other = await gql(STANDARD_INTROSPECTION.replace("IntrospectionQuery", "Other", 1))
    assert other.status == 200 and other.ok() == first
