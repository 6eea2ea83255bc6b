"""A wallet played through plain HTTP: registration, PKCE, the learner's sign-in by link and consent."""

from __future__ import annotations

import base64
import email
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from jsonschema import Draft201909Validator  # type: ignore[import-untyped]
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.identity.mailer import outbox_dir
from service.roster.models import Person
from service.transcripts.schemas import TranscriptOptions
from service.transcripts.service import TranscriptService
from service.wallet.scopes import CLR, OB
from tests.factories import make_tenant
from tests.transcripts.helpers import seed

SCHEMAS = Path(__file__).resolve().parents[1] / "conformance" / "openbadges" / "schemas"
BASE = "https://portrait.test"
REDIRECT = "https://wallet.example/callback"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')
_LINK = re.compile(r"https://portrait\.test(/wallet/sign-in/link/\S+)")


@cache
def schema(name: str) -> Draft201909Validator:
    return Draft201909Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


def assert_valid(body: Any, name: str) -> None:
    errors = [f"{e.json_path}: {e.message[:200]}" for e in schema(name).iter_errors(body)]
    assert not errors, errors[:5]


def assert_imsx(response: httpx.Response, status: int, minor: str, api: str = "ob") -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert_valid(
        body,
        f"{api}_v3p0_imsx_statusinfo_schema.json" if api == "ob" else "clr_v2p0_imsx_statusinfo_schema.json",
    )
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == minor
    return body


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html
    return found.group(1)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class District:
    slug: str
    learner_id: Any
    learner_email: str
    other_learner_id: Any


async def district(session: AsyncSession, settings: Settings) -> District:
    """A district whose first learner has a badge and a transcript, and an email on the roster."""
    tenant = await make_tenant(session, settings)
    seeded = await seed(session, tenant.id, settings)
    learner_id = seeded.learner_id
    await TranscriptService(session, tenant.id, settings).generate(learner_id, TranscriptOptions())
    person = await session.get(Person, learner_id)
    assert person is not None
    address = f"learner-{tenant.slug}@school.test"
    person.email = address
    session.add(person)
    await session.commit()
    return District(tenant.slug, learner_id, address, None)


@dataclass
class Client:
    client_id: str
    secret: str

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


ALL = " ".join(OB.scopes + CLR.scopes)


def metadata(scope: str = ALL) -> dict[str, Any]:
    return {
        "client_name": "Example Wallet",
        "client_uri": "https://wallet.example/",
        "logo_uri": "https://wallet.example/logo.png",
        "tos_uri": "https://wallet.example/terms",
        "policy_uri": "https://wallet.example/privacy",
        "software_id": "c1a2b3c4-example-wallet",
        "software_version": "1.0.0",
        "redirect_uris": [REDIRECT],
        "scope": scope,
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "contacts": ["dev@wallet.example"],
    }


async def register(http: httpx.AsyncClient, registration_url: str, scope: str = ALL) -> Client:
    response = await http.post(registration_url, json=metadata(scope))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["client_secret_expires_at"] == 0 and body["scope"] == scope
    return Client(body["client_id"], body["client_secret"])


def authorize_params(client: Client, challenge: str, scope: str = ALL, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "xyz-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def outbox_link(settings: Settings, to: str) -> str:
    found = [email.message_from_bytes(p.read_bytes()) for p in sorted(outbox_dir(settings).glob("*.eml"))]
    mine = [m for m in found if m["To"] == to]
    assert mine, f"no message to {to}"
    body = mine[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    match = _LINK.search(body.decode())
    assert match is not None, body
    return match.group(1)


async def sign_in_and_consent(
    http: httpx.AsyncClient, settings: Settings, d: District, consent_url: str, *, approve: bool = True
) -> httpx.Response:
    """From the consent URL the authorization endpoint redirected to: sign in by link, then decide."""
    page = await http.get(consent_url)
    if "Send me a sign-in link" in page.text:
        assert page.status_code == 200
        sent = await http.post(
            "/wallet/sign-in",
            data={
                "csrf_token": csrf_of(page.text),
                "tenant": d.slug,
                "email": d.learner_email,
                "next": consent_url.rsplit("/", 1)[1],
            },
        )
        assert sent.status_code == 200 and "Check your email" in sent.text, sent.text
        opened = await http.get(outbox_link(settings, d.learner_email))
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == consent_url
        page = await http.get(consent_url)
    assert page.status_code == 200, page.text
    assert "Connect Example Wallet?" in page.text
    decided = await http.post(
        consent_url, data={"csrf_token": csrf_of(page.text), "decision": "approve" if approve else "deny"}
    )
    assert decided.status_code == 303, decided.text
    return decided


def query_of(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT, location
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def oauth(d: District, what: str) -> str:
    return f"/ims/oauth/{d.slug}/{what}"


async def code_for(
    web: httpx.AsyncClient, settings: Settings, d: District, client: Client, challenge: str, scope: str
) -> str:
    started = await web.get(oauth(d, "authorize"), params=authorize_params(client, challenge, scope))
    assert started.status_code == 303, started.text
    decided = await sign_in_and_consent(web, settings, d, started.headers["location"])
    return query_of(decided.headers["location"])["code"]


async def exchange(
    web: httpx.AsyncClient, d: District, client: Client, code: str, verifier: str, redirect: str = REDIRECT
) -> httpx.Response:
    return await web.post(
        oauth(d, "token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
        headers=client.basic,
    )
