"""CASE 1.1 import and export, pure: round trips, official-schema validation, leniency and strictness.

Ground truth is the official CASE 1.1 JSON Schemas in tests/conformance/case, never our own output.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator, FormatChecker  # type: ignore[import-untyped]

from service.errors import ValidationFailedError
from service.frameworks import demo_packages
from service.frameworks.case import (
    CaseImportError,
    association_json,
    build_package,
    document_json,
    item_associations_json,
    item_json,
    item_type_id,
    item_types_json,
    parse_package,
    rubric_json,
)
from service.frameworks.tree import AttributeNode, CompetencyNode, FrameworkTree

CASE_DIR = Path(__file__).resolve().parents[1] / "conformance" / "case"
SCHEMAS = CASE_DIR / "jsonschema-v1p1"
BASE = "https://portrait.test"

# jsonschema checks "date-time" only with an optional package; RFC 3339 is checked here instead.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
)


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)  # type: ignore[untyped-decorator]
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _RFC3339.match(value):
            return False
        datetime.fromisoformat(value)
        return True

    assert {"uuid", "date"} <= set(checker.checkers)
    return checker


@cache
def validator(name: str) -> Draft201909Validator:
    schema = json.loads((SCHEMAS / f"case_v1p1_{name}-jsonschema1.json").read_text())
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=_format_checker())


def schema_errors(name: str, document: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(document)
    ]


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASE_DIR / "samples" / name).read_text())
    return data


def smart() -> dict[str, Any]:
    return sample("SmartLevelFramework.json")


def nodes_of(tree: FrameworkTree) -> list[AttributeNode | CompetencyNode]:
    return [*tree.attributes, *tree.competencies]


def round_trip(data: dict[str, Any]) -> tuple[FrameworkTree, FrameworkTree, dict[str, Any]]:
    first, _ = parse_package(data)
    exported = build_package(first, BASE)
    second, _ = parse_package(exported)
    return first, second, exported


SOURCES: dict[str, Callable[[], dict[str, Any]]] = {
    "SmartLevelFramework": smart,
    "Ordering": lambda: sample("Ordering.json"),
    "portrait_of_a_graduate": lambda: demo_packages.load("portrait_of_a_graduate"),
    "portrait_of_a_leader": lambda: demo_packages.load("portrait_of_a_leader"),
}


# -- round trips and schema validity ------------------------------------------------------------


@pytest.mark.parametrize("source", list(SOURCES), ids=list(SOURCES))
def test_export_validates_and_reimports_identically(source: str) -> None:
    first, second, exported = round_trip(SOURCES[source]())
    assert schema_errors("cfpackage", exported) == []
    assert asdict(second) == asdict(first)
    assert second == first
    # A second export of the re-imported tree is the same document.
    assert build_package(second, BASE) == exported


def test_smartlevel_tree() -> None:
    tree, report = parse_package(smart())
    by_title = {n.title: n for n in nodes_of(tree)}
    assert tree.id == uuid.UUID("d0000000-0000-0000-0000-000000000000")
    assert tree.title == "SmartLevel Test"
    assert tree.creator == "OpenSALT Testing"
    assert tree.last_change == datetime(2017, 9, 22, 23, 13, 54, tzinfo=UTC)
    assert [a.title for a in tree.attributes] == ["Item 1", "Item 2"]
    assert len(tree.competencies) == 12
    item1, item2 = by_title["Item 1"], by_title["Item 2"]
    assert item1.id == uuid.UUID("00000000-0000-0000-0000-000000000001")
    assert item1.association_id == uuid.UUID("a0000000-0000-0000-0000-000000000001")
    children_1 = [c.title for c in tree.competencies if c.attribute_id == item1.id]
    assert children_1 == [f"Item 1.{i}" for i in range(1, 11)]
    assert [c.title for c in tree.competencies if c.attribute_id == item2.id] == ["Item 2.1", "Item 2.2"]
    assert all(c.statement == c.title and c.parent_id is None for c in tree.competencies)
    positions = [n.position for n in sorted(nodes_of(tree), key=lambda n: n.position)]
    assert positions == sorted(set(positions))  # document order, no ties
    assert report.items == 14 and report.associations == 14
    assert report.ignored == []
    assert any("portraitKind" in w for w in report.warnings)  # kind defaulted to graduate
    assert tree.kind == "graduate"


def test_exported_package_shape() -> None:
    tree, _ = parse_package(smart())
    exported = build_package(tree, BASE + "/")
    doc = exported["CFDocument"]
    assert doc["uri"] == f"{BASE}/ims/case/v1p1/CFDocuments/{tree.id}"
    assert doc["caseVersion"] == "1.1"
    assert doc["extensions"]["portraitKind"] == "graduate"
    types = exported["CFDefinitions"]["CFItemTypes"]
    assert [t["title"] for t in types] == ["Attribute", "Competency"]
    assert types[0]["identifier"] == str(item_type_id(tree.id, "Attribute"))
    item = next(i for i in exported["CFItems"] if i["identifier"] == "00000000-0000-0000-0000-000000000003")
    assert item["uri"] == f"{BASE}/ims/case/v1p1/CFItems/{item['identifier']}"
    assert item["CFItemType"] == "Competency"
    assert item["CFItemTypeURI"]["uri"].startswith(f"{BASE}/ims/case/v1p1/CFItemTypes/")
    assoc = next(
        a for a in exported["CFAssociations"] if a["originNodeURI"]["identifier"] == item["identifier"]
    )
    assert assoc["associationType"] == "isChildOf"
    assert assoc["destinationNodeURI"]["identifier"] == "00000000-0000-0000-0000-000000000001"
    assert assoc["uri"] == f"{BASE}/ims/case/v1p1/CFAssociations/{assoc['identifier']}"
    assert isinstance(assoc["sequenceNumber"], int)
    assert "CFRubrics" not in exported  # no rubric in the sample, none invented


def test_identifiers_of_export_are_stable() -> None:
    tree, _ = parse_package(smart())
    assert build_package(tree, BASE) == build_package(tree, BASE)


# -- lenient import ------------------------------------------------------------------------------


def test_ordering_is_read_leniently_with_a_report() -> None:
    data = sample("Ordering.json")
    assert schema_errors("cfpackage", data) != []  # a CASE 1.0-style export, invalid as 1.1
    tree, report = parse_package(data)
    assert report.ignored, "the 1.0-style members must be reported"
    assert "CFDocument.CFPackageURI" in report.ignored
    assert "CFItems[*].CFDocumentURI (28)" in report.ignored
    assert "CFAssociations[*].CFDocumentURI (28)" in report.ignored
    assert report.items == 28
    assert [a.title for a in tree.attributes] == ["Geometry and Measurement"]
    assert len(tree.competencies) == 27
    nested = [c for c in tree.competencies if c.parent_id is not None]
    assert nested and all(c.attribute_id == tree.attributes[0].id for c in tree.competencies)
    plane = next(c for c in tree.competencies if c.code == "H.A.MATH.GM.PF")
    assert plane.title == "Plane Figures"
    assert plane.statement.startswith("Understanding properties")
    assert tree.description is None  # "" is no description
    assert sum(1 for c in tree.competencies if "notes" in c.extra) == 11  # kept for export
    exported = build_package(tree, BASE)
    assert schema_errors("cfpackage", exported) == []
    assert sum(1 for i in exported["CFItems"] if "notes" in i) == 11


def _tiny(**doc: Any) -> dict[str, Any]:
    """A small valid package: document, attribute A, competencies C1 (under A) and C2 (under C1)."""
    d, a, c1, c2 = (str(uuid.uuid4()) for _ in range(4))

    def link(ident: str, title: str = "x") -> dict[str, str]:
        return {"identifier": ident, "title": title, "uri": f"https://x.test/{ident}"}

    def item(ident: str, text: str, **more: Any) -> dict[str, Any]:
        return {
            "identifier": ident,
            "uri": f"https://x.test/{ident}",
            "fullStatement": text,
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
            **more,
        }

    def child(origin: str, dest: str, seq: int | None = None) -> dict[str, Any]:
        ident = str(uuid.uuid4())
        out: dict[str, Any] = {
            "identifier": ident,
            "uri": f"https://x.test/{ident}",
            "associationType": "isChildOf",
            "originNodeURI": link(origin),
            "destinationNodeURI": link(dest),
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
        }
        if seq is not None:
            out["sequenceNumber"] = seq
        return out

    return {
        "CFDocument": {
            "identifier": d,
            "uri": f"https://x.test/{d}",
            "title": "Portrait of a Learner",
            "creator": "Test District",
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
            **doc,
        },
        "CFItems": [item(a, "Attribute A"), item(c1, "Competency 1"), item(c2, "Competency 2")],
        "CFAssociations": [child(a, d, 1), child(c1, a, 1), child(c2, c1, 1)],
    }


def _ids(data: dict[str, Any]) -> list[str]:
    return [i["identifier"] for i in data["CFItems"]]


def test_tiny_package_structure() -> None:
    data = _tiny()
    a, c1, c2 = (uuid.UUID(i) for i in _ids(data))
    tree, report = parse_package(data)
    assert tree.kind == "learner"  # from the title
    assert [n.id for n in tree.attributes] == [a]
    comps = {c.id: c for c in tree.competencies}
    assert comps[c1].attribute_id == a and comps[c1].parent_id is None
    assert comps[c2].parent_id == c1 and comps[c2].attribute_id == a  # nested keep their attribute
    assert report.ignored == [] and report.warnings == []


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for item in data["CFItems"]:
            item.pop(key, None)

    return change


LENIENT: dict[str, tuple[Callable[[dict[str, Any]], object], str, str]] = {
    # name: (change, expected text in report.ignored (or ""), expected text in report.warnings (or ""))
    "uri without identifier": (_drop("identifier"), "", "without identifier: taken from its uri"),
    "no lastChangeDateTime": (_drop("lastChangeDateTime"), "", "CFItem without lastChangeDateTime (3)"),
    "unknown member": (
        lambda d: [i.update(colour="blue") for i in d["CFItems"]],
        "CFItems[*].colour (3)",
        "",
    ),
    "1.0-style CFDocumentURI": (
        lambda d: [i.update(CFDocumentURI={"identifier": "x"}) for i in d["CFItems"]],
        "CFItems[*].CFDocumentURI (3)",
        "",
    ),
    "unknown package member": (lambda d: d.update(CFWhatever=[1]), "CFWhatever", ""),
    "empty rubric": (
        lambda d: d.update(
            CFRubrics=[
                {"identifier": str(uuid.uuid4()), "uri": "https://x.test/r", "lastChangeDateTime": "x"}
            ]
        ),
        "",
        "CFRubric without criteria or levels",
    ),
    "orphan item": (lambda d: d["CFAssociations"].pop(0), "", "placed under the CFDocument"),
    "null members": (lambda d: d["CFItems"][0].update(notes=None, humanCodingScheme=None), "", ""),
    "unknown adoptionStatus": (
        lambda d: d["CFDocument"].update(adoptionStatus="Under Review"),
        "",
        "imported as draft",
    ),
}


@pytest.mark.parametrize("name", list(LENIENT), ids=list(LENIENT))
def test_lenient_import(name: str) -> None:
    change, ignored, warning = LENIENT[name]
    data = _tiny()
    change(data)
    tree, report = parse_package(data)
    assert len(tree.attributes) + len(tree.competencies) == 3
    if ignored:
        assert ignored in report.ignored, report.ignored
    if warning:
        assert any(warning in w for w in report.warnings), report.warnings
    assert schema_errors("cfpackage", build_package(tree, BASE)) == []


def test_identifier_taken_from_uri() -> None:
    data = _tiny()
    first = data["CFItems"][0]
    ident = first.pop("identifier")
    tree, _ = parse_package(data)
    assert uuid.UUID(ident) in {a.id for a in tree.attributes}


def test_other_associations_and_second_parents_are_kept() -> None:
    data = _tiny()
    a, c1, c2 = _ids(data)
    outside = str(uuid.uuid4())
    data["CFAssociations"] += [
        {
            "identifier": str(uuid.uuid4()),
            "uri": "https://x.test/e",
            "associationType": "exactMatchOf",
            "originNodeURI": {"identifier": c1, "title": "C1", "uri": "https://x.test/c1"},
            "destinationNodeURI": {
                "identifier": outside,
                "title": "Elsewhere",
                "uri": "https://other.test/i",
            },
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
            "notes": "same idea",
        },
        {
            "identifier": str(uuid.uuid4()),
            "uri": "https://x.test/p2",
            "associationType": "isChildOf",
            "originNodeURI": {"identifier": c2, "title": "C2", "uri": "https://x.test/c2"},
            "destinationNodeURI": {"identifier": a, "title": "A", "uri": "https://x.test/a"},
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
        },
    ]
    first, second, exported = round_trip(data)
    assert first == second
    assert len(first.extra["associations"]) == 2
    comps = {str(c.id): c for c in first.competencies}
    assert str(comps[c2].parent_id) == c1  # the first isChildOf places the item
    kinds = [x["associationType"] for x in exported["CFAssociations"]]
    assert kinds.count("exactMatchOf") == 1 and kinds.count("isChildOf") == 4
    match = next(x for x in exported["CFAssociations"] if x["associationType"] == "exactMatchOf")
    assert match["destinationNodeURI"]["uri"] == "https://other.test/i"
    assert match["originNodeURI"]["uri"] == f"{BASE}/ims/case/v1p1/CFItems/{c1}"
    assert match["notes"] == "same idea"
    assert schema_errors("cfpackage", exported) == []


def test_item_types_decide_roles_and_fold_grade_bands() -> None:
    data = _tiny()
    a, c1, _c2 = _ids(data)
    data["CFItems"][0]["CFItemType"] = "Domain"
    data["CFItems"][2]["CFItemType"] = "Competency"
    band, look = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = "2024-01-01T00:00:00Z"
    data["CFItems"] += [
        {
            "identifier": band,
            "uri": "u",
            "fullStatement": "Takes turns.",
            "abbreviatedStatement": "K-2",
            "CFItemType": "Grade Band Descriptor",
            "lastChangeDateTime": stamp,
        },
        {
            "identifier": look,
            "uri": "u",
            "fullStatement": "Invites a quiet peer in.",
            "CFItemType": "Look-for",
            "lastChangeDateTime": stamp,
        },
    ]
    for origin in (band, look):
        data["CFAssociations"].append(
            {
                "identifier": str(uuid.uuid4()),
                "uri": "u",
                "associationType": "isChildOf",
                "originNodeURI": {"identifier": origin, "title": "x", "uri": "u"},
                "destinationNodeURI": {"identifier": c1, "title": "x", "uri": "u"},
                "lastChangeDateTime": "2024-01-01T00:00:00Z",
            }
        )
    first, second, exported = round_trip(data)
    assert first == second
    comp = next(c for c in first.competencies if str(c.id) == c1)
    assert [(g.band, g.descriptor) for g in comp.grade_bands] == [("K-2", "Takes turns.")]
    assert comp.look_fors == ["Invites a quiet peer in."]
    assert [str(x.id) for x in first.attributes] == [a]
    assert first.attributes[0].extra["CFItemType"] == "Domain"  # given back on export
    assert len(first.competencies) == 2
    assert {i["CFItemType"] for i in exported["CFItems"]} == {"Domain", "Competency"}
    assert schema_errors("cfpackage", exported) == []


def test_rubric_levels_derived_from_criterion_levels() -> None:
    data = _tiny()
    _a, c1, c2 = _ids(data)

    def cells(comp: str) -> list[dict[str, Any]]:
        return [
            {
                "identifier": str(uuid.uuid4()),
                "uri": "u",
                "quality": quality,
                "score": score,
                "position": pos,
                "description": f"{quality} at {comp[:4]}",
                "lastChangeDateTime": "2024-01-01T00:00:00Z",
            }
            for pos, (quality, score) in enumerate([("Extending", 3), ("Proficient", 2), ("Emerging", 1)])
        ]

    data["CFRubrics"] = [
        {
            "identifier": str(uuid.uuid4()),
            "uri": "u",
            "title": "Scale",
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
            "CFRubricCriteria": [
                {
                    "identifier": str(uuid.uuid4()),
                    "uri": "u",
                    "CFItemURI": {"identifier": comp, "title": "x", "uri": "u"},
                    "lastChangeDateTime": "2024-01-01T00:00:00Z",
                    "CFRubricCriterionLevels": cells(comp),
                }
                for comp in (c1, c2)
            ],
        }
    ]
    first, second, exported = round_trip(data)
    assert first == second
    assert [(lv.position, lv.title, lv.score) for lv in first.levels] == [
        (0, "Emerging", 1.0),
        (1, "Proficient", 2.0),
        (2, "Extending", 3.0),
    ]
    assert [lv.proficient for lv in first.levels] == [False, True, False]
    comp = next(c for c in first.competencies if str(c.id) == c1)
    assert comp.criterion_id == uuid.UUID(data["CFRubrics"][0]["CFRubricCriteria"][0]["identifier"])
    assert [d.description for d in comp.descriptors] == [
        f"{q} at {c1[:4]}" for q in ("Emerging", "Proficient", "Extending")
    ]
    assert first.extra["rubric"] == {"title": "Scale"}
    assert schema_errors("cfpackage", exported) == []


# -- strict import -------------------------------------------------------------------------------


def _smart_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(smart())
    change(data)
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = re.findall(r"[A-Za-z]+|\d+", path)
        target: Any = data
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value

    return change


def _duplicate_item(data: dict[str, Any]) -> None:
    data["CFItems"][4]["identifier"] = data["CFItems"][3]["identifier"]


STRICT: dict[str, tuple[object, str, str]] = {
    # name: (package, loc of an expected error, its type)
    "not an object": ([1, 2], "body", "type_error"),
    "a string": ("CFPackage", "body", "type_error"),
    "missing CFDocument": (_smart_with(lambda d: d.pop("CFDocument")), "body.CFDocument", "missing"),
    "CFDocument not an object": (_smart_with(_set("CFDocument", [])), "body.CFDocument", "type_error"),
    "document without title": (
        _smart_with(lambda d: d["CFDocument"].pop("title")),
        "body.CFDocument.title",
        "missing",
    ),
    "bad uuid": (
        _smart_with(_set("CFItems.3.identifier", "item-3")),
        "body.CFItems[3].identifier",
        "invalid_uuid",
    ),
    "uuid of a wrong type": (
        _smart_with(_set("CFItems.3.identifier", 3)),
        "body.CFItems[3].identifier",
        "type_error",
    ),
    "duplicate item": (_smart_with(_duplicate_item), "body.CFItems[4].identifier", "duplicate"),
    "item reusing the document id": (
        _smart_with(_set("CFItems.0.identifier", "d0000000-0000-0000-0000-000000000000")),
        "body.CFItems[0].identifier",
        "duplicate",
    ),
    "isChildOf cycle": (
        # Item 1 made a child of its own child Item 1.1.
        _smart_with(
            _set("CFAssociations.0.destinationNodeURI.identifier", "00000000-0000-0000-0000-000000000003")
        ),
        "",
        "cycle",
    ),
    "own parent": (
        _smart_with(
            _set("CFAssociations.2.destinationNodeURI.identifier", "00000000-0000-0000-0000-000000000003")
        ),
        "body.CFAssociations[2]",
        "cycle",
    ),
    "dangling destination": (
        _smart_with(_set("CFAssociations.2.destinationNodeURI.identifier", str(uuid.uuid4()))),
        "body.CFAssociations[2].destinationNodeURI",
        "dangling",
    ),
    "dangling origin": (
        _smart_with(_set("CFAssociations.2.originNodeURI.identifier", str(uuid.uuid4()))),
        "body.CFAssociations[2].originNodeURI",
        "dangling",
    ),
    "statement of a wrong type": (
        _smart_with(_set("CFItems.0.fullStatement", 42)),
        "body.CFItems[0].fullStatement",
        "type_error",
    ),
    "CFItems not an array": (_smart_with(_set("CFItems", {"a": 1})), "body.CFItems", "type_error"),
    "item not an object": (_smart_with(_set("CFItems.1", "Item 2")), "body.CFItems[1]", "type_error"),
    "sequenceNumber a string": (
        _smart_with(_set("CFAssociations.1.sequenceNumber", "2")),
        "body.CFAssociations[1].sequenceNumber",
        "type_error",
    ),
    "subject not a list": (
        _smart_with(_set("CFDocument.subject", "Math")),
        "body.CFDocument.subject",
        "type_error",
    ),
    "bad portrait kind": (
        _smart_with(_set("CFDocument.extensions", {"portraitKind": "principal"})),
        "body.CFDocument.extensions.portraitKind",
        "invalid_choice",
    ),
    "bad grade bands": (
        _smart_with(_set("CFItems.2.extensions", {"portraitGradeBands": [{"band": "K-2"}]})),
        "body.CFItems[2].extensions.portraitGradeBands[0]",
        "type_error",
    ),
    "bad launch year": (
        _smart_with(_set("CFItems.2.extensions", {"portraitLaunchSchoolYear": "2026-27"})),
        "body.CFItems[2].extensions.portraitLaunchSchoolYear",
        "type_error",
    ),
    "code too long": (
        _smart_with(_set("CFItems.2.humanCodingScheme", "X" * 101)),
        "body.CFItems[2].humanCodingScheme",
        "too_long",
    ),
}


@pytest.mark.parametrize("name", list(STRICT), ids=list(STRICT))
def test_strict_import_rejects(name: str) -> None:
    data, loc, kind = STRICT[name]
    with pytest.raises(CaseImportError) as caught:
        parse_package(data)
    exc = caught.value
    assert isinstance(exc, ValidationFailedError)
    assert exc.status == 422 and exc.code == "invalid_case_package"
    assert exc.errors, "the problems must be listed"
    assert any(e.type == kind and (not loc or e.loc == loc) for e in exc.errors), exc.errors


def test_all_problems_are_listed() -> None:
    def break_many(data: dict[str, Any]) -> None:
        data["CFItems"][1]["identifier"] = "nope"
        data["CFItems"][5]["fullStatement"] = ["not", "text"]
        data["CFAssociations"][7]["destinationNodeURI"]["identifier"] = str(uuid.uuid4())
        data["CFDocument"]["language"] = 7

    with pytest.raises(CaseImportError) as caught:
        parse_package(_smart_with(break_many))
    locs = {e.loc for e in caught.value.errors}
    assert {
        "body.CFItems[1].identifier",
        "body.CFItems[5].fullStatement",
        "body.CFAssociations[7].destinationNodeURI",
        "body.CFDocument.language",
    } <= locs


def test_error_list_is_capped() -> None:
    data = smart()
    data["CFItems"] = [{"identifier": f"bad-{i}", "fullStatement": "x"} for i in range(500)]
    data["CFAssociations"] = []
    with pytest.raises(CaseImportError) as caught:
        parse_package(data)
    assert len(caught.value.errors) == 100
    assert "500 problem(s)" in caught.value.detail


def test_package_of_100k_items_is_refused_before_building() -> None:
    doc = smart()["CFDocument"]
    items = [
        {"identifier": str(uuid.UUID(int=i)), "uri": "u", "fullStatement": f"Item {i}"}
        for i in range(100_001)
    ]
    with pytest.raises(CaseImportError) as caught:
        parse_package({"CFDocument": doc, "CFItems": items})
    assert [(e.loc, e.type) for e in caught.value.errors] == [("body.CFItems", "too_many")]


@pytest.mark.parametrize(
    ("key", "count", "limits"),
    [
        ("CFItems", 11, {"max_items": 10}),
        ("CFAssociations", 11, {"max_associations": 10}),
    ],
)
def test_size_limits(key: str, count: int, limits: dict[str, int]) -> None:
    data = {"CFDocument": smart()["CFDocument"], key: [{} for _ in range(count)]}
    with pytest.raises(CaseImportError) as caught:
        parse_package(data, **limits)
    assert caught.value.errors[0].loc == f"body.{key}"


def test_large_valid_package_imports() -> None:
    doc = smart()["CFDocument"]
    n = 5_000
    items = [{"identifier": str(uuid.UUID(int=i + 1)), "fullStatement": f"Item {i}"} for i in range(n)]
    assocs = [
        {
            "identifier": str(uuid.UUID(int=10**9 + i)),
            "associationType": "isChildOf",
            "originNodeURI": {"identifier": str(uuid.UUID(int=i + 1))},
            "destinationNodeURI": {
                "identifier": doc["identifier"] if i < 10 else str(uuid.UUID(int=i // 10))
            },
        }
        for i in range(n)
    ]
    tree, report = parse_package({"CFDocument": doc, "CFItems": items, "CFAssociations": assocs})
    assert report.items == n
    assert len(tree.attributes) == 10 and len(tree.competencies) == n - 10


# -- Portrait data through CASE extensions ------------------------------------------------------


def test_graduate_demo_package() -> None:
    data = demo_packages.load("portrait_of_a_graduate")
    assert schema_errors("cfpackage", data) == []
    tree, report = parse_package(data)
    assert report.ignored == [] and report.warnings == []
    assert (tree.kind, tree.title, tree.status) == ("graduate", "Portrait of a Graduate", "published")
    assert tree.adoption_date == date(2025, 6, 16)
    assert len(tree.attributes) == 3 and any(a.foundational for a in tree.attributes)
    titles = [c.title for c in tree.competencies]
    assert titles == [
        "Critical Thinker",
        "Effective Communicator",
        "Collaborator",
        "Creative Problem Solver",
        "Self-Directed Learner",
        "Engaged Citizen",
    ]
    assert [lv.title for lv in tree.levels] == ["Beginning", "Developing", "Proficient", "Extending"]
    assert [lv.title for lv in tree.levels if lv.proficient] == ["Proficient"]
    level_ids = [lv.id for lv in tree.levels]
    for comp in tree.competencies:
        assert [g.band for g in comp.grade_bands] == ["K-2", "3-5", "6-8", "9-12"]
        assert 2 <= len(comp.look_fors) <= 3
        assert comp.category in ("core", "transferable")
        assert [d.level_id for d in comp.descriptors] == level_ids
        assert comp.attribute_id in {a.id for a in tree.attributes}
    # The launch schedule: one competency a school year from 2025-26 (ending year 2026) on.
    assert sorted(c.launch_school_year or 0 for c in tree.competencies) == list(range(2026, 2032))


def test_leader_demo_package() -> None:
    data = demo_packages.load("portrait_of_a_leader.json")
    assert schema_errors("cfpackage", data) == []
    tree, report = parse_package(data)
    assert report.ignored == [] and report.warnings == []
    assert tree.kind == "leader"
    assert [a.title for a in tree.attributes] == [
        "Human-Centered",
        "Authentic",
        "Collaborative",
        "Advocate",
        "Transformational",
    ]
    assert [a.title for a in tree.attributes if a.foundational] == ["Human-Centered", "Transformational"]
    per_attribute = [sum(1 for c in tree.competencies if c.attribute_id == a.id) for a in tree.attributes]
    assert per_attribute == [4, 3, 3, 3, 4]
    assert [lv.title for lv in tree.levels] == ["Working Toward Proficiency", "Proficient", "Extending"]
    assert {c.title for c in tree.competencies} >= {
        "Engaging Voices",
        "Igniting Vision",
        "Modeling Commitments",
    }


def test_demo_loader_rejects_unknown_names() -> None:
    with pytest.raises(KeyError):
        demo_packages.load("portrait_of_a_dragon")


def test_portrait_fields_survive_a_round_trip() -> None:
    tree, _ = parse_package(demo_packages.load("portrait_of_a_graduate"))
    comp = tree.competencies[0]
    comp.grade_bands[1].descriptor = "Changed 3-5 descriptor"
    comp.look_fors.append("A new look-for")
    comp.launch_school_year = 2040
    comp.category = "technical"
    tree.attributes[1].foundational = True
    exported = build_package(tree, BASE)
    assert schema_errors("cfpackage", exported) == []
    item = next(i for i in exported["CFItems"] if i["identifier"] == str(comp.id))
    assert item["extensions"]["portraitLaunchSchoolYear"] == 2040
    back, _ = parse_package(exported)
    assert back == tree
    again = back.competencies[0]
    assert again.grade_bands[1].descriptor == "Changed 3-5 descriptor"
    assert again.look_fors[-1] == "A new look-for"
    assert (again.launch_school_year, again.category) == (2040, "technical")
    assert back.attributes[1].foundational


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Portrait of a Leader", "leader"),
        ("Portrait of an Educator", "educator"),
        ("Portrait of a Learner", "learner"),
        ("Portrait of a Graduate 2030", "graduate"),
        ("Portrait of a System", "system"),
        ("Portrait of Self", "self"),
        ("District Learner-Centered Leadership Portrait", "leader"),
        ("Teacher Competencies", "educator"),
    ],
)
def test_kind_from_title(title: str, kind: str) -> None:
    tree, report = parse_package(_tiny(title=title))
    assert tree.kind == kind
    assert not any("portraitKind" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("adoption", "status", "exported"),
    [
        ("Draft", "draft", "Draft"),
        ("Private Draft", "draft", "Private Draft"),
        ("Adopted", "published", "Adopted"),
        ("Implemented", "published", "Implemented"),
        ("Deprecated", "retired", "Deprecated"),
        (None, "draft", "Draft"),
    ],
)
def test_adoption_status(adoption: str | None, status: str, exported: str) -> None:
    extra = {"adoptionStatus": adoption, "statusStartDate": "2024-08-01"} if adoption else {}
    tree, _ = parse_package(_tiny(**extra))
    assert tree.status == status
    doc = build_package(tree, BASE)["CFDocument"]
    assert doc["adoptionStatus"] == exported
    if adoption:
        assert tree.adoption_date == date(2024, 8, 1) and doc["statusStartDate"] == "2024-08-01"
    tree.status = "retired"  # a lifecycle change wins over the imported wording
    assert build_package(tree, BASE)["CFDocument"]["adoptionStatus"] == "Deprecated"


# -- single objects of the read API ----------------------------------------------------------------


@pytest.mark.parametrize("source", list(SOURCES), ids=list(SOURCES))
def test_single_objects_validate(source: str) -> None:
    tree, _ = parse_package(SOURCES[source]())
    assert schema_errors("cfdocument", document_json(tree, BASE)) == []
    assert schema_errors("cfdocumentset", {"CFDocuments": [document_json(tree, BASE)]}) == []
    for node in nodes_of(tree)[:8]:
        item = item_json(tree, node.id, BASE)
        assert item is not None and schema_errors("cfitem", item) == []
        assert item["CFDocumentURI"]["identifier"] == str(tree.id)
        assoc = association_json(tree, node.association_id, BASE)
        assert assoc is not None and schema_errors("cfassociation", assoc) == []
        assert assoc["originNodeURI"]["identifier"] == str(node.id)
        both = item_associations_json(tree, node.id, BASE)
        assert both is not None and schema_errors("cfassociationset", both) == []
        assert both["CFAssociations"]
    for name in ("Attribute", "Competency"):
        types = item_types_json(tree, item_type_id(tree.id, name), BASE)
        if types is not None:
            assert schema_errors("cfitemtypeset", types) == []
    rubric = rubric_json(tree, BASE)
    if tree.levels:
        assert rubric is not None and schema_errors("cfrubric", rubric) == []
    assert item_json(tree, uuid.uuid4(), BASE) is None
    assert association_json(tree, uuid.uuid4(), BASE) is None


def test_package_without_document_lists_only_real_problems() -> None:
    data = smart()
    data.pop("CFDocument")
    data["CFItems"][0]["fullStatement"] = 1
    with pytest.raises(CaseImportError) as caught:
        parse_package(data)
    # Root links are not reported as dangling just because the document is missing.
    assert {(e.loc, e.type) for e in caught.value.errors} == {
        ("body.CFDocument", "missing"),
        ("body.CFItems[0].fullStatement", "type_error"),
    }


def test_export_tolerates_odd_extras() -> None:
    tree, _ = parse_package(smart())
    tree.extra = {"document": "x", "associations": [{"identifier": 1}, "y"], "rubric": []}
    tree.attributes[0].extra = {"extensions": "z", "CFItemType": 5}
    assert schema_errors("cfpackage", build_package(tree, BASE)) == []
