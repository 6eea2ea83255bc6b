"""W3C VC-API issuing: did:web and did:key, scope and tenant checks, malformed credentials."""

from __future__ import annotations

from typing import Any

import httpx

from service.credentials import resolve_did_key_method
from tests.badges.helpers import verify_via_http
from tests.factories import Actors

VC_V2 = "https://www.w3.org/ns/credentials/v2"


def _plain(**extra: Any) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:learner"},
        **extra,
    }


async def test_issue_with_did_web_and_did_key(http: httpx.AsyncClient, actors: Actors) -> None:
    slug = actors.a.tenant.slug
    h = await actors.a.headers("credentials:write")
    url = f"/vc-api/issuers/{slug}/credentials/issue"
    web = await http.post(url, json={"credential": _plain(validFrom="2026-01-01T00:00:00Z")}, headers=h)
    assert web.status_code == 201, web.text
    vc = web.json()["verifiableCredential"]
    assert vc["issuer"] == f"did:web:portrait.test:issuers:{slug}"
    assert vc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    result = await verify_via_http(http, vc)
    assert result.check("proof").ok and result.check("issuer").ok, [c.to_json() for c in result.checks]

    key = await http.post(
        url, json={"credential": _plain(), "options": {"issuerMethod": "did:key"}}, headers=h
    )
    assert key.status_code == 201, key.text
    vc_key = key.json()["verifiableCredential"]
    assert vc_key["issuer"].startswith("did:key:z6Mk")
    method = vc_key["proof"][0]["verificationMethod"]
    assert resolve_did_key_method(method).controller == vc_key["issuer"]
    from service.credentials import verify_credential

    offline = verify_credential(vc_key, resolve_key=resolve_did_key_method)
    assert offline.check("proof").ok and offline.check("issuer").ok
    # The did:key is the district's Ed25519 key: the same public key as in its DID document.
    did_doc = (await http.get(f"/issuers/{slug}/did.json")).json()
    multibases = {m.get("publicKeyMultibase") for m in did_doc["verificationMethod"]}
    assert vc_key["issuer"].removeprefix("did:key:") in multibases


async def test_bad_requests_name_the_rule(http: httpx.AsyncClient, actors: Actors) -> None:
    slug = actors.a.tenant.slug
    h = await actors.a.headers("credentials:write")
    url = f"/vc-api/issuers/{slug}/credentials/issue"
    cases = [
        ({"credential": {**_plain(), "@context": ["https://example.org/ctx"]}}, "body.credential.@context"),
        ({"credential": {**_plain(), "type": ["Thing"]}}, "body.credential.type"),
        ({"credential": {**_plain(), "credentialSubject": {}}}, "body.credential.credentialSubject"),
        ({"credential": _plain(issuer="did:example:someone-else")}, "body.credential.issuer"),
        ({"credential": _plain(validFrom="yesterday")}, "body.credential.validFrom"),
        ({"credential": _plain(proof={"type": "DataIntegrityProof"})}, "body.credential.proof"),
        ({"credential": {**_plain(), "credentialSubject": {"undefinedTerm": 1}}}, "body.credential"),
        ({"credential": _plain(), "options": {"issuerMethod": "did:ion"}}, "body.options.issuerMethod"),
        ({}, "body.credential"),
    ]
    for body, loc in cases:
        response = await http.post(url, json=body, headers=h)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(e["loc"].startswith(loc) for e in response.json().get("errors", [])), (loc, response.text)

    # An OpenBadgeCredential is checked against the official schema too.
    ob = _plain(type=["VerifiableCredential", "OpenBadgeCredential"])
    ob["@context"] = [VC_V2, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    refused = await http.post(url, json={"credential": ob}, headers=h)
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_credential"

    assert (await http.post(url, json={"credential": _plain()})).status_code == 401
    read_only = await actors.a.headers("credentials:read")
    assert (await http.post(url, json={"credential": _plain()}, headers=read_only)).status_code == 403
    other = await actors.b.headers("credentials:write")
    assert (await http.post(url, json={"credential": _plain()}, headers=other)).status_code == 404
    assert (
        await http.post("/vc-api/issuers/nobody/credentials/issue", json={"credential": _plain()}, headers=h)
    ).status_code == 404


async def test_odd_credentials_are_refused_never_a_server_error(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    url = f"/vc-api/issuers/{actors.a.tenant.slug}/credentials/issue"
    h = await actors.a.headers("credentials:write")
    odd: list[Any] = [
        _plain(**{"@context": [VC_V2, 123]}),
        _plain(**{"@context": [VC_V2, "https://unknown.example/context.jsonld"]}),
        _plain(credentialSubject=[{"id": "did:example:1"}, "text"]),
        _plain(issuer={"name": "no id"}),
        _plain(id=5),
        _plain(id="not-absolute"),
        _plain(validFrom=17),
        _plain(type="VerifiableCredential"),
        _plain(credentialStatus={"type": "Unknown"}),
        _plain(credentialSubject={"id": "relative/iri"}),
        _plain(**{"@context": [VC_V2], "@id": "x", "@type": 3}),
    ]
    for credential in odd:
        response = await http.post(url, json={"credential": credential}, headers=h)
        assert 400 <= response.status_code < 500, (credential, response.status_code, response.text)
