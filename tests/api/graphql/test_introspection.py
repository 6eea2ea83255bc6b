"""Introspection off the event loop (issue 11): checks remembered per document, introspection executed
in a child process whose answers equal strawberry's, a bounded cache that never answers another
document, and the budgets still refusing what they refused."""

from __future__ import annotations

import json

import pytest
from graphql import get_introspection_query, graphql_sync

from service.api.graphql.introspection import IntrospectionProcess, encode
from service.api.graphql.limits import CheckCache, GraphQLLimitExceeded
from service.api.graphql.router import INTROSPECTION
from service.api.graphql.schema import schema
from service.config import LimitSettings
from tests.api.graphql.conftest import GraphQL
from tests.api.graphql.test_limits import STANDARD_INTROSPECTION, TRIPLE_INTROSPECTION, refused

LIMITS = LimitSettings()
WALKS = "{ " + " ".join(f"a{i}: __schema {{ types {{ name fields {{ name }} }} }}" for i in range(5)) + " }"
FULL = get_introspection_query(
    descriptions=True, specified_by_url=True, directive_is_repeatable=True, schema_description=True
)


def test_check_cache_is_bounded_and_remembers_refusals() -> None:
    cache = CheckCache(size=3)
    for i in range(5):
        assert cache.check(f"{{ a{i}: __typename }}", schema._schema, LIMITS, anonymous=True) is not None
    assert len(cache) == 3 and cache.hits == 0
    first = cache.check("{ a4: __typename }", schema._schema, LIMITS, anonymous=True)
    assert cache.hits == 1 and first is not None and first.introspection_only
    assert cache.check("{ a0: __typename }", schema._schema, LIMITS, anonymous=True) is not None
    assert cache.hits == 1  # forgotten: checked again
    refusals = []
    for _ in range(2):
        with pytest.raises(GraphQLLimitExceeded) as raised:
            cache.check(TRIPLE_INTROSPECTION, schema._schema, LIMITS, anonymous=True)
        refusals.append(raised.value)
    assert len(refusals) == 2 and refusals[0] is not refusals[1]  # a new exception each time
    assert [r.errors[0].type for r in refusals] == ["max_graphql_cost"] * 2
    assert refusals[0].detail == refusals[1].detail and cache.hits == 2
    # The budget is part of the key: what an anonymous caller may not send, a token holder may.
    big = "{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }" + " " * 9000
    with pytest.raises(GraphQLLimitExceeded) as too_big:
        cache.check(big, schema._schema, LIMITS, anonymous=True)
    assert too_big.value.errors[0].type == "max_graphql_query_bytes_anonymous"
    assert cache.check(big, schema._schema, LIMITS, anonymous=False) is not None


def test_the_child_answers_what_graphql_core_answers_on_the_strawberry_schema() -> None:
    child = IntrospectionProcess(schema._schema)
    try:
        learner = '{ __type(name: "Learner") { name fields { name } } }'
        for query in (STANDARD_INTROSPECTION, FULL, WALKS, learner):
            answer = child.run(query, None, None)
            assert answer is not None and answer.cpu_seconds >= 0
            expected = graphql_sync(schema._schema, query)
            assert not expected.errors
            assert answer.body == encode(expected.data)
        variables = child.run("query($n: String!) { __type(name: $n) { name } }", {"n": "Award"}, None)
        assert variables is not None and json.loads(variables.body) == {"data": {"__type": {"name": "Award"}}}
        # Errors are left to strawberry (masked and coded): no answer from the child.
        assert child.run("{ __schema { nope } }", None, None) is None
        assert child.executed == 5
    finally:
        child.close()


async def test_cached_answers_equal_uncached_ones_and_another_document_is_executed(gql: GraphQL) -> None:
    executed = INTROSPECTION.executed
    tag = "test_cached_answers_equal"
    first = await gql(f"{STANDARD_INTROSPECTION}\n# {tag}")
    again = await gql(f"{STANDARD_INTROSPECTION}\n# {tag}")
    assert first.ok() == again.ok()
    assert INTROSPECTION.executed == executed + 1  # the repeat came from the cache
    # Equal to what strawberry itself answers (a token holder's request is not anonymous; both run
    # the same document, the second in the cache already).
    reference = await schema.execute(STANDARD_INTROSPECTION)
    assert not reference.errors and first.ok() == reference.data
    # A changed document is executed, not answered from the cache.
    names = (await gql(f"{{ __schema {{ types {{ name }} }} }} # {tag}")).ok()
    kinds = (await gql(f"{{ __schema {{ types {{ name kind }} }} }} # {tag}")).ok()
    assert names != kinds and all(set(t) == {"name", "kind"} for t in kinds["__schema"]["types"])
    assert INTROSPECTION.executed == executed + 3
    # Trivial introspection runs at once, on the event loop.
    award = (await gql(f'{{ __type(name: "Award") {{ name }} }} # {tag}')).ok()
    assert award == {"__type": {"name": "Award"}}
    assert INTROSPECTION.executed == executed + 3


async def test_a_dead_child_is_replaced_and_errors_stay_coded(gql: GraphQL) -> None:
    assert (await gql(f"{WALKS} # before the kill")).status == 200
    child = INTROSPECTION._child
    assert child is not None
    child.kill()  # the child this process started
    child.wait()
    after = await gql(f"{WALKS} # after the kill")
    assert after.ok() == graphql_sync(schema._schema, WALKS).data
    invalid = await gql("{ __schema { nope } } # test_a_dead_child")
    assert invalid.codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_over_budget_is_refused_again_and_get_runs_nothing(gql: GraphQL) -> None:
    for _ in range(2):
        refused(await gql(TRIPLE_INTROSPECTION), "max_graphql_cost")
    assert (await gql("{ __typename }")).ok() == {"__typename": "Query"}
    assert (await gql(STANDARD_INTROSPECTION)).status == 200  # cached now
    query = await gql.http.get(
        "/graphql", params={"query": STANDARD_INTROSPECTION}, headers={"Accept": "application/json"}
    )
    assert query.status_code != 200
