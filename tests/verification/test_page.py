"""The public /verify page: form, server-rendered result for pasted text and uploads, escaping."""

from __future__ import annotations

import json

import httpx

from service.credentials import generate_private_key, issue
from service.credentials.baking import bake_svg
from service.credentials.builder import Signer
from tests.credentials.conftest import sample_credential
from tests.verification.conftest import RemoteIssuer

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def test_form_is_served(vhttp: httpx.AsyncClient) -> None:
    response = await vhttp.get("/verify")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<form method="post" action="/verify" enctype="multipart/form-data">' in page
    assert 'name="credential"' in page and 'name="file"' in page
    assert 'id="result"' not in page
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_pasted_credential_is_verified(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    response = await vhttp.post(
        "/verify", files={"credential": (None, json.dumps(remote_issuer.credential()))}
    )
    assert response.status_code == 200, response.text
    page = response.text
    assert '<p class="verdict ok">Verified</p>' in page
    for check in ("schema", "proof", "issuer", "validity", "status"):
        assert f"<td>{check}</td>" in page
    assert "Collaboration" in page and "North District" in page


async def test_uploaded_baked_svg_with_jws(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    svg = bake_svg(SVG, remote_issuer.jwt())
    response = await vhttp.post("/verify", files={"file": ("badge.svg", svg.encode(), "image/svg+xml")})
    assert response.status_code == 200
    assert "Verified" in response.text and "Read from: svg" in response.text


async def test_failed_verification_is_shown(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    credential = remote_issuer.credential()
    credential["name"] = "Forged"
    response = await vhttp.post("/verify", files={"credential": (None, json.dumps(credential))})
    assert response.status_code == 200
    assert '<p class="verdict fail">Not verified</p>' in response.text
    assert '<td class="fail">fail</td>' in response.text


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
    assert "script-src" not in response.headers["content-security-policy"]  # no script may run at all
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
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
