"""Every link inside an issued credential answers something useful to a browser (HTML) and to a machine
(JSON-LD / CASE JSON) without a token; only published frameworks are public."""

from __future__ import annotations

import json

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.frameworks.schemas import AttributeCreate, FrameworkCreate
from service.frameworks.service import FrameworkService
from tests.factories import Actors
from tests.web.helpers import issue_one
from tests.web.walk import BROWSER, JSON_LD, own_urls


async def test_every_link_in_a_credential_answers(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    credential = json.loads(issued.document)
    urls = own_urls(credential, settings.public_url)
    kinds = {url.split("/", 4)[3] for url in urls}
    assert {"credentials", "issuers", "ims", "status-lists"} <= kinds, urls
    assert any("/achievements/" in url for url in urls) and any("/CFItems/" in url for url in urls)
    for url in urls:
        path = url.removeprefix(settings.public_url)
        for accept in (BROWSER, JSON_LD):
            response = await http.get(path, headers={"Accept": accept})
            assert response.status_code == 200, (path, accept, response.text[:300])
        head = await http.head(path, headers={"Accept": JSON_LD})  # verifiers probe with HEAD
        assert head.status_code == 200 and head.content == b"", path
    # browsers get pages, machines get documents
    achievement = next(u for u in urls if "/achievements/" in u).removeprefix(settings.public_url)
    page = await http.get(achievement, headers={"Accept": BROWSER})
    assert page.headers["content-type"].startswith("text/html") and "Collaborator" in page.text
    assert "Rubric levels" in page.text
    document = (await http.get(achievement, headers={"Accept": JSON_LD})).json()
    assert "Achievement" in document["type"] and document["id"] == settings.public_url + achievement
    assert document == {**credential["credentialSubject"]["achievement"], "@context": document["@context"]}
    issuer = credential["issuer"]["url"].removeprefix(settings.public_url)
    html = await http.get(issuer, headers={"Accept": BROWSER})
    assert html.headers["content-type"].startswith("text/html") and credential["issuer"]["id"] in html.text
    profile = (await http.get(issuer, headers={"Accept": JSON_LD})).json()
    assert profile["id"] == credential["issuer"]["id"]
    item = next(u for u in urls if "/CFItems/" in u).removeprefix(settings.public_url)
    case_item = (await http.get(item)).json()
    assert case_item["identifier"] == item.rsplit("/", 1)[1]
    competency = await http.get(item, headers={"Accept": BROWSER})
    assert "Rubric levels" in competency.text and "<h1" in competency.text


async def test_draft_framework_items_stay_private(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    frameworks = FrameworkService(session, actors.a.tenant.id)
    draft = await frameworks.create_framework(FrameworkCreate(title="Draft portrait", kind="graduate"))
    attribute = await frameworks.add_attribute(draft.id, AttributeCreate(title="Secret attribute"))
    await session.flush()
    anonymous = await http.get(f"/ims/case/v1p1/CFItems/{attribute.id}")
    assert anonymous.status_code == 404
    with_token = await http.get(
        f"/ims/case/v1p1/CFItems/{attribute.id}", headers=await actors.a.headers("frameworks:read")
    )
    assert with_token.status_code == 200
    other = await http.get(
        f"/ims/case/v1p1/CFItems/{attribute.id}", headers=await actors.b.headers("frameworks:read")
    )
    assert other.status_code == 404
    missing = await http.get("/issuers/nobody/achievements/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


async def test_issuer_page_lists_its_issued_badges_and_nothing_of_other_districts(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    """The public issuer page lists the badges the district has issued, each linking to its public
    achievement page; another district's badges and learners never appear."""
    issuer_path = f"/issuers/{actors.a.tenant.slug}"
    before = await http.get(issuer_path, headers={"Accept": BROWSER})
    assert before.status_code == 200 and 'id="no-badges"' in before.text
    issued = await issue_one(session, actors.a.tenant.id, settings)
    credential = json.loads(issued.document)
    achievement = credential["credentialSubject"]["achievement"]
    page = await http.get(issuer_path, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert 'id="no-badges"' not in page.text
    assert f'href="{achievement["id"]}"' in page.text and achievement["name"] in page.text
    assert 'class="badge-list"' in page.text
    subject_name = credential["credentialSubject"].get("name")
    if isinstance(subject_name, str):
        assert subject_name not in page.text
    other = await http.get(f"/issuers/{actors.b.tenant.slug}", headers={"Accept": BROWSER})
    assert other.status_code == 200 and 'id="no-badges"' in other.text
    assert achievement["id"] not in other.text
