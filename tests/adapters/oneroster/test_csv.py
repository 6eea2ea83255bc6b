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
    assert report["errors"] == {"unknown_parent": 3}
    parents = [
        (e["file"], e["line"], e["column"], e["sourced_id"], e["message"].split("'")[1])
        for e in report["error_samples"]
        if e["kind"] == "unknown_parent"
    ]
    assert parents == [
        ("orgs.csv", 2, "parentSourcedId", "org-sch-222-456", "org-sch-222-3456"),
        ("academicSessions.csv", 3, "parentSourcedId", "as-trm-222-1234", "as-syr-222-2023"),
        ("academicSessions.csv", 6, "parentSourcedId", "as-trm-222-1235", "as-syr-222-2023"),
    ]
    assert report["error_samples"][0]["message"] == "parent 'org-sch-222-3456' is not known; left unlinked"
    # reported; the org and the sessions themselves are imported. The class that is tobedeleted in
    # classes.csv (line 3) is kept as inactive, so its enrollments (lines 5-7) resolve: the same
    # outcome as a bundle that listed the class before deleting it.
    assert report["collections"]["enrollments"]["created"] == 6
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
        "fetched": 2, "created": 2, "updated": 0, "unchanged": 0, "deactivated": 0, "skipped": 0,
    }  # fmt: skip
    mary = await learner(http, h, "usr-222-66778899")
    assert mary is not None and mary["status"] == "active" and mary["given_name"] == "Mary"
    assert await learner(http, await actors.b.headers("roster:read"), "usr-222-66778899") is None

    again = (await upload(http, h, sample("v1p2_full_dataset"))).json()
    assert again["totals"]["created"] == again["totals"]["updated"] == again["totals"]["deactivated"] == 0
    assert again["totals"]["unchanged"] == 20  # the tobedeleted class and session included


async def test_1_1_samples_and_the_1_2_delta_sample(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    full = (await upload(http, h, sample("Test_full_data_set"))).json()
    assert full["version"] == "1.1" and full["errors"] == {"unknown_parent": 3}
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


ORGS = (
    "sourcedId,status,dateLastModified,name,type,parentSourcedId\nschool-9,active,2026-01-01,School,school,\n"
)
USERS_HEADER = "sourcedId,status,dateLastModified,orgSourcedIds,role,username,givenName,familyName\n"


async def org_exists(http: httpx.AsyncClient, headers: dict[str, str], sourced_id: str) -> bool:
    """The org is there and active."""
    found = await http.get("/api/v1/orgs", params={"status": "active", "limit": 100}, headers=headers)
    assert found.status_code == 200, found.text
    return any(o["sourced_id"] == sourced_id for o in found.json()["items"])


async def test_a_missing_required_column_refuses_the_whole_bundle(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    """Before: 200, orgs written, every user skipped. Now: 422 naming file, line and column; nothing
    of the bundle is written."""
    h = await actors.a.headers("sync:write", "roster:read")
    no_given = "sourcedId,status,dateLastModified,orgSourcedIds,role,username,familyName\n"
    response = await upload(
        http,
        h,
        bundle({"orgs.csv": ORGS, "users.csv": no_given + "u1,active,2026-01-01,school-9,student,u1,F\n"}),
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert "users.csv lacks the required column givenName" in body["detail"]
    assert [(e["file"], e["line"], e["column"]) for e in body["errors"]] == [("users.csv", 1, "givenName")]
    assert not await org_exists(http, h, "school-9")


async def test_bulk_users_without_sourced_id_is_a_422_never_a_mass_deactivation(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    rows = [f"u{i},active,2026-01-01,,student,u{i},Given{i},Family\n" for i in range(5)]
    assert (await upload(http, h, bundle({"users.csv": USERS_HEADER + "".join(rows)}))).status_code == 200
    headless = USERS_HEADER.replace("sourcedId,", "id,") + "".join(rows)
    for override in ("false", "true"):
        refused = await upload(http, h, bundle({"users.csv": headless}), override=override)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["column"] == "sourcedId"
    for i in range(5):
        kept = await learner(http, h, f"u{i}")
        assert kept is not None and kept["status"] == "active"


def _corrupt(data: bytes, member: str) -> bytes:
    """The bundle with bytes in the middle of ``member``'s compressed data overwritten."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    raw = bytearray(data)
    # local header: 30 bytes + name + extra, then the compressed data
    name_len = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    middle = start + info.compress_size // 2
    raw[middle : middle + 16] = b"\xff" * 16
    return bytes(raw)


async def test_corrupt_compressed_data_is_a_422_and_nothing_is_written(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    rows = "".join(
        f"u{i},active,2026-01-01,school-9,student,u{i},Given{i},Family{i * 7919}\n" for i in range(3000)
    )
    data = _corrupt(bundle({"orgs.csv": ORGS, "users.csv": USERS_HEADER + rows}), "users.csv")
    response = await upload(http, h, data)
    assert response.status_code == 422, response.text  # was a 500 (zlib.error)
    error = response.json()["errors"][0]
    assert error["file"] == "users.csv" and "users.csv" in response.json()["detail"]
    assert not await org_exists(http, h, "school-9")  # orgs.csv came first and was undone


async def test_bulk_file_of_any_collection_is_guarded(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    header = "sourcedId,status,dateLastModified,name,type,parentSourcedId\n"
    orgs = [f"o{i},active,2026-01-01,Org {i},school,\n" for i in range(40)]
    assert (await upload(http, h, bundle({"orgs.csv": header + "".join(orgs)}))).status_code == 200
    fewer = bundle({"orgs.csv": header + "".join(orgs[:20])})
    refused = await upload(http, h, fewer)
    assert refused.status_code == 409, refused.text
    assert "orgs: would deactivate 20 of 40 active records" in refused.json()["detail"]
    assert await org_exists(http, h, "o39")
    allowed = await upload(http, h, fewer, override="true")
    assert allowed.status_code == 200 and allowed.json()["totals"]["deactivated"] == 20


async def test_a_changed_row_under_the_same_date_last_modified_is_applied(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    """CSV exports often keep a stale dateLastModified: uploads compare what the row maps to."""
    h = await actors.a.headers("sync:write", "roster:read")
    row = "u1,active,2026-01-01,,student,u1,{given},Family\n"
    assert (
        await upload(http, h, bundle({"users.csv": USERS_HEADER + row.format(given="Ann")}))
    ).status_code == 200
    again = await upload(http, h, bundle({"users.csv": USERS_HEADER + row.format(given="Anne")}))
    assert again.status_code == 200 and again.json()["totals"]["updated"] == 1
    found = await learner(http, h, "u1")
    assert found is not None and found["given_name"] == "Anne"


ENROLLMENTS_HEADER = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
CLASSES = (
    "sourcedId,status,dateLastModified,title,schoolSourcedId\nclass-1,active,2026-01-01,Algebra,school-9\n"
)


async def test_one_bad_row_refuses_the_whole_bundle_listing_every_bad_row(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    """Before: 200, the good rows written and the bad ones skipped. Now: 422 listing every row that
    cannot be written by file, line and column; nothing of the bundle is written."""
    h = await actors.a.headers("sync:write", "roster:read")
    users = USERS_HEADER + (
        "u1,active,2026-01-01,school-9,student,u1,Good,Row\n"  # line 2
        "u2,active,2026-01-01,school-9,wizard,u2,Bad,Role\n"  # line 3: no such role
    )
    enrollments = ENROLLMENTS_HEADER + (
        "e1,active,2026-01-01,class-1,school-9,u1,student\n"  # line 2
        "e2,active,2026-01-01,class-1,school-9,nobody,student\n"  # line 3: no such user
    )
    files = {"orgs.csv": ORGS, "classes.csv": CLASSES, "users.csv": users, "enrollments.csv": enrollments}
    response = await upload(http, h, bundle(files))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "oneroster_invalid_bundle"
    assert "nothing was written" in body["detail"]
    located = {(e["file"], e["line"], e["column"]) for e in body["errors"]}
    assert ("users.csv", 3, "role") in located
    assert ("enrollments.csv", 3, "userSourcedId") in located
    assert len(body["errors"]) == 2
    assert not await org_exists(http, h, "school-9")
    assert await learner(http, h, "u1") is None  # the good rows were not written either
    # the same bundle without the bad rows imports
    good = {
        **files,
        "users.csv": USERS_HEADER + "u1,active,2026-01-01,school-9,student,u1,Good,Row\n",
        "enrollments.csv": ENROLLMENTS_HEADER + "e1,active,2026-01-01,class-1,school-9,u1,student\n",
    }
    imported = await upload(http, h, bundle(good))
    assert imported.status_code == 200, imported.text
    assert await learner(http, h, "u1") is not None


async def test_the_list_of_bad_rows_is_bounded(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("sync:write", "roster:read")
    rows = "".join(f"u{i},active,2026-01-01,,wizard,u{i},G,F\n" for i in range(150))
    response = await upload(http, h, bundle({"users.csv": USERS_HEADER + rows}))
    assert response.status_code == 422, response.text
    body = response.json()
    assert len(body["errors"]) == 100
    assert body["detail"].startswith("150 row(s) cannot be imported")
    assert [e["line"] for e in body["errors"]] == list(range(2, 102))
