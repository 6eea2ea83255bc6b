"""Achievement (and so credential) images (issue 11): https URLs of public hosts or data: images only,
anything else a 422 naming the field, on REST and GraphQL alike."""

from __future__ import annotations

import httpx
import pytest

from service.awards.schemas import check_image_url
from tests.factories import Actors

PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://badges.example.org/images/b.png", True),
        (PNG, True),
        ("data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E", True),
        ("http://badges.example.org/b.png", False),
        ("https://10.0.0.5/b.png", False),
        ("https://127.0.0.1/b.png", False),
        ("https://[::1]/b.png", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://intranet/b.png", False),
        ("https://printer.local/b.png", False),
        ("https://user:pw@badges.example.org/b.png", False),
        ("javascript:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
    ],
)
def test_image_urls(url: str, ok: bool) -> None:
    if ok:
        assert check_image_url(url) == url
    else:
        with pytest.raises(ValueError, match=r"."):
            check_image_url(url)


async def test_internal_image_urls_are_a_422_naming_the_field(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    headers = await actors.a.headers("awards:write")
    body = {"title": "Collaboration", "description": "d", "criteria": "c", "award_mode": "manual"}
    refused = await http.post(
        "/api/v1/achievements", json={**body, "image_url": "https://10.1.2.3/pixel.png"}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == "body.image_url"
    created = await http.post("/api/v1/achievements", json={**body, "image_url": PNG}, headers=headers)
    assert created.status_code == 201, created.text
    mutation = (
        'mutation { createAchievement(input: {title: "T", description: "d", criteria: "c", '
        'awardMode: MANUAL, imageUrl: "http://intranet.example/p.png"}) { id } }'
    )
    answer = (await http.post("/graphql", json={"query": mutation}, headers=headers)).json()
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["errors"][0]["loc"] == "input.imageUrl"
