"""The HTML base: templates autoescape, every HTML answer carries the security headers from one
middleware, static assets are served by the service itself, and image sources are filtered."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from service.api.web.headers import DEFAULT_CSP, secure_headers
from service.api.web.images import safe_image_src
from service.api.web.templating import human_date, human_datetime, render_fragment, static_url


async def test_static_stylesheet_is_served_and_cacheable(http: httpx.AsyncClient) -> None:
    url = static_url("portrait.css")
    response = await http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "immutable" in response.headers["cache-control"]
    assert ".summary-list" in response.text
    again = await http.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    stale = await http.get("/static/portrait.css?v=old")
    assert stale.status_code == 200 and "immutable" not in stale.headers["cache-control"]


@pytest.mark.parametrize(
    "path", ["/static/../pyproject.toml", "/static/nothing.css", "/static/%2e%2e/app.py"]
)
async def test_static_serves_only_its_own_files(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 404


async def test_html_pages_carry_security_headers(http: httpx.AsyncClient) -> None:
    page = await http.get("/verify")
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "img-src 'self' data: https:" in policy
    assert "http:" not in policy.replace("https:", "")
    # JSON answers are left alone
    api = await http.get("/health")
    assert "x-frame-options" not in api.headers


def test_a_page_keeps_its_own_policy_but_never_loses_frame_ancestors() -> None:
    own = [(b"content-type", b"text/html"), (b"content-security-policy", b"default-src 'self'")]
    headers = dict(secure_headers(own))
    assert headers[b"content-security-policy"] == b"default-src 'self'; frame-ancestors 'none'"
    assert headers[b"x-content-type-options"] == b"nosniff"
    plain = dict(secure_headers([(b"content-type", b"text/html; charset=utf-8")]))
    assert plain[b"content-security-policy"] == DEFAULT_CSP.encode()


def test_templates_autoescape() -> None:
    html = render_fragment("error.html", {"title": "<b>x</b>", "message": '"><script>alert(1)</script>'})
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-12T10:00:00Z", "12 March 2026"),
        ("2026-03-02", "2 March 2026"),
        (datetime(2025, 12, 1, tzinfo=UTC), "1 December 2025"),
        ("not a date", "not a date"),
        (None, ""),
    ],
)
def test_human_dates(value: object, expected: str) -> None:
    assert human_date(value) == expected


def test_human_datetime() -> None:
    assert human_datetime("2026-03-12T09:05:00Z") == "12 March 2026, 09:05 UTC"


@pytest.mark.parametrize(
    ("src", "allowed"),
    [
        ("https://cdn.example.org/badge.png", True),
        ({"id": "https://example.org/b.svg", "type": "Image"}, True),
        ("data:image/png;base64,iVBORw0KGgo=", True),
        ("http://example.org/badge.png", False),
        ("https://10.0.0.5/pixel.png", False),
        ("https://127.0.0.1/pixel.png", False),
        ("https://[::1]/pixel.png", False),
        ("https://intranet/pixel.png", False),
        ("https://printer.local/pixel.png", False),
        ("https://localhost/pixel.png", False),
        ("https://user:pw@example.org/a.png", False),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("http://own.test/credentials/x/badge.png", True),
        (42, False),
    ],
)
def test_image_sources(src: object, allowed: bool) -> None:
    assert (safe_image_src(src, own_url="http://own.test") is not None) is allowed
