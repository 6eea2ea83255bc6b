"""The contract other tools rely on (issue 13): GET /verify?url= answers a verdict page, POST
/api/v1/verify?url= verifies what the link holds, `recipient` is matched against the hashed
identifiers, the credential page links to its own verification and has link-preview tags."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from tests.factories import Actors
from tests.web.helpers import EMAIL, issue_one


def first_heading(page: str) -> str:
    match = re.search(r"<h([12])[^>]*>(.*?)</h\1>", page, re.S)
    assert match is not None, page
    return re.sub(r"<[^>]+>", "", match.group(2)).strip()


async def test_verify_a_link_api_and_page(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    by_link = await http.post("/api/v1/verify", params={"url": issued.url})
    assert by_link.status_code == 200, by_link.text
    by_body = await http.post("/api/v1/verify", json=json.loads(issued.document))
    linked, posted = by_link.json(), by_body.json()
    assert linked["verified"] is True and linked["source"] == "url"
    assert linked["credential"] == posted["credential"]
    # Same checks, same outcomes; the validity message names the moment of checking ("valid at ..."),
    # which may differ by a second between the two requests.
    timeless = re.compile(r"valid at \S+")
    assert [
        {**c, "message": timeless.sub("valid at T", c.get("message") or "")} for c in linked["checks"]
    ] == [{**c, "message": timeless.sub("valid at T", c.get("message") or "")} for c in posted["checks"]]
    assert "recipient" not in linked

    page = await http.get("/verify", params={"url": issued.url})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert first_heading(page.text) == "Valid"
    assert "Issued by " in page.text and "Not revoked" in page.text
    assert f'value="{issued.url}"' in page.text  # the link stays in the form


async def test_recipient_matching(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    document = json.loads(issued.document)
    for given, expected in (
        (EMAIL, True),
        (f"  {EMAIL.upper()} ", True),  # e-mail addresses are compared case-insensitively
        (issued.sourced_id, True),
        ("someone.else@students.example.org", False),
        ("sis-000", False),
    ):
        by_link = await http.post("/api/v1/verify", params={"url": issued.url, "recipient": given})
        assert by_link.json()["recipient"] == {"matched": expected}, given
        by_body = await http.post("/api/v1/verify", params={"recipient": given}, json=document)
        assert by_body.json()["recipient"] == {"matched": expected}, given
    jws = await http.post(
        "/api/v1/verify",
        params={"recipient": EMAIL},
        content=issued.jwt,
        headers={"Content-Type": "text/plain"},
    )
    assert jws.json()["recipient"] == {"matched": True}
    page = await http.get("/verify", params={"url": issued.url, "recipient": EMAIL})
    assert "Recipient matches" in page.text
    other = await http.get("/verify", params={"url": issued.url, "recipient": "x@y.example"})
    assert "Recipient does not match" in other.text
    # the answer reveals nothing of the identifiers themselves
    assert EMAIL.lower() not in json.dumps(by_link.json()).lower()


async def test_bad_links_are_named_4xx(http: httpx.AsyncClient) -> None:
    for url in ("not a url", "ftp://example.org/c.json", "http://127.0.0.1:9/credential"):
        response = await http.post("/api/v1/verify", params={"url": url})
        assert response.status_code == 400, (url, response.text)
        problem = response.json()
        assert problem["errors"][0]["loc"] == "query.url"
        page = await http.get("/verify", params={"url": url})
        assert page.status_code == 400 and "Cannot verify" in page.text
        assert f'value="{url}"' in page.text
    both = await http.post("/api/v1/verify", params={"url": "https://example.org/c"}, json={"a": 1})
    assert both.status_code == 400 and both.json()["errors"][0]["loc"] == "query.url"
    too_long = await http.post("/api/v1/verify", params={"url": "https://e.org/" + "a" * 3000})
    assert too_long.status_code == 422


async def test_credential_page_links_to_its_verification(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    page = await http.get(f"/credentials/{issued.id}", headers={"Accept": "text/html"})
    html = page.text
    assert re.search(r'<meta property="og:title" content="Collaborator - [^"]+">', html)
    assert '<meta name="twitter:card" content="summary">' in html
    assert f'href="/verify?url={quote(issued.url, safe="")}"' in html
    assert '<form method="get" action="/verify"' in html and f'value="{issued.url}"' in html
    fragment = await http.get("/verify/result", params={"url": issued.url})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert first_heading(fragment.text) == "Valid"


async def test_revoked_says_when_but_not_why(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    write = await actors.a.headers("credentials:write")
    revoked = await http.post(
        f"/api/v1/credentials/{issued.id}/revoke", json={"reason": "academic dishonesty"}, headers=write
    )
    assert revoked.status_code == 200, revoked.text
    page = await http.get("/verify", params={"url": issued.url})
    heading = first_heading(page.text)
    assert re.fullmatch(r"Revoked on \d{1,2} [A-Z][a-z]+ \d{4}", heading), heading
    assert 'id="claims-struck"' in page.text and "academic dishonesty" not in page.text
    badge = await http.get(f"/credentials/{issued.id}", headers={"Accept": "text/html"})
    assert "Revoked on" in badge.text and "academic dishonesty" not in badge.text
    api = await http.post("/api/v1/verify", params={"url": issued.url})
    assert api.json()["verified"] is False and "academic dishonesty" not in api.text
