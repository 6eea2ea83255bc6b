"""CASE 1.1 read API: every route, official-schema validation, imsx_StatusInfo errors, tenant isolation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.rest import ims_case
from service.frameworks import demo_packages
from service.frameworks.case import item_type_id, parse_package
from service.frameworks.service import FrameworkService
from service.frameworks.tree import FrameworkTree
from tests.factories import Actors
from tests.frameworks.test_case_mapping import sample, schema_errors

API = "/ims/case/v1p1"


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The application with the CASE router (mounted here too until service.app includes it)."""
    if not any(getattr(route, "path", "").startswith(API) for route in app.routes):
        app.include_router(ims_case.router)
    return app


async def imported(session: AsyncSession, tenant_id: uuid.UUID, package: dict[str, Any]) -> FrameworkTree:
    tree, _report = parse_package(package)
    await FrameworkService(session, tenant_id).save_tree(tree)
    await session.commit()  # releases the test's savepoint: failing requests roll back only their own work
    return tree


def assert_imsx(response: httpx.Response, status: int, minor: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert schema_errors("imsx_statusinfo", body) == []
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    values = [f["imsx_codeMinorFieldValue"] for f in body["imsx_codeMinor"]["imsx_codeMinorField"]]
    assert minor in values, body
    return body


def _without_timestamps(tree: FrameworkTree) -> FrameworkTree:
    return replace(tree, last_change=None)


async def test_every_route_serves_valid_case(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    tree = await imported(session, actors.a.tenant.id, demo_packages.load("portrait_of_a_graduate"))
    h = await actors.a.headers("frameworks:read")
    comp, attr = tree.competencies[0], tree.attributes[0]

    listing = await http.get(f"{API}/CFDocuments", headers=h)
    assert listing.status_code == 200, listing.text
    assert schema_errors("cfdocumentset", listing.json()) == []
    assert [d["identifier"] for d in listing.json()["CFDocuments"]] == [str(tree.id)]
    assert listing.headers["X-Total-Count"] == "1"

    doc = await http.get(f"{API}/CFDocuments/{tree.id}", headers=h)
    assert doc.status_code == 200, doc.text
    assert schema_errors("cfdocument", doc.json()) == []
    assert doc.json()["title"] == "Portrait of a Graduate"
    assert doc.json()["CFPackageURI"]["uri"] == f"https://portrait.test{API}/CFPackages/{tree.id}"

    package = await http.get(f"{API}/CFPackages/{tree.id}", headers=h)
    assert package.status_code == 200, package.text
    assert schema_errors("cfpackage", package.json()) == []
    served, report = parse_package(package.json())
    assert report.ignored == []
    assert _without_timestamps(served) == _without_timestamps(tree)

    for node in (comp, attr):
        item = await http.get(f"{API}/CFItems/{node.id}", headers=h)
        assert item.status_code == 200, item.text
        assert schema_errors("cfitem", item.json()) == []
        assert item.json()["identifier"] == str(node.id)
    assert (await http.get(f"{API}/CFItems/{comp.id}", headers=h)).json()["extensions"]["portraitGradeBands"][
        0
    ]["band"] == "K-2"

    assoc = await http.get(f"{API}/CFAssociations/{comp.association_id}", headers=h)
    assert assoc.status_code == 200, assoc.text
    assert schema_errors("cfassociation", assoc.json()) == []
    assert assoc.json()["destinationNodeURI"]["identifier"] == str(comp.attribute_id)

    both = await http.get(f"{API}/CFItemAssociations/{attr.id}", headers=h)
    assert both.status_code == 200, both.text
    assert schema_errors("cfassociationset", both.json()) == []
    children = [c for c in tree.competencies if c.attribute_id == attr.id]
    assert len(both.json()["CFAssociations"]) == 1 + len(children)

    rubric = await http.get(f"{API}/CFRubrics/{tree.rubric_id}", headers=h)
    assert rubric.status_code == 200, rubric.text
    assert schema_errors("cfrubric", rubric.json()) == []
    assert len(rubric.json()["CFRubricCriteria"]) == len(tree.competencies)

    types = await http.get(f"{API}/CFItemTypes/{item_type_id(tree.id, 'Competency')}", headers=h)
    assert types.status_code == 200, types.text
    assert schema_errors("cfitemtypeset", types.json()) == []
    assert types.json()["CFItemTypes"][0]["title"] == "Competency"


async def test_smartlevel_round_trip_through_the_database(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    tree = await imported(session, actors.a.tenant.id, sample("SmartLevelFramework.json"))
    h = await actors.a.headers("frameworks:read")
    package = (await http.get(f"{API}/CFPackages/{tree.id}", headers=h)).json()
    assert schema_errors("cfpackage", package) == []
    again, _ = parse_package(package)
    assert _without_timestamps(again) == _without_timestamps(tree)


async def test_kept_associations_are_served(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    data = sample("SmartLevelFramework.json")
    extra_id = str(uuid.uuid4())
    data["CFAssociations"].append(
        {
            "identifier": extra_id,
            "uri": "https://elsewhere.test/a",
            "associationType": "isRelatedTo",
            "originNodeURI": {"identifier": data["CFItems"][2]["identifier"], "title": "1.1", "uri": "u"},
            "destinationNodeURI": {
                "identifier": data["CFItems"][3]["identifier"],
                "title": "1.2",
                "uri": "u",
            },
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
        }
    )
    await imported(session, actors.a.tenant.id, data)
    h = await actors.a.headers("frameworks:read")
    response = await http.get(f"{API}/CFAssociations/{extra_id}", headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["associationType"] == "isRelatedTo"
    assert schema_errors("cfassociation", response.json()) == []


ROUTES = [
    "CFDocuments",
    "CFPackages",
    "CFItems",
    "CFAssociations",
    "CFItemAssociations",
    "CFRubrics",
    "CFItemTypes",
]


@pytest.mark.parametrize("route", ROUTES)
async def test_unknown_ids_are_404_imsx(http: httpx.AsyncClient, actors: Actors, route: str) -> None:
    h = await actors.a.headers("frameworks:read")
    body = assert_imsx(await http.get(f"{API}/{route}/{uuid.uuid4()}", headers=h), 404, "unknownobject")
    assert "not found" in body["imsx_description"]


async def test_malformed_ids_are_400_imsx(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("frameworks:read")
    assert_imsx(await http.get(f"{API}/CFItems/not-a-uuid", headers=h), 400, "invalid_uuid")


async def test_unknown_case_path_is_404_imsx(http: httpx.AsyncClient) -> None:
    assert_imsx(await http.get(f"{API}/CFWhatever/x"), 404, "unknownobject")


@pytest.mark.parametrize("route", ["CFDocuments", *[f"{r}/{uuid.uuid4()}" for r in ROUTES if r != "CFItems"]])
async def test_without_token_401_imsx(http: httpx.AsyncClient, route: str) -> None:
    response = await http.get(f"{API}/{route}")
    assert_imsx(response, 401, "unauthorised_request")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_cf_items_of_published_frameworks_are_public(http: httpx.AsyncClient) -> None:
    # Badges align to CFItems by URL: without a token only published frameworks' items answer (see
    # tests/web/test_live_links.py); anything else is an unknown object, not a hint that it exists.
    assert_imsx(await http.get(f"{API}/CFItems/{uuid.uuid4()}"), 404, "unknownobject")


async def test_bad_token_401_imsx(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{API}/CFDocuments", headers={"Authorization": "Bearer nope"})
    assert_imsx(response, 401, "unauthorised_request")


async def test_without_frameworks_read_403_imsx(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("roster:read")
    assert_imsx(await http.get(f"{API}/CFDocuments", headers=h), 403, "forbidden")
    assert_imsx(await http.get(f"{API}/CFPackages/{uuid.uuid4()}", headers=h), 403, "forbidden")


async def test_write_scope_implies_read(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("frameworks:write")
    assert (await http.get(f"{API}/CFDocuments", headers=h)).status_code == 200


async def test_own_api_keeps_problem_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/frameworks")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_districts_cannot_read_each_other(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    leader = await imported(session, actors.a.tenant.id, demo_packages.load("portrait_of_a_leader"))
    # Both districts may hold the same package (identifiers are per district).
    graduate = await imported(session, actors.a.tenant.id, demo_packages.load("portrait_of_a_graduate"))
    await imported(session, actors.b.tenant.id, demo_packages.load("portrait_of_a_graduate"))
    hb = await actors.b.headers("frameworks:read")
    for path in (
        f"CFDocuments/{leader.id}",
        f"CFPackages/{leader.id}",
        f"CFItems/{leader.competencies[0].id}",
        f"CFAssociations/{leader.competencies[0].association_id}",
        f"CFItemAssociations/{leader.attributes[0].id}",
        f"CFRubrics/{leader.rubric_id}",
        f"CFItemTypes/{item_type_id(leader.id, 'Attribute')}",
    ):
        assert_imsx(await http.get(f"{API}/{path}", headers=hb), 404, "unknownobject")
    listing = (await http.get(f"{API}/CFDocuments", headers=hb)).json()["CFDocuments"]
    assert [d["identifier"] for d in listing] == [str(graduate.id)]
    own = await http.get(f"{API}/CFPackages/{graduate.id}", headers=hb)
    assert own.status_code == 200


async def test_document_list_paging_sorting_filtering(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    leader = await imported(session, actors.a.tenant.id, demo_packages.load("portrait_of_a_leader"))
    graduate = await imported(session, actors.a.tenant.id, demo_packages.load("portrait_of_a_graduate"))
    smart = await imported(session, actors.a.tenant.id, sample("SmartLevelFramework.json"))
    h = await actors.a.headers("frameworks:read")

    async def ids(**params: Any) -> list[str]:
        response = await http.get(f"{API}/CFDocuments", params=params, headers=h)
        assert response.status_code == 200, response.text
        return [d["identifier"] for d in response.json()["CFDocuments"]]

    by_title = [str(graduate.id), str(leader.id), str(smart.id)]
    assert await ids(sort="title") == by_title
    assert await ids(sort="title", orderBy="desc") == by_title[::-1]
    assert await ids(sort="title", limit=1, offset=1) == [str(leader.id)]
    assert await ids(filter="title~'leader'") == [str(leader.id)]
    assert await ids(filter="adoptionStatus='Adopted' AND language='en'", sort="title") == by_title[:2]
    assert await ids(filter="title='SmartLevel Test' OR title='Portrait of a Leader'", sort="title") == [
        str(leader.id),
        str(smart.id),
    ]
    page = await http.get(f"{API}/CFDocuments", params={"limit": 2, "sort": "title"}, headers=h)
    assert page.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in page.headers["Link"]
    selected = await http.get(f"{API}/CFDocuments", params={"fields": "identifier,title"}, headers=h)
    assert all(set(d) == {"identifier", "title"} for d in selected.json()["CFDocuments"])

    bad: list[tuple[dict[str, Any], str]] = [
        ({"sort": "colour"}, "invalid_sort_field"),
        ({"orderBy": "sideways"}, "invalid_sort_field"),
        ({"filter": "colour='blue'"}, "invalid_selection_field"),
        ({"filter": "title is leader"}, "invalid_selection_field"),
        ({"fields": "identifier,colour"}, "invalid_selection_field"),
        ({"limit": 0}, "invalid_selection_field"),
        ({"offset": -1}, "invalid_selection_field"),
    ]
    for params, minor in bad:
        assert_imsx(await http.get(f"{API}/CFDocuments", params=params, headers=h), 400, minor)
