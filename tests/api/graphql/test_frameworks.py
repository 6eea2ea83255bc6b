"""Frameworks over GraphQL: the whole tree in one request (constant statements), edits of drafts,
the lifecycle with its 409s, CASE import, scopes, bad input and isolation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import Database
from service.frameworks import demo_packages
from service.frameworks import tree as t
from service.frameworks.service import FrameworkService
from tests.api.graphql.conftest import GraphQL
from tests.api.graphql.test_dataloaders import count_statements
from tests.factories import Actors, District

TREE = """
query($id: UUID!) {
  framework(id: $id) {
    id title kind status version
    attributes {
      title foundational
      competencies {
        code title statement category launchSchoolYear lookFors
        gradeBands { band descriptor }
        descriptors { description level { title position } }
        attribute { title }
        parent { title }
        children { title }
      }
    }
    competencies { title framework { title } descriptors { level { title } } }
    levels { title position proficient }
    launchSchedule { schoolYear competencies { code } }
    previousVersion { id version }
    nextVersions { id version status }
  }
}
"""
CREATE = "mutation($i: CreateFrameworkInput!) { createFramework(input: $i) { id status kind title version } }"
ATTRIBUTE = """
mutation($f: UUID!, $i: CreateAttributeInput!) { addAttribute(frameworkId: $f, input: $i) { id title } }
"""
LEVEL = """
mutation($f: UUID!, $i: CreateRubricLevelInput!) {
  addRubricLevel(frameworkId: $f, input: $i) { id title position proficient }
}
"""
COMPETENCY = """
mutation($f: UUID!, $i: CreateCompetencyInput!) {
  addCompetency(frameworkId: $f, input: $i) { id code title attribute { title } parent { code } }
}
"""
DESCRIPTORS = """
mutation($f: UUID!, $c: UUID!, $i: [LevelDescriptorInput!]!) {
  setLevelDescriptors(frameworkId: $f, competencyId: $c, input: $i) { id description level { title } }
}
"""
UPDATE = """
mutation($id: UUID!, $i: UpdateFrameworkInput!) { updateFramework(id: $id, input: $i) { id title } }
"""
PUBLISH = "mutation($id: UUID!) { publishFramework(id: $id) { id status publishedAt } }"
RETIRE = "mutation($id: UUID!) { retireFramework(id: $id) { id status retiredAt } }"
NEW_VERSION = """
mutation($id: UUID!) {
  draftFrameworkVersion(id: $id) {
    id status version familyId previousVersion { id status }
    competencies { id title previousId descriptors { level { title } } }
  }
}
"""
IMPORT = """
mutation($p: JSON!, $replace: Boolean! = false) {
  importCasePackage(package: $p, replace: $replace) {
    replaced
    framework { id title kind status }
    report { items attributes competencies levels associations ignored warnings }
  }
}
"""


async def _write(gql: GraphQL, d: District, query: str, variables: dict[str, Any]) -> Any:
    return (await gql(query, variables, await d.headers("frameworks:write", "frameworks:read"))).ok()


async def _draft(gql: GraphQL, d: District) -> dict[str, Any]:
    """A draft: one attribute, a three-level rubric, a competency with a nested one, descriptors."""
    fw = (await _write(gql, d, CREATE, {"i": {"kind": "GRADUATE", "title": "Portrait of a Graduate"}}))[
        "createFramework"
    ]
    f = fw["id"]
    attr = (
        await _write(gql, d, ATTRIBUTE, {"f": f, "i": {"title": "Human-Centered", "foundational": True}})
    )["addAttribute"]
    levels = [
        (await _write(gql, d, LEVEL, {"f": f, "i": {"title": title, "proficient": title == "Proficient"}}))[
            "addRubricLevel"
        ]
        for title in ("Working Toward", "Proficient", "Extending")
    ]
    comp = (
        await _write(
            gql,
            d,
            COMPETENCY,
            {
                "f": f,
                "i": {
                    "title": "Collaborator",
                    "code": "C1",
                    "statement": "Works with others toward shared goals.",
                    "category": "TRANSFERABLE",
                    "attributeId": attr["id"],
                    "gradeBands": [
                        {"band": "K-2", "descriptor": "Takes turns."},
                        {"band": "9-12", "descriptor": "Leads teams."},
                    ],
                    "lookFors": ["Shares roles", "Builds on ideas"],
                    "launchSchoolYear": 2027,
                },
            },
        )
    )["addCompetency"]
    child = (
        await _write(
            gql,
            d,
            COMPETENCY,
            {
                "f": f,
                "i": {
                    "title": "Listens",
                    "code": "C1.1",
                    "statement": "Listens to understand.",
                    "parentId": comp["id"],
                    "attributeId": attr["id"],
                    "launchSchoolYear": 2026,
                },
            },
        )
    )["addCompetency"]
    assert child["parent"] == {"code": "C1"} and child["attribute"] == {"title": "Human-Centered"}
    # Given highest level first: the answer (and the tree) lists them by rubric position.
    descriptors = (
        await _write(
            gql,
            d,
            DESCRIPTORS,
            {
                "f": f,
                "c": comp["id"],
                "i": [
                    {"levelId": lv["id"], "description": f"{lv['title']} teamwork"} for lv in reversed(levels)
                ],
            },
        )
    )["setLevelDescriptors"]
    assert {x["level"]["title"] for x in descriptors} == {"Working Toward", "Proficient", "Extending"}
    return {"id": f, "attribute": attr, "levels": levels, "competency": comp, "child": child}


async def test_whole_tree_in_one_request(gql: GraphQL, actors: Actors) -> None:
    made = await _draft(gql, actors.a)
    fw = (await gql(TREE, {"id": made["id"]}, await actors.a.headers("frameworks:read"))).ok()["framework"]
    assert (fw["title"], fw["kind"], fw["status"], fw["version"]) == (
        "Portrait of a Graduate",
        "GRADUATE",
        "DRAFT",
        "1",
    )
    assert [lv["title"] for lv in fw["levels"]] == ["Working Toward", "Proficient", "Extending"]
    assert [lv["proficient"] for lv in fw["levels"]] == [False, True, False]
    [attr] = fw["attributes"]
    assert attr["title"] == "Human-Centered" and attr["foundational"] is True
    parent, child = attr["competencies"]
    assert parent["code"] == "C1" and parent["category"] == "TRANSFERABLE"
    assert parent["gradeBands"] == [
        {"band": "K-2", "descriptor": "Takes turns."},
        {"band": "9-12", "descriptor": "Leads teams."},
    ]
    assert parent["lookFors"] == ["Shares roles", "Builds on ideas"]
    assert [x["description"] for x in parent["descriptors"]] == [
        "Working Toward teamwork",
        "Proficient teamwork",
        "Extending teamwork",
    ]
    assert [x["level"]["position"] for x in parent["descriptors"]] == [0, 1, 2]
    assert parent["children"] == [{"title": "Listens"}] and parent["parent"] is None
    assert child["parent"] == {"title": "Collaborator"} and child["descriptors"] == []
    assert fw["launchSchedule"] == [
        {"schoolYear": 2026, "competencies": [{"code": "C1.1"}]},
        {"schoolYear": 2027, "competencies": [{"code": "C1"}]},
    ]
    assert all(c["framework"]["title"] == "Portrait of a Graduate" for c in fw["competencies"])
    assert fw["previousVersion"] is None and fw["nextVersions"] == []


async def test_lifecycle_publish_freezes_new_version_retire(gql: GraphQL, actors: Actors) -> None:
    made = await _draft(gql, actors.a)
    f = made["id"]
    published = (await _write(gql, actors.a, PUBLISH, {"id": f}))["publishFramework"]
    assert published["status"] == "PUBLISHED" and published["publishedAt"]

    # Every edit of a published version is a 409 framework_frozen, and nothing changes.
    headers = await actors.a.headers("frameworks:write", "frameworks:read")
    edits: list[tuple[str, dict[str, Any]]] = [
        (UPDATE, {"id": f, "i": {"title": "Changed"}}),
        (ATTRIBUTE, {"f": f, "i": {"title": "Late"}}),
        (LEVEL, {"f": f, "i": {"title": "Late"}}),
        (COMPETENCY, {"f": f, "i": {"title": "Late", "statement": "Late."}}),
        (DESCRIPTORS, {"f": f, "c": made["competency"]["id"], "i": []}),
    ]
    for query, variables in edits:
        result = await gql(query, variables, headers)
        error = result.error()
        assert result.data is None
        assert error["extensions"]["code"] == "CONFLICT" and error["extensions"]["status"] == 409, error
        assert "published" in error["message"]
    again = (await gql(PUBLISH, {"id": f}, headers)).error()
    assert again["extensions"]["code"] == "CONFLICT"

    draft = (await _write(gql, actors.a, NEW_VERSION, {"id": f}))["draftFrameworkVersion"]
    assert draft["status"] == "DRAFT" and draft["version"] == "2"
    assert draft["previousVersion"] == {"id": f, "status": "PUBLISHED"}
    assert draft["familyId"] == f
    old_ids = {made["competency"]["id"], made["child"]["id"]}
    assert {c["previousId"] for c in draft["competencies"]} == old_ids
    assert {c["id"] for c in draft["competencies"]}.isdisjoint(old_ids)
    copied = next(c for c in draft["competencies"] if c["title"] == "Collaborator")
    assert [x["level"]["title"] for x in copied["descriptors"]] == [
        "Working Toward",
        "Proficient",
        "Extending",
    ]
    # The draft is editable.
    renamed = await _write(gql, actors.a, UPDATE, {"id": draft["id"], "i": {"title": "Portrait v2"}})
    assert renamed["updateFramework"]["title"] == "Portrait v2"

    retired = (await _write(gql, actors.a, RETIRE, {"id": f}))["retireFramework"]
    assert retired["status"] == "RETIRED" and retired["retiredAt"]
    fw = (await gql(TREE, {"id": f}, headers)).ok()["framework"]
    assert fw["status"] == "RETIRED" and len(fw["competencies"]) == 2
    assert fw["nextVersions"] == [{"id": draft["id"], "version": "2", "status": "DRAFT"}]

    listed = (
        await gql(
            "query($k: FrameworkKind, $s: FrameworkStatus) "
            "{ frameworks(kind: $k, status: $s) { total items { id title } } }",
            {"k": "GRADUATE", "s": "DRAFT"},
            headers,
        )
    ).ok()["frameworks"]
    assert listed["total"] == 1 and listed["items"] == [{"id": draft["id"], "title": "Portrait v2"}]
    leaders = (await gql("{ frameworks(kind: LEADER) { total } }", None, headers)).ok()
    assert leaders["frameworks"]["total"] == 0


async def test_edits_update_and_delete_nodes(gql: GraphQL, actors: Actors) -> None:
    made = await _draft(gql, actors.a)
    f = made["id"]
    headers = await actors.a.headers("frameworks:write", "frameworks:read")
    level = made["levels"][2]
    data = (
        await gql(
            """
            mutation($f: UUID!, $a: UUID!, $c: UUID!, $l: UUID!) {
              updateAttribute(frameworkId: $f, id: $a, input: {title: "People", code: "HC"}) { title code }
              updateCompetency(frameworkId: $f, id: $c, input: {title: "Teamwork", lookFors: ["Shares"]}) {
                title lookFors
              }
              updateRubricLevel(frameworkId: $f, id: $l, input: {title: "Beyond", score: 4}) { title score }
            }
            """,
            {"f": f, "a": made["attribute"]["id"], "c": made["competency"]["id"], "l": level["id"]},
            headers,
        )
    ).ok()
    assert data["updateAttribute"] == {"title": "People", "code": "HC"}
    assert data["updateCompetency"] == {"title": "Teamwork", "lookFors": ["Shares"]}
    assert data["updateRubricLevel"] == {"title": "Beyond", "score": 4.0}

    # The attribute still groups competencies: a 409 naming why, and the request keeps nothing.
    blocked = await gql(
        "mutation($f: UUID!, $a: UUID!) { deleteAttribute(frameworkId: $f, id: $a) }",
        {"f": f, "a": made["attribute"]["id"]},
        headers,
    )
    assert blocked.error()["extensions"]["code"] == "CONFLICT"
    deleted = (
        await gql(
            """
            mutation($f: UUID!, $child: UUID!, $l: UUID!) {
              deleteCompetency(frameworkId: $f, id: $child)
              deleteRubricLevel(frameworkId: $f, id: $l)
            }
            """,
            {"f": f, "child": made["child"]["id"], "l": level["id"]},
            headers,
        )
    ).ok()
    assert deleted == {"deleteCompetency": made["child"]["id"], "deleteRubricLevel": level["id"]}
    fw = (await gql(TREE, {"id": f}, headers)).ok()["framework"]
    assert [c["title"] for c in fw["competencies"]] == ["Teamwork"]
    assert [lv["title"] for lv in fw["levels"]] == ["Working Toward", "Proficient"]
    assert len(fw["competencies"][0]["descriptors"]) == 2
    gone = (await gql("mutation($id: UUID!) { deleteFramework(id: $id) }", {"id": f}, headers)).ok()
    assert gone == {"deleteFramework": f}
    missing = await gql(TREE, {"id": f}, headers)
    assert missing.error()["extensions"]["code"] == "NOT_FOUND"


async def test_case_import_and_its_errors(gql: GraphQL, actors: Actors) -> None:
    package = demo_packages.load("portrait_of_a_leader")
    data = (await _write(gql, actors.a, IMPORT, {"p": package}))["importCasePackage"]
    assert data["framework"]["id"] == package["CFDocument"]["identifier"]
    assert data["framework"]["kind"] == "LEADER" and data["replaced"] is False
    assert data["report"]["attributes"] == 5 and data["report"]["competencies"] == 17
    assert data["report"]["levels"] == 3

    headers = await actors.a.headers("frameworks:write", "frameworks:read")
    again = (await gql(IMPORT, {"p": package}, headers)).error()
    assert again["extensions"]["code"] == "CONFLICT"

    # A package it cannot use: every problem named, nothing written.
    bad = dict(package, CFItems=[*package["CFItems"], package["CFItems"][0]], CFDocument={"title": 5})
    error = (await gql(IMPORT, {"p": bad}, headers)).error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["errors"], error
    not_object = (await gql(IMPORT, {"p": [1, 2]}, headers)).error()
    assert not_object["extensions"]["code"] == "BAD_USER_INPUT"
    listed = (await gql("{ frameworks { total } }", None, headers)).ok()
    assert listed["frameworks"]["total"] == 1


def _big_tree(attributes: int, per_attribute: int, levels: int) -> t.FrameworkTree:
    level_nodes = [t.LevelNode(uuid.uuid4(), i, f"Level {i}", proficient=i == 1) for i in range(levels)]
    tree = t.FrameworkTree(id=uuid.uuid4(), kind="graduate", title="Big portrait", levels=level_nodes)
    for a in range(attributes):
        attr = t.AttributeNode(uuid.uuid4(), f"Attribute {a}", position=a)
        tree.attributes.append(attr)
        parent: uuid.UUID | None = None
        for c in range(per_attribute):
            node = t.CompetencyNode(
                uuid.uuid4(),
                f"Competency {a}.{c}",
                f"Statement {a}.{c}",
                code=f"C{a}.{c}",
                attribute_id=attr.id,
                parent_id=parent if c % 2 else None,
                position=c,
                grade_bands=[t.GradeBand(b, f"{b} {a}.{c}") for b in ("K-2", "3-5", "6-8", "9-12")],
                look_fors=["one", "two"],
                launch_school_year=2026 + c % 4,
                descriptors=[
                    t.DescriptorNode(uuid.uuid4(), lv.id, f"{lv.title} {a}.{c}") for lv in level_nodes
                ],
            )
            tree.competencies.append(node)
            parent = node.id
    return tree


async def test_statement_count_is_the_same_for_a_small_and_a_large_tree(
    gql: GraphQL, actors: Actors, session: AsyncSession, db: Database
) -> None:
    """The demo Portrait of a Leader (22 items) and a generated 10 x 20 competency tree with a
    6-level rubric (1,200 descriptors) cost exactly the same statements."""
    headers = await actors.a.headers("frameworks:read", "frameworks:write")
    leader = await _write(gql, actors.a, IMPORT, {"p": demo_packages.load("portrait_of_a_leader")})
    small_id = leader["importCasePackage"]["framework"]["id"]
    big = _big_tree(10, 20, 6)
    await FrameworkService(session, actors.a.tenant.id).save_tree(big)
    await session.commit()

    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for name, framework_id in (("small", small_id), ("big", str(big.id))):
        with count_statements(db) as statements:
            fw = (await gql(TREE, {"id": framework_id}, headers)).ok()["framework"]
        counts[name] = len(statements)
        sizes[name] = sum(len(c["descriptors"]) for a in fw["attributes"] for c in a["competencies"])
    assert sizes == {"small": sizes["small"], "big": 1200}
    assert len(fw["competencies"]) == 200 and len(fw["levels"]) == 6
    assert fw["attributes"][3]["competencies"][1]["parent"]["title"] == "Competency 3.0"
    assert counts["small"] == counts["big"], counts
    # auth + framework + one statement per kind of link (attributes, competencies, descriptors,
    # levels, parents, next versions): a handful, nowhere near one per node.
    assert counts["big"] <= 15, counts


async def test_scopes_isolation_and_bad_input(gql: GraphQL, actors: Actors) -> None:
    made = await _draft(gql, actors.a)
    f = made["id"]
    read_only = await actors.a.headers("frameworks:read")
    forbidden = (await gql(UPDATE, {"id": f, "i": {"title": "x"}}, read_only)).error()
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    anonymous = (await gql(TREE, {"id": f})).error()
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    wrong_scope = (await gql(TREE, {"id": f}, await actors.a.headers("roster:read"))).error()
    assert wrong_scope["extensions"]["code"] == "FORBIDDEN"

    # District B sees none of A's framework, by id, in lists, or through mutations.
    b = await actors.b.headers("frameworks:read", "frameworks:write")
    assert (await gql(TREE, {"id": f}, b)).error()["extensions"]["code"] == "NOT_FOUND"
    assert (await gql("{ frameworks { total } }", None, b)).ok()["frameworks"]["total"] == 0
    for query, variables in (
        (UPDATE, {"id": f, "i": {"title": "taken"}}),
        (PUBLISH, {"id": f}),
        (ATTRIBUTE, {"f": f, "i": {"title": "x"}}),
        (DESCRIPTORS, {"f": f, "c": made["competency"]["id"], "i": []}),
    ):
        assert (await gql(query, variables, b)).error()["extensions"]["code"] == "NOT_FOUND"
    b_draft = (await _write(gql, actors.b, CREATE, {"i": {"kind": "SELF", "title": "B"}}))["createFramework"]
    # A's attribute as the attribute of a competency of B's framework: a named field, not a leak.
    cross = (
        await gql(
            COMPETENCY,
            {
                "f": b_draft["id"],
                "i": {"title": "x", "statement": "y", "attributeId": made["attribute"]["id"]},
            },
            b,
        )
    ).error()
    assert cross["extensions"]["code"] == "BAD_USER_INPUT"
    assert cross["extensions"]["errors"][0]["loc"] == "input.attributeId"

    w = await actors.a.headers("frameworks:write", "frameworks:read")
    empty_title = (await gql(CREATE, {"i": {"kind": "GRADUATE", "title": ""}}, w)).error()
    assert empty_title["extensions"]["code"] == "BAD_USER_INPUT"
    assert [e["loc"] for e in empty_title["extensions"]["errors"]] == ["input.title"]
    long_year = (
        await gql(COMPETENCY, {"f": f, "i": {"title": "x", "statement": "y", "launchSchoolYear": 99999}}, w)
    ).error()
    assert long_year["extensions"]["errors"][0]["loc"] == "input.launchSchoolYear"
    cycle = (
        await gql(
            "mutation($f: UUID!, $c: UUID!, $p: UUID!) "
            "{ updateCompetency(frameworkId: $f, id: $c, input: {parentId: $p}) { id } }",
            {"f": f, "c": made["competency"]["id"], "p": made["child"]["id"]},
            w,
        )
    ).error()
    assert cycle["extensions"]["code"] == "BAD_USER_INPUT"
    assert cycle["extensions"]["errors"][0]["loc"] == "input.parentId"
    unknown_level = (
        await gql(
            DESCRIPTORS,
            {
                "f": f,
                "c": made["competency"]["id"],
                "i": [{"levelId": str(uuid.uuid4()), "description": "x"}],
            },
            w,
        )
    ).error()
    assert unknown_level["extensions"]["code"] == "BAD_USER_INPUT"
    assert unknown_level["extensions"]["errors"][0]["loc"] == "input.0.levelId"
    too_many = (
        await gql(
            DESCRIPTORS,
            {
                "f": f,
                "c": made["competency"]["id"],
                "i": [{"levelId": made["levels"][0]["id"], "description": "x"}] * 101,
            },
            w,
        )
    ).error()
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"
    bad_version = (
        await gql('mutation($id: UUID!) { draftFrameworkVersion(id: $id, version: "") { id } }', {"id": f}, w)
    ).error()
    assert bad_version["extensions"]["code"] == "BAD_USER_INPUT"
    bad_page = (await gql("{ frameworks(limit: 0) { total } }", None, w)).error()
    assert bad_page["extensions"]["code"] == "BAD_USER_INPUT"
    # None of the failed writes left anything behind.
    fw = (await gql(TREE, {"id": f}, w)).ok()["framework"]
    assert len(fw["competencies"]) == 2 and fw["title"] == "Portrait of a Graduate"


async def test_nul_characters_and_case_problems_are_named_fields(gql: GraphQL, actors: Actors) -> None:
    """PostgreSQL cannot store U+0000: refused as a named field on both backends, never a 500."""
    w = await actors.a.headers("frameworks:write", "frameworks:read")
    nul = (await gql(CREATE, {"i": {"kind": "GRADUATE", "title": "a\u0000b"}}, w)).error()
    assert nul["extensions"]["code"] == "BAD_USER_INPUT", nul
    assert [e["loc"] for e in nul["extensions"]["errors"]] == ["input.title"]
    made = await _draft(gql, actors.a)
    in_list = (
        await gql(
            COMPETENCY,
            {"f": made["id"], "i": {"title": "x", "statement": "y", "lookFors": ["fine", "not\u0000fine"]}},
            w,
        )
    ).error()
    assert [e["loc"] for e in in_list["extensions"]["errors"]] == ["input.lookFors"]
    listed = (await gql("{ frameworks(limit: 5) { total } }", None, w)).ok()
    assert listed["frameworks"]["total"] == 1

    package = demo_packages.load("portrait_of_a_leader")
    items = [dict(item) for item in package["CFItems"]]
    items[2]["fullStatement"] = "Listens\u0000"
    error = (await gql(IMPORT, {"p": dict(package, CFItems=items)}, w)).error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert [e["loc"] for e in error["extensions"]["errors"]] == ["package"]
    # Problems inside the package are named by the package's own keys, under the argument.
    bad_id = dict(package, CFDocument=dict(package["CFDocument"], identifier="not-a-uuid"))
    error = (await gql(IMPORT, {"p": bad_id}, w)).error()
    assert "package.CFDocument.identifier" in [e["loc"] for e in error["extensions"]["errors"]], error
    assert (await gql("{ frameworks(limit: 5) { total } }", None, w)).ok()["frameworks"]["total"] == 1
