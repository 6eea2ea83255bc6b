"""The award rule as a typed contract: levels by position, id or title (REST and GraphQL), the
discriminated schema in OpenAPI, camelCase typed inputs in GraphQL, and old payloads still accepted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors, PortraitFixture, make_portrait

NOW = "2026-10-01T12:00:00Z"


@pytest.fixture
async def portrait(session: AsyncSession, actors: Actors) -> PortraitFixture:
    p = await make_portrait(session, actors.a.tenant.id)
    await session.commit()
    return p


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)


def _rule(p: PortraitFixture, **extra: Any) -> dict[str, Any]:
    return {"type": "evidence", "competency_ids": [str(p.competency_ids[0])], **extra}


async def _create(http: httpx.AsyncClient, h: dict[str, str], rule: Any) -> httpx.Response:
    return await http.post(
        "/api/v1/achievements",
        json={"title": "Badge", "description": "d", "criteria": "c", "rule": rule},
        headers=h,
    )


async def test_min_level_by_position_id_or_title_is_stored_as_the_position(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("awards:write", "evidence:write")
    given = {
        "position": 2,
        "id": str(portrait.level_ids[2]),
        "title": "Proficient",
        "title, any case": "  proficient ",
    }
    for how, level in given.items():
        made = await _create(http, h, _rule(portrait, min_level=level))
        assert made.status_code == 201, (how, made.text)
        assert made.json()["rule"]["min_level"] == 2, how
    mastery = await _create(
        http, h, _rule(portrait, mastery={"method": "highest", "min_level": str(portrait.level_ids[3])})
    )
    assert mastery.status_code == 201, mastery.text
    assert mastery.json()["rule"]["mastery"]["min_level"] == 3

    # The stored position is what evaluation uses: Developing does not earn it, Proficient does.
    piece = {
        "learner_id": str(portrait.learner_ids[0]),
        "competency_id": str(portrait.competency_ids[0]),
        "source": "rubric",
        "observed_at": NOW,
    }
    low = await http.post(
        "/api/v1/evidence", json={**piece, "level_id": str(portrait.level_ids[1])}, headers=h
    )
    assert low.json()["awards"] == []
    high = await http.post("/api/v1/evidence", json={**piece, "level": 2}, headers=h)
    assert len(high.json()["awards"]) == 4  # the four achievements at Proficient, not the mastery one


async def test_unknown_levels_are_named_and_old_payloads_still_pass(
    http: httpx.AsyncClient, actors: Actors, portrait: PortraitFixture, session: AsyncSession
) -> None:
    h = await actors.a.headers("awards:write")
    other = await make_portrait(session, actors.a.tenant.id)
    await session.commit()
    cases = [
        (_rule(portrait, min_level="Mastered"), "body.rule.min_level", "Beginning, Developing, Proficient"),
        (_rule(portrait, min_level=str(other.level_ids[2])), "body.rule.min_level", "no rubric level"),
        (
            _rule(portrait, mastery={"method": "mean", "min_level": "Expert"}),
            "body.rule.mastery.min_level",
            "Extending",
        ),
        (_rule(portrait, min_level=True), "body.rule.min_level", ""),
        (_rule(portrait, min_level=-1), "body.rule.min_level", ""),
        ({"competency_ids": [str(portrait.competency_ids[0])]}, "body.rule.type", ""),
    ]
    for rule, loc, words in cases:
        response = await _create(http, h, rule)
        assert response.status_code == 422, (rule, response.text)
        errors = response.json()["errors"]
        assert any(e["loc"].startswith(loc) and words in e["message"] for e in errors), (rule, errors)
    old = await _create(
        http,
        h,
        _rule(
            portrait,
            min_level=2,
            min_count=2,
            min_distinct_contexts=2,
            required_sources=[{"sources": ["rubric", "exhibition"], "min": 1}],
        ),
    )
    assert old.status_code == 201, old.text
    assert old.json()["rule"]["min_level"] == 2 and old.json()["rule"]["min_count"] == 2


async def test_openapi_types_the_rule_as_a_discriminated_union(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    rule = schemas["AchievementCreate"]["properties"]["rule"]["anyOf"][0]
    assert rule["discriminator"] == {
        "propertyName": "type",
        "mapping": {
            "evidence": "#/components/schemas/EvidenceRuleInput",
            "composite": "#/components/schemas/CompositeRule",
        },
    }
    evidence, composite = schemas["EvidenceRuleInput"], schemas["CompositeRule"]
    assert evidence["required"][0] == composite["required"][0] == "type"
    for option in (evidence, composite, schemas["MasteryInput"]):
        assert option["additionalProperties"] is False and option["description"]
        undocumented = [name for name, prop in option["properties"].items() if not prop.get("description")]
        assert undocumented == [], undocumented
    levels = evidence["properties"]["min_level"]["anyOf"]
    assert [x.get("type") for x in levels] == ["integer", "string", "string", "null"]
    assert levels[1]["format"] == "uuid"
    assert "title" in evidence["properties"]["min_level"]["description"]
    update = schemas["AchievementUpdate"]["properties"]["rule"]["anyOf"][0]
    assert update["discriminator"] == rule["discriminator"]
    read = schemas["AchievementRead"]["properties"]["rule"]["anyOf"]
    assert read[0]["discriminator"]["mapping"]["evidence"] == "#/components/schemas/EvidenceRule"
    assert schemas["EvidenceRule"]["properties"]["min_level"]["anyOf"][0]["type"] == "integer"


CREATE = """
mutation($i: CreateAchievementInput!) {
  createAchievement(input: $i) {
    id rule
    awardRule {
      __typename
      ... on EvidenceAwardRule { competencyIds minLevel minCount requiredSources { sources min }
                                 mastery { method minLevel decay } }
      ... on CompositeAwardRule { achievementIds minEarned }
    }
  }
}
"""
UPDATE = """
mutation($id: UUID!, $i: UpdateAchievementInput!) {
  updateAchievement(id: $id, input: $i) { ruleVersion rule awardMode awardRule { __typename } }
}
"""


def _input(rule: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Badge", "description": "d", "criteria": "c", **extra}
    if rule is not None:
        body["awardRule"] = rule
    return {"i": body}


async def test_graphql_typed_rule_input_and_output(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("awards:write", "awards:read")
    competency = str(portrait.competency_ids[0])
    evidence = {
        "evidence": {
            "competencyIds": [competency],
            "minLevel": {"title": "Proficient"},
            "minCount": 2,
            "requiredSources": [{"sources": ["RUBRIC", "EXHIBITION"]}],
            "mastery": {"method": "DECAYING_AVERAGE", "minLevel": {"id": str(portrait.level_ids[1])}},
        }
    }
    made = (await gql(CREATE, _input(evidence), h)).ok()["createAchievement"]
    assert made["awardRule"] == {
        "__typename": "EvidenceAwardRule",
        "competencyIds": [competency],
        "minLevel": 2,
        "minCount": 2,
        "requiredSources": [{"sources": ["RUBRIC", "EXHIBITION"], "min": 1}],
        "mastery": {"method": "DECAYING_AVERAGE", "minLevel": 1, "decay": 0.65},
    }
    # The JSON form shows the same rule with the REST document's keys.
    assert made["rule"]["min_level"] == 2 and made["rule"]["required_sources"][0]["sources"] == [
        "rubric",
        "exhibition",
    ]
    by_position = {"evidence": {"competencyIds": [competency], "minLevel": {"position": 3}}}
    second = (await gql(CREATE, _input(by_position), h)).ok()["createAchievement"]
    assert second["awardRule"]["minLevel"] == 3
    composite = {"composite": {"achievementIds": [made["id"], second["id"]], "minEarned": 1}}
    whole = (await gql(CREATE, _input(composite), h)).ok()["createAchievement"]
    assert whole["awardRule"] == {
        "__typename": "CompositeAwardRule",
        "achievementIds": [made["id"], second["id"]],
        "minEarned": 1,
    }
    assert whole["rule"] == {
        "type": "composite",
        "achievement_ids": [made["id"], second["id"]],
        "min_earned": 1,
    }

    # The JSON `rule` (snake_case) is still accepted; awardRule: null removes a rule.
    old = await gql(
        CREATE, {"i": {**_input()["i"], "rule": {"type": "evidence", "competency_ids": [competency]}}}, h
    )
    assert old.ok()["createAchievement"]["awardRule"]["__typename"] == "EvidenceAwardRule"
    removed = await gql(UPDATE, {"id": second["id"], "i": {"awardRule": None, "awardMode": "MANUAL"}}, h)
    assert removed.ok()["updateAchievement"] == {
        "ruleVersion": 2,
        "rule": {},
        "awardMode": "MANUAL",
        "awardRule": None,
    }
    changed = await gql(UPDATE, {"id": made["id"], "i": {"awardRule": by_position}}, h)
    assert changed.ok()["updateAchievement"]["ruleVersion"] == 2


async def test_graphql_rule_errors_name_the_typed_fields(
    gql: GraphQL, actors: Actors, portrait: PortraitFixture
) -> None:
    h = await actors.a.headers("awards:write", "awards:read")
    competency = str(portrait.competency_ids[0])
    cases = [
        ({"evidence": {"competencyIds": [competency], "minCount": 0}}, "input.awardRule.evidence.minCount"),
        (
            {"evidence": {"competencyIds": [competency], "minLevel": {"title": "Mastered"}}},
            "input.awardRule.evidence.minLevel",
        ),
        (
            {
                "evidence": {
                    "competencyIds": [competency],
                    "mastery": {"method": "MEAN", "minLevel": {"position": 1}},
                    "requiredSources": [{"sources": ["RUBRIC"], "min": 0}],
                }
            },
            "input.awardRule.evidence.requiredSources.0.min",
        ),
        ({"composite": {"achievementIds": [competency]}}, "input.awardRule.composite.achievementIds"),
    ]
    for rule, loc in cases:
        error = (await gql(CREATE, _input(rule), h)).error()
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert [e["loc"] for e in error["extensions"]["errors"]] == [loc], error
    both = await gql(
        CREATE,
        {"i": {**_input({"evidence": {"competencyIds": [competency]}})["i"], "rule": {"type": "evidence"}}},
        h,
    )
    assert [e["loc"] for e in both.error()["extensions"]["errors"]] == ["input.awardRule"]
    # @oneOf: exactly one kind, and exactly one way to name a level.
    two_kinds = {"evidence": {"competencyIds": [competency]}, "composite": {"achievementIds": [competency]}}
    assert (await gql(CREATE, _input(two_kinds), h)).errors
    two_refs = {
        "evidence": {"competencyIds": [competency], "minLevel": {"position": 1, "title": "Developing"}}
    }
    assert (await gql(CREATE, _input(two_refs), h)).errors
    listed = await gql("{ achievements { total } }", None, h)
    assert listed.ok()["achievements"]["total"] == 0
