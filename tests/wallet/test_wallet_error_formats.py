"""Every error under the wallet API prefixes is an Imsx_StatusInfo body (also 405, an unknown path, request
validation and the body limits that the app answers before a route runs); the authorization endpoint, a
browser step, answers an unknown district with an HTML page; the JSON OAuth endpoints keep RFC 6749 / 7591
error objects."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from tests.wallet.helpers import Client, assert_imsx, authorize_params, district, pkce


async def test_method_not_allowed_is_imsx(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    refused = await web.delete(f"/ims/ob/v3p0/{d.slug}/credentials")
    body = assert_imsx(refused, 405, "not_allowed")
    assert "DELETE" in body["imsx_description"]
    assert set(refused.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert_imsx(await web.patch(f"/ims/clr/v2p0/{d.slug}/profile", json={}), 405, "not_allowed", api="clr")
    assert_imsx(await web.post(f"/ims/ob/v3p0/{d.slug}/discovery"), 405, "not_allowed")


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/ims/ob/v3p0/{slug}/no-such-endpoint", "ob"),
        ("/ims/clr/v2p0/{slug}/credentials/extra", "clr"),
        ("/ims/ob/v3p0/", "ob"),
        ("/ims/clr/v2p0", "clr"),
        ("/ims/ob/v3p0/Not_A_Slug!/credentials", "ob"),
        ("/ims/ob/v3p0/" + "a" * 64 + "/discovery", "ob"),
        ("/ims/clr/v2p0/no-such-district/discovery", "clr"),
    ],
)
async def test_unknown_paths_are_imsx_not_found(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings, path: str, api: str
) -> None:
    d = await district(session, settings)
    answer = await web.get(path.format(slug=d.slug))
    assert answer.headers["content-type"].startswith("application/json")
    assert_imsx(answer, 404, "not_found", api=api)


async def test_request_validation_and_limits_are_imsx(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    # A path parameter that does not validate names no resource.
    assert_imsx(await web.get(f"/ims/ob/v3p0/{'x' * 64}/profile"), 404, "not_found")
    # A body over the app's limit, refused by Content-Length before any route runs.
    too_big = b"x" * (settings.limits.max_body_bytes + 1)
    over = await web.post(
        f"/ims/ob/v3p0/{d.slug}/credentials", content=too_big, headers={"Content-Type": "text/plain"}
    )
    assert_imsx(over, 413, "invalid_data")
    broken = await web.post(
        f"/ims/clr/v2p0/{d.slug}/credentials",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": "two"},
    )
    assert_imsx(broken, 400, "invalid_data", api="clr")


async def test_problem_documents_stay_outside_the_wallet_api(web: httpx.AsyncClient) -> None:
    # The own API and other /ims paths keep RFC 9457 problems: the Imsx format is scoped by prefix.
    other = await web.delete("/api/v1/health")
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["status"] in (404, 405)
    nowhere = await web.get("/ims/ob/v3p0x/credentials")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"


async def test_unknown_district_at_authorize_is_a_page(web: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    params = authorize_params(Client("some-client", "secret"), challenge)
    for slug in ("no-such-district", "Not_A_Slug!"):
        page = await web.get(f"/ims/oauth/{slug}/authorize", params=params)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        assert "No such school district" in page.text
        assert "location" not in page.headers
    # The slug is shown escaped, never as markup.
    marked = await web.get("/ims/oauth/%3Cb%3Ex/authorize", params=params)
    assert marked.status_code == 404 and "<b>x" not in marked.text and "&lt;b&gt;x" in marked.text


async def test_json_oauth_endpoints_keep_rfc_errors_for_an_unknown_district(web: httpx.AsyncClient) -> None:
    registered = await web.post("/ims/oauth/no-such-district/register", json={"client_name": "x"})
    token = await web.post("/ims/oauth/no-such-district/token", data={"grant_type": "refresh_token"})
    revoked = await web.post("/ims/oauth/no-such-district/revoke", data={"token": "abc"})
    for answer in (registered, token, revoked):
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        body = answer.json()
        assert body["error"] == "invalid_request" and "district" in body["error_description"].lower()
        assert answer.headers["cache-control"] == "no-store"
