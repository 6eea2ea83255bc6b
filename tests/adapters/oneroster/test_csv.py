"""CSV bundles: the conformance samples import (the dirty one with a precise report), bulk files
deactivate what they no longer list, a re-import changes nothing, bad archives are refused."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx

from tests.conftest import CONFORMANCE
from tests.factories import Actors

SAMPLES = CONFORMANCE / "oneroster" / "samples-csv"
URL = "/api/v1/oneroster/csv"


async def upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    media: str = "application/zip",
    **params: str,
) -> httpx.Response:
    return await http.post(URL, content=data, headers={**headers, "Content-Type": media}, params=params)


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.zip").read_bytes()


def bundle(files: dict[str, str], *, version: str = "1.1", modes: dict[str, str] | None = None) -> bytes:
    manifest = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    for name in files:
        manifest.append(f"file.{name.removesuffix('.csv')},{(modes or {}).get(name, 'bulk')}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", "\n".join(manifest) + "\n")
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


async def learner(http: httpx.AsyncClient, headers: dict[str, str], sourced_id: str) -> dict[str, Any] | None:
    found = await http.get("/api/v1/learners", params={"sourced_id": sourced_id}, headers=headers)
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items[0] if items else None


async def test_dirty_1_2_bundle_imports_with_a_precise_report(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    response = await upload(http, h, sample("v1p2_full_dataset"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["version"] == "1.2"
    assert report["mode"] == {
        "orgs": "bulk", "academicSessions": "bulk", "users": "bulk", "classes": "bulk", "enrollments": "bulk",
    }  # fmt: skip
    assert report["errors"] == {"unknown_reference": 3, "unknown_parent": 2}
    parents = [e["message"] for e in report["error_samples"] if e["kind"] == "unknown_parent"]
    assert parents == [
        "parent 'org-sch-222-3456' is not known; left unlinked",
        "parent 'as-syr-222-2023' is not known; left unlinked",
    ]  # reported; the org and the session themselves are imported
    located = [
        (e["file"], e["line"], e["column"], e["message"])
        for e in report["error_samples"]
        if e["kind"] == "unknown_reference"
    ]
    assert located == [
        ("enrollments.csv", line, "classSourcedId", "classes 'cls-222-123478' is not known")
        for line in (5, 6, 7)
    ]  # the class is tobedeleted in classes.csv, so it was never created
    warnings = {(w["file"], w["line"], w["column"]): w["message"] for w in report["warnings"]}
    assert warnings[("roles.csv", 1, "dataLastModified")] == "unknown column: ignored"
    assert warnings[("roles.csv", 1, "#10")] == "empty column name: the column is ignored"
    assert warnings[("users.csv", 1, "prefferedGivenName")] == "unknown column: ignored"
    assert warnings[("users.csv", 7, "dateLastModified")] == "'15/06/2023' is not an ISO 8601 date"
    assert (
        warnings[("manifest.csv", 21, "value")]
        == "file.scoreScales is '', not bulk, delta or absent: skipped"
    )
    assert report["collections"]["users"]["created"] == 6
    assert report["collections"]["classes"] == {
        "fetched": 2, "created": 1, "updated": 0, "unchanged": 0, "deactivated": 0, "skipped": 1,
    }  # fmt: skip
    mary = await learner(http, h, "usr-222-66778899")
    assert mary is not None and mary["status"] == "active" and mary["given_name"] == "Mary"
    assert await learner(http, await actors.b.headers("roster:read"), "usr-222-66778899") is None

    again = (await upload(http, h, sample("v1p2_full_dataset"))).json()
    assert again["totals"]["created"] == again["totals"]["updated"] == again["totals"]["deactivated"] == 0
    assert again["totals"]["unchanged"] == 15


async def test_1_1_samples_and_the_1_2_delta_sample(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    full = (await upload(http, h, sample("Test_full_data_set"))).json()
    assert full["version"] == "1.1" and full["errors"] == {"unknown_reference": 3, "unknown_parent": 2}
    assert full["collections"]["users"]["created"] == 6
    minimal = (await upload(http, h, sample("Test_minimal_data_set"))).json()
    assert minimal["errors"] == {} and minimal["totals"]["created"] + minimal["totals"]["updated"] > 0
    other = await actors.b.headers("sync:write", "roster:read")
    delta = (await upload(http, other, sample("oneroster_test_data"))).json()
    assert delta["version"] == "1.2" and delta["errors"] == {}
    assert set(delta["mode"].values()) == {"delta"}
    bruce = await learner(http, other, "USER_0")
    assert bruce is not None and bruce["family_name"] == "Wayne"  # role student from roles.csv


async def test_bulk_deactivates_missing_rows_behind_the_guard(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    header = "sourcedId,status,dateLastModified,orgSourcedIds,role,username,givenName,familyName\n"
    rows = [f"u{i},active,2026-01-01,,student,u{i},Given{i},Family\n" for i in range(5)]
    first = await upload(http, h, bundle({"users.csv": header + "".join(rows)}))
    assert first.status_code == 200 and first.json()["totals"]["created"] == 5
    fewer = bundle({"users.csv": header + "".join(rows[:4])})
    refused = await upload(http, h, fewer)
    assert refused.status_code == 409 and "1 of 5 active learners" in refused.json()["detail"]
    gone = await learner(http, h, "u4")
    assert gone is not None and gone["status"] == "active"  # nothing was written
    allowed = await upload(http, h, fewer, override="true")
    assert allowed.status_code == 200 and allowed.json()["totals"]["deactivated"] == 1
    gone = await learner(http, h, "u4")
    assert gone is not None and gone["status"] == "inactive"
    delta = bundle(
        {"users.csv": header + "u0,tobedeleted,2026-02-01,,student,u0,G,F\n"}, modes={"users.csv": "delta"}
    )
    assert (await upload(http, h, delta, override="true")).json()["totals"]["deactivated"] == 1
    still = await learner(http, h, "u1")
    assert still is not None and still["status"] == "active"  # a delta does not deactivate what it omits


async def test_bad_archives_are_refused_naming_the_problem(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("sync:write")
    not_zip = await upload(http, h, b"sourcedId,name\n")
    assert not_zip.status_code == 422 and not_zip.json()["errors"][0]["loc"] == "body.file"
    assert (await upload(http, h, sample("Test_minimal_data_set"), media="text/csv")).status_code == 415
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users.csv", "sourcedId\n")
    no_manifest = await upload(http, h, buffer.getvalue())
    assert no_manifest.status_code == 422 and "no manifest.csv" in no_manifest.json()["detail"]
    lying = io.BytesIO()
    with zipfile.ZipFile(lying, "w") as archive:  # lists orgs, ships no orgs.csv
        archive.writestr("manifest.csv", "propertyName,value\noneroster.version,1.1\nfile.orgs,bulk\n")
    broken = await upload(http, h, lying.getvalue())
    assert broken.status_code == 422 and "orgs.csv is missing" in broken.json()["detail"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", "propertyName,value\noneroster.version,1.1\nfile.users,bulk\n")
        archive.writestr("users.csv", "sourcedId\n" + "a" * (8 * 1024 * 1024))
    assert len(bomb.getvalue()) < 64 * 1024
    refused = await upload(http, h, bomb.getvalue())
    assert refused.status_code == 422 and "zip bomb" in refused.json()["detail"]
    assert (
        await upload(http, await actors.a.headers("sync:read"), sample("Test_minimal_data_set"))
    ).status_code == 403
