"""Contract checks against the official OneRoster 1.2 OpenAPI documents: the fake provider answers with
documents the official schemas accept (so the client is tested against the real wire format), the client
asks with the documented paths and parameters, and the vendor samples read leniently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from service.adapters.oneroster.client import ClientConfig, OneRosterClient
from service.adapters.oneroster.mapping import MappingFailed, map_record
from service.adapters.oneroster.wire import COLLECTIONS, collection_path
from service.net import OutboundPolicy
from tests.adapters.oneroster.fake_server import FakeOneRoster, imsx, small_district
from tests.conftest import CONFORMANCE

CONFORMANCE = CONFORMANCE / "oneroster"
DOCS = {
    "/ims/oneroster/rostering/v1p2": CONFORMANCE
    / "openapi-v1p2"
    / "onerosterv1p2rostersservice_openapi3_v1p0.json",
    "/ims/oneroster/gradebook/v1p2": CONFORMANCE
    / "openapi-v1p2"
    / "onerosterv1p2gradebookservice_openapi3_v1p0.json",
}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(), strict=False)  # type: ignore[no-any-return]


def operation(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the OpenAPI document, the GET operation) serving our collection path."""
    for base, doc_path in DOCS.items():
        if path.startswith(base + "/"):
            doc = load(doc_path)
            return doc, doc["paths"][path.removeprefix(base)]["get"]
    raise AssertionError(f"no official document serves {path}")


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({**schema, "components": doc["components"]})


def strict_district(fake: FakeOneRoster) -> None:
    """The small district, shaped exactly as the specification says: booleans as the strings "true" and
    "false" (JSON booleans are what some providers send instead), numbers as numbers."""
    small_district(fake)
    for record in fake.data["orgs"].values():
        record["identifier"] = record["sourcedId"].upper()
    for record in fake.data["users"].values():
        record["enabledUser"] = "true"
        record["userIds"] = []
        record["agents"] = []
        for role in record.get("roles", []):
            role["org"]["href"] = f"{fake.url}/orgs/{role['org']['sourcedId']}"
        record["roles"] = record.get("roles", [])
    for collection in ("enrollments",):
        for record in fake.data[collection].values():
            record["primary"] = "true" if record["primary"] in (True, "true") else "false"
            record["school"] = {"sourcedId": "school-1", "type": "org", "href": f"{fake.url}/orgs/school-1"}
    for record in fake.data["categories"].values():
        record["weight"] = float(record["weight"])
    for record in fake.data["lineItems"].values():
        record["resultValueMax"] = float(record["resultValueMax"])
        record["resultValueMin"] = float(record["resultValueMin"])
        record["assignDate"] = "2026-09-01T00:00:00.000Z"
        record["dueDate"] = "2026-10-01T00:00:00.000Z"
        record["school"] = {"sourcedId": "school-1", "type": "org", "href": f"{fake.url}/orgs/school-1"}
    for record in fake.data["results"].values():
        record["score"] = float(record["score"])
    for collection in COLLECTIONS:
        for record in fake.data[collection].values():
            for value in record.values():
                if isinstance(value, dict) and "sourcedId" in value:
                    value.setdefault("href", f"{fake.url}/x/{value['sourcedId']}")
                    value.setdefault("type", "org")
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, dict) and "sourcedId" in item and "roleType" not in item:
                            item.setdefault("href", f"{fake.url}/x/{item['sourcedId']}")
                            item.setdefault("type", "academicSession")


REF_TYPES = {
    "parent": "org", "org": "org", "course": "course", "school": "org", "terms": "academicSession",
    "user": "user", "class": "class", "category": "category", "gradingPeriod": "academicSession",
    "lineItem": "lineItem", "student": "user",
}  # fmt: skip


def fix_ref_types(fake: FakeOneRoster) -> None:
    for collection in COLLECTIONS:
        for record in fake.data[collection].values():
            for key, kind in REF_TYPES.items():
                value = record.get(key)
                if collection == "academicSessions" and key == "parent":
                    kind = "academicSession"
                if isinstance(value, dict):
                    value["type"] = kind
                elif isinstance(value, list):
                    for item in value:
                        item["type"] = kind


@pytest.mark.parametrize("collection", list(COLLECTIONS))
async def test_fake_provider_answers_as_the_official_documents_say(
    fake: FakeOneRoster, collection: str
) -> None:
    strict_district(fake)
    fix_ref_types(fake)
    path = collection_path(collection, "1.2")
    doc, op = operation(path)
    documented = {p["name"] for p in op.get("parameters", [])}
    assert {"limit", "offset", "filter"} <= documented  # what the client sends is documented
    async with httpx.AsyncClient() as http:
        token = (
            await http.post(
                fake.token_url,
                data={"grant_type": "client_credentials"},
                auth=(fake.client_id, fake.client_secret),
            )
        ).json()
        response = await http.get(
            fake.url + path,
            params={"limit": 2, "offset": 0},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert response.status_code == 200
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    errors = sorted(validator(doc, schema).iter_errors(response.json()), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    if response.json()[collection]:
        assert "X-Total-Count" in op["responses"]["200"].get("headers", {})


def test_fake_error_bodies_match_imsx_status_info() -> None:
    doc = load(DOCS["/ims/oneroster/rostering/v1p2"])
    schema = {"$ref": "#/components/schemas/imsx_StatusInfoDType"}
    body = imsx("failure", "unknown endpoint", "unknownobject")
    errors = list(validator(doc, schema).iter_errors(body))
    assert not errors, [e.message for e in errors]


async def test_client_pages_the_documented_paths(fake: FakeOneRoster) -> None:
    small_district(fake)
    config = ClientConfig(
        base_url=fake.url, version="1.2", token_url=fake.token_url, client_id=fake.client_id,
        client_secret=fake.client_secret, page_size=50, backoff_base_seconds=0,
    )  # fmt: skip
    async with OneRosterClient(config, OutboundPolicy(allow_private=True)) as client:
        for collection in COLLECTIONS:
            async for _ in client.pages(collection):
                pass
    asked = {p for m, p, _ in fake.log if m == "GET"}
    for path in asked:
        operation(path)  # raises if the official documents have no such path


@pytest.mark.parametrize("name", ["orgs", "users", "classes", "enrollments"])
def test_vendor_samples_read_leniently(name: str) -> None:
    records = load(CONFORMANCE / "samples-rest-json-v1p2" / f"{name}.json")[name]
    for raw in records:
        if name == "users":
            # JSON boolean enabledUser, a non-CEDS grade, vendor metadata: fine; no role at all: reported
            with pytest.raises(MappingFailed) as caught:
                map_record(name, raw)
            assert [(p.kind, p.field) for p in caught.value.problems] == [("missing_field", "roles")]
            mapped = map_record(
                name, {**raw, "roles": [{"roleType": "primary", "role": "student", "org": raw["primaryOrg"]}]}
            )
            assert mapped.values["grades"] == ["P1"] and mapped.orgs[0][0] == raw["primaryOrg"]["sourcedId"]
            assert "userMasterIdentifier" in mapped.extras
        else:
            mapped = map_record(name, raw)
            assert mapped.sourced_id == raw["sourcedId"] and not mapped.deleted
    if name == "classes":
        assert map_record(name, records[0]).values["class_type"] == "homeroom"
    if name == "enrollments":
        assert map_record(name, records[0]).values["primary"] is False
