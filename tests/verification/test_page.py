"""The public /verify page: form, server-rendered result for pasted text and uploads, escaping."""

from __future__ import annotations

import json
import re

import httpx

from service.credentials import generate_private_key, issue
from service.credentials.baking import bake_svg
from service.credentials.builder import Signer
from tests.credentials.conftest import sample_credential
from tests.verification.conftest import RemoteIssuer

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def first_heading(page: str) -> str:
    """The text of the page's first <h1> or <h2>."""
    match = re.search(r"<h([12])[^>]*>(.*?)</h\1>", page, re.S)
    assert match is not None, page
    return re.sub(r"<[^>]+>", "", match.group(2)).strip()


async def test_form_is_served(vhttp: httpx.AsyncClient) -> None:
    response = await vhttp.get("/verify")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<form method="post" action="/verify" enctype="multipart/form-data"' in page
    for name in ("url", "credential", "file", "recipient"):
        assert f'name="{name}"' in page
        assert f'<label class="label" for="{name}">' in page
    assert 'id="result"' not in page
    assert first_heading(page) == "Verify a credential"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_pasted_credential_is_verified(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    response = await vhttp.post(
        "/verify", files={"credential": (None, json.dumps(remote_issuer.credential()))}
    )
    assert response.status_code == 200, response.text
    page = response.text
    assert first_heading(page) == "Valid"
    assert 'data-state="valid"' in page
    for check in ("schema", "proof", "issuer", "validity", "status"):
        assert f'class="check check--pass" data-check="{check}"' in page
    assert "Issued by North District" in page
    claims = page[page.index('id="claims"') :]
    assert "Collaboration" in claims and "North District" in claims


async def test_uploaded_baked_svg_with_jws(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    svg = bake_svg(SVG, remote_issuer.jwt())
    response = await vhttp.post("/verify", files={"file": ("badge.svg", svg.encode(), "image/svg+xml")})
    assert response.status_code == 200
    assert first_heading(response.text) == "Valid" and "Read from: svg" in response.text


async def test_failed_verification_is_shown(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    credential = remote_issuer.credential()
    credential["name"] = "Forged"
    response = await vhttp.post("/verify", files={"credential": (None, json.dumps(credential))})
    assert response.status_code == 200
    page = response.text
    assert first_heading(page) == "Not valid"
    assert 'class="check check--fail" data-check="proof"' in page
    # the forged claims are withheld, not shown as if true (the pasted text stays in the form only)
    assert 'id="claims-withheld"' in page and 'id="claims"' not in page
    assert "Forged" not in page.split("<textarea")[0]


async def test_everything_is_escaped(vhttp: httpx.AsyncClient) -> None:
    key = generate_private_key("Ed25519")
    did = "did:web:evil.example:issuers:x"
    credential = sample_credential(did, credential_status=None, name=XSS)
    signed = issue(credential, Signer(f"{did}#key-1", key), check_json_ld=False)
    assert isinstance(signed, dict)
    signed["issuer"]["name"] = XSS
    signed["credentialSubject"]["achievement"]["name"] = XSS
    response = await vhttp.post("/verify", files={"credential": (None, json.dumps(signed))})
    assert response.status_code == 200
    page = response.text
    assert "<script>" not in page and "<img src=x" not in page
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy  # no inline script may run
    assert "&lt;script&gt;alert(" in page
    # the pasted text is echoed back in the textarea, escaped too
    assert "</textarea><script>" not in page


async def test_unreadable_input_is_a_4xx_page(vhttp: httpx.AsyncClient) -> None:
    response = await vhttp.post("/verify", files={"credential": (None, XSS)})
    assert response.status_code == 400
    assert "Cannot verify" in response.text
    assert "<script>" not in response.text
    empty = await vhttp.post("/verify", files={"other": (None, "x")})
    assert empty.status_code == 422
    not_a_form = await vhttp.post("/verify", json={"a": 1})
    assert not_a_form.status_code == 400
