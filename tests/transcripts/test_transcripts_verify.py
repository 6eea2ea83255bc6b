"""A transcript in POST /api/v1/verify and VC-API credentials/verify: the outer proof and each nested
credential reported separately; a tampered or revoked nested badge is caught while the rest verifies;
and the independent Digital Bazaar verifier (Node) agrees on the outer and every nested proof."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from tests.badges.test_node_verifier import _js_verify
from tests.credentials.test_node_verifier import node  # noqa: F401 - the fixture
from tests.factories import Actors
from tests.transcripts.helpers import nested, seed


async def _transcript(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> tuple[dict[str, Any], Any]:
    seeded = await seed(session, actors.a.tenant.id, settings, learners=1)
    made = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts",
        json={},
        headers=await actors.a.headers("transcripts:write"),
    )
    assert made.status_code == 201, made.text
    return made.json(), seeded


def _checks(item: dict[str, Any]) -> dict[str, bool]:
    return {c["check"]: c["ok"] for c in item["checks"]}


async def test_verify_reports_outer_and_nested_and_catches_a_tampered_badge(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    credential, _ = await _transcript(http, actors, session, settings)
    good = await http.post("/api/v1/verify", json=credential)
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["verified"] is True and all(_checks(body).values())
    assert [item["verified"] for item in body["nested"]] == [True] * 5
    assert body["nested"][0]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert body["nested"][1]["id"] == nested(credential)[1]["id"]

    jws = (await http.get("/" + credential["id"].split("/", 3)[3], headers={"Accept": "text/plain"})).text
    as_jws = await http.post("/api/v1/verify", content=jws, headers={"Content-Type": "text/plain"})
    assert as_jws.json()["verified"] is True and as_jws.json()["proof_format"] == "vc-jwt"
    assert len(as_jws.json()["nested"]) == 5

    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["verifiableCredential"][0]["name"] = "Valedictorian"
    bad = (await http.post("/api/v1/verify", json=tampered)).json()
    assert bad["verified"] is False
    assert _checks(bad)["proof"] is False  # the transcript's own proof covers what it holds
    assert _checks(bad["nested"][0])["proof"] is False and bad["nested"][0]["verified"] is False
    assert all(item["verified"] for item in bad["nested"][1:])  # the rest still verifies

    vc_api = await http.post(
        f"/vc-api/issuers/{actors.a.tenant.slug}/credentials/verify",
        json={"verifiableCredential": credential},
    )
    assert vc_api.status_code == 200, vc_api.text
    assert [r["verified"] for r in vc_api.json()["credentialResults"]] == [True] * 5
    vc_bad = await http.post(
        f"/vc-api/issuers/{actors.a.tenant.slug}/credentials/verify",
        json={"verifiableCredential": tampered},
    )
    assert vc_bad.status_code == 400
    locs = {e["loc"] for e in vc_bad.json()["errors"]}
    assert "body.verifiableCredential.credentialSubject.verifiableCredential[0]" in locs
    assert [r["verified"] for r in vc_bad.json()["credentialResults"]] == [False] + [True] * 4
    # A revoked badge inside a sound transcript: the transcript verifies, the badge is warned about.
    badge_uuid = nested(credential)[0]["id"].rsplit("/", 1)[1]
    await http.post(
        f"/api/v1/credentials/{badge_uuid}/revoke",
        json={"reason": "awarded in error"},
        headers=await actors.a.headers("credentials:write"),
    )
    warned = await http.post(
        f"/vc-api/issuers/{actors.a.tenant.slug}/credentials/verify",
        json={"verifiableCredential": credential},
    )
    assert warned.status_code == 200 and warned.json()["verified"] is True
    assert [w["loc"] for w in warned.json()["warnings"]] == [
        "body.verifiableCredential.credentialSubject.verifiableCredential[0]"
    ]
    assert warned.json()["credentialResults"][0]["verified"] is False


async def test_a_revoked_nested_badge_is_reported_while_the_transcript_verifies(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    credential, seeded = await _transcript(http, actors, session, settings)
    badge_uuid = nested(credential)[0]["id"].rsplit("/", 1)[1]
    revoked = await http.post(
        f"/api/v1/credentials/{badge_uuid}/revoke",
        json={"reason": "awarded in error"},
        headers=await actors.a.headers("credentials:write"),
    )
    assert revoked.status_code == 200, revoked.text
    body = (await http.post("/api/v1/verify", json=credential)).json()
    assert all(_checks(body).values())  # the transcript itself: intact and not revoked
    assert body["verified"] is False
    assert _checks(body["nested"][0]) == {
        "schema": True,
        "proof": True,
        "issuer": True,
        "validity": True,
        "status": False,
    }
    assert all(item["verified"] for item in body["nested"][1:])
    # A transcript generated now leaves the revoked badge out.
    again = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts",
        json={},
        headers=await actors.a.headers("transcripts:write"),
    )
    assert all(item["type"][1] != "OpenBadgeCredential" for item in nested(again.json()))


async def test_independent_js_verifier_accepts_transcript_and_every_nested_credential(
    node: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    settings: Settings,
) -> None:
    credential, _ = await _transcript(http, actors, session, settings)
    did = credential["issuer"]["id"]
    did_doc = (await http.get(f"/issuers/{actors.a.tenant.slug}/did.json")).json()
    list_url = credential["credentialStatus"]["statusListCredential"]
    status_list = (await http.get("/" + list_url.split("/", 3)[3])).json()
    documents = {did: did_doc, list_url: status_list}
    for item in nested(credential):
        entry = item.get("credentialStatus")
        if entry:
            url = entry["statusListCredential"]
            documents[url] = (await http.get("/" + url.split("/", 3)[3])).json()
    outer = _js_verify(node, tmp_path, credential, documents)
    assert outer["verified"] is True, json.dumps(outer)[:2000]
    for item in nested(credential):
        result = _js_verify(node, tmp_path, item, documents)
        assert result["verified"] is True, json.dumps(result)[:2000]
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["verifiableCredential"][0]["name"] = "Valedictorian"
    assert _js_verify(node, tmp_path, tampered, documents)["verified"] is False
    assert (
        _js_verify(node, tmp_path, tampered["credentialSubject"]["verifiableCredential"][0], documents)[
            "verified"
        ]
        is False
    )


async def test_verify_page_shows_each_nested_credentials_verdict(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    """/verify on a CLR transcript lists every credential it holds with its own verdict; a revoked
    badge inside makes the page say "Not valid" and names it."""
    import re

    credential, _ = await _transcript(http, actors, session, settings)
    page = await http.post("/verify", files={"credential": (None, json.dumps(credential))})
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(r"<h1[^>]*>\s*Valid", html)
    assert "Credentials in this transcript" in html
    states = re.findall(r'<li class="nested" data-state="([a-z_]+)" data-index="(\d+)"', html)
    assert states == [("valid", str(i)) for i in range(1, 6)]

    badge_uuid = nested(credential)[0]["id"].rsplit("/", 1)[1]
    revoked = await http.post(
        f"/api/v1/credentials/{badge_uuid}/revoke",
        json={"reason": "awarded in error"},
        headers=await actors.a.headers("credentials:write"),
    )
    assert revoked.status_code == 200, revoked.text
    html = (await http.post("/verify", files={"credential": (None, json.dumps(credential))})).text
    heading = re.search(r"<h1[^>]*>\s*([^<]+)", html)
    assert heading is not None and heading.group(1).strip().startswith("Not valid: 1 of the 5")
    states = re.findall(r'<li class="nested" data-state="([a-z_]+)" data-index="(\d+)"', html)
    assert states == [("revoked", "1")] + [("valid", str(i)) for i in range(2, 6)]
    assert "awarded in error" not in html  # revocation reasons stay internal
