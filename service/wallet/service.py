"""Wallet use cases: RFC 7591 registration, the authorization-code flow with PKCE (RFC 7636), tokens and
refresh (RFC 6749), revocation (RFC 7009), learner sign-in by one-time link, consents, and the 1EdTech
resource operations (credentials listed and upserted, profile).

Services flush; transports commit. A refused request raises, so nothing of it is written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.documents import learner_urn
from service.config import Settings
from service.credentials import schema as ob_schema
from service.credentials.timeutil import parse_datetime
from service.credentials.verify import VerificationResult
from service.db import utcnow
from service.errors import FieldError
from service.identity.errors import SignInRefused
from service.identity.mailer import Mailer, mail_sign_in_link, mailer_for
from service.identity.models import SignInLink, StaffSession
from service.identity.repository import IdentityRepository
from service.identity.service import MAX_OPEN_LINKS, well_formed
from service.identity.tokens import hash_token, new_token
from service.roster.models import Person
from service.schemas import contains_nul
from service.tenancy.models import Tenant
from service.tenancy.repository import TenantRepository
from service.wallet import scopes as wallet_scopes
from service.wallet.errors import (
    BadRedirect,
    ConnectionNotFound,
    InvalidClient,
    InvalidClientMetadata,
    InvalidData,
    InvalidGrant,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    NotALearner,
    ScopeMissing,
    TokenRefused,
    UnknownTenant,
    UnsupportedGrantType,
    UnsupportedResponseType,
)
from service.wallet.models import (
    WalletAuthorization,
    WalletClient,
    WalletConsent,
    WalletCredential,
    WalletProfile,
    WalletToken,
)
from service.wallet.repository import WalletRepository
from service.wallet.scopes import Api

LEARNER_ROLES = frozenset({"student"})
LEARNER_SESSION_METHOD = "learner"
WALLET_PATH = "/wallet"
LINK_PATH = WALLET_PATH + "/sign-in/link/"
#: RFC 7636: a verifier is 43-128 characters of [A-Z a-z 0-9 - . _ ~]; an S256 challenge 43 base64url.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_MAX_URI = 2048
Verifier = Callable[[dict[str, Any] | str], Awaitable[VerificationResult]]


def oauth_base(settings: Settings, slug: str) -> str:
    return f"{settings.public_url}/ims/oauth/{slug}"


def api_base(settings: Settings, api: Api, slug: str) -> str:
    return f"{settings.public_url}{api.path}/{slug}"


@dataclass(frozen=True)
class Registered:
    client: WalletClient
    secret: str

    def response(self) -> dict[str, Any]:
        """The RFC 7591 client information response."""
        c = self.client
        return {
            "client_id": c.client_id,
            "client_secret": self.secret,
            "client_id_issued_at": int(c.created_at.timestamp()),
            "client_secret_expires_at": 0,
            "client_name": c.client_name,
            "client_uri": c.client_uri,
            "logo_uri": c.logo_uri,
            "tos_uri": c.tos_uri,
            "policy_uri": c.policy_uri,
            "software_id": c.software_id,
            "software_version": c.software_version,
            "redirect_uris": list(c.redirect_uris),
            "scope": " ".join(c.scopes),
            "contacts": list(c.contacts),
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }


@dataclass(frozen=True)
class Learner:
    """A learner signed in to the wallet pages (a session row of method ``learner``)."""

    session: StaffSession
    token: str
    tenant: Tenant
    person: Person


@dataclass(frozen=True)
class Bearer:
    token: WalletToken
    person: Person


@dataclass(frozen=True)
class Listed:
    """One page of GET /credentials: JSON credentials and compact JWS strings, and the total."""

    credentials: list[dict[str, Any]]
    jws: list[str]
    total: int


@dataclass(frozen=True)
class Upserted:
    created: bool
    replaced: bool
    body: dict[str, Any] | str


def _uri(value: Any, name: str, *, https: bool = True) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_URI:
        raise InvalidClientMetadata(f"{name} must be a URL of at most {_MAX_URI} characters")
    parts = urlsplit(value)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or (https and parts.scheme != "https" and not loopback)
    ):
        raise InvalidClientMetadata(f"{name} must be an https URL (http only for localhost): {value!r}")
    return value


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidClientMetadata(f"{name} is required: a string of at most {limit} characters")
    return value.strip()


def validate_metadata(metadata: Any) -> dict[str, Any]:
    """RFC 7591 client metadata with what the 1EdTech APIs require (names, URLs, software, scopes)."""
    if not isinstance(metadata, dict):
        raise InvalidClientMetadata("the registration request must be a JSON object")
    if contains_nul(metadata):
        raise InvalidClientMetadata("the client metadata holds a NUL character (U+0000)")
    redirect_uris = metadata.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris or len(redirect_uris) > 10:
        raise InvalidRedirectUri("redirect_uris must list 1 to 10 redirection URLs")
    for uri in redirect_uris:
        try:
            _uri(uri, "redirect_uris")
        except InvalidClientMetadata as exc:
            raise InvalidRedirectUri(exc.detail) from None
        if urlsplit(uri).fragment:
            raise InvalidRedirectUri(f"a redirection URL must not have a fragment: {uri!r}")
    scope = metadata.get("scope")
    if not isinstance(scope, str) or not scope.strip():
        raise InvalidClientMetadata(
            "scope is required: the space-separated scope URIs the client may ask for"
        )
    requested = wallet_scopes.parse_scope(scope)
    unknown = [s for s in requested if s not in wallet_scopes.ALL_SCOPES]
    if unknown:
        raise InvalidClientMetadata(f"unknown scope {' '.join(unknown)}")
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method != "client_secret_basic":
        raise InvalidClientMetadata("token_endpoint_auth_method must be client_secret_basic")
    grants = metadata.get("grant_types", ["authorization_code", "refresh_token"])
    if not isinstance(grants, list) or not set(grants) <= {"authorization_code", "refresh_token"}:
        raise InvalidClientMetadata("grant_types may only be authorization_code and refresh_token")
    responses = metadata.get("response_types", ["code"])
    if responses != ["code"]:
        raise InvalidClientMetadata('response_types must be ["code"]')
    contacts = metadata.get("contacts", [])
    if (
        not isinstance(contacts, list)
        or len(contacts) > 10
        or not all(isinstance(c, str) and 0 < len(c) <= 320 for c in contacts)
    ):
        raise InvalidClientMetadata("contacts must be a list of at most 10 email addresses")
    return {
        "client_name": _text(metadata.get("client_name"), "client_name", 200),
        "client_uri": _uri(metadata.get("client_uri"), "client_uri"),
        "logo_uri": _uri(metadata.get("logo_uri"), "logo_uri"),
        "tos_uri": _uri(metadata.get("tos_uri"), "tos_uri"),
        "policy_uri": _uri(metadata.get("policy_uri"), "policy_uri"),
        "software_id": _text(metadata.get("software_id"), "software_id", 255),
        "software_version": _text(metadata.get("software_version"), "software_version", 64),
        "redirect_uris": list(redirect_uris),
        "scopes": requested,
        "contacts": list(contacts),
    }


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    """client_secret_basic (RFC 6749 2.3.1): the form-urlencoded id and secret in HTTP Basic."""
    if not authorization or not authorization.lower().startswith("basic "):
        raise InvalidClient("client authentication is required: HTTP Basic (client_secret_basic)")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("the Basic credentials cannot be read") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or "\x00" in decoded:
        raise InvalidClient("the Basic credentials cannot be read")
    return unquote_plus(client_id), unquote_plus(secret)


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def redirect_with(uri: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(uri).query else "?"
    return uri + joiner + urlencode({k: v for k, v in params.items() if v})


class WalletService:
    """The use cases of one district's wallet APIs."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        tenant: Tenant,
        *,
        mailer: Mailer | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.tenant = tenant
        self.repo = WalletRepository(session, tenant.id)
        self.identity = IdentityRepository(session)
        self.mailer = mailer or mailer_for(settings)

    @staticmethod
    async def for_slug(
        session: AsyncSession, settings: Settings, slug: str, *, mailer: Mailer | None = None
    ) -> WalletService:
        tenant = await TenantRepository(session).get_by_slug(slug.strip().lower()[:63])
        if tenant is None or tenant.status != "active":
            raise UnknownTenant(f"there is no district {slug!r} on this service")
        return WalletService(session, settings, tenant, mailer=mailer)

    # -- registration (RFC 7591) ------------------------------------------------------------------

    async def register(self, metadata: Any) -> Registered:
        data = validate_metadata(metadata)
        if await self.repo.client_count() >= self.settings.wallet.max_clients_per_tenant:
            raise InvalidClientMetadata("this district accepts no more client registrations")
        secret = new_token()
        client = WalletClient(
            tenant_id=self.tenant.id,
            client_id=secrets.token_urlsafe(24),
            secret_hash=hash_token(secret),
            **data,
        )
        await self.repo.add(client)
        return Registered(client, secret)

    async def authenticate_client(self, authorization: str | None) -> WalletClient:
        client_id, secret = basic_credentials(authorization)
        client = await self.repo.client_by_client_id(client_id[:64])
        if client is None or not hmac.compare_digest(client.secret_hash, hash_token(secret)):
            raise InvalidClient("unknown client or wrong client secret")
        return client

    # -- authorization (RFC 6749 4.1, RFC 7636) ---------------------------------------------------

    async def begin_authorization(self, params: dict[str, str]) -> WalletAuthorization:
        """Checks the request; stores it pending until the learner decides. Errors before the
        redirect_uri is trusted raise :class:`BadRedirect` (shown, never redirected); later ones carry
        ``redirect`` so the transport sends them back to the client."""
        if contains_nul(params):
            raise BadRedirect("the request holds a NUL character (U+0000)")
        client = await self.repo.client_by_client_id(params.get("client_id", "")[:64])
        if client is None:
            raise BadRedirect("the wallet is not registered with this district (unknown client_id)")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise BadRedirect(
                "the redirect_uri does not exactly match a redirection URL the wallet registered"
            )
        if params.get("response_type") != "code":
            raise UnsupportedResponseType("response_type must be code")
        requested = wallet_scopes.parse_scope(params.get("scope", ""))
        if not requested:
            raise InvalidScope("scope is required")
        outside = [s for s in requested if s not in client.scopes]
        if outside:
            raise InvalidScope(f"the wallet did not register the scope {' '.join(outside)}")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(challenge):
            raise InvalidRequest("PKCE is required: code_challenge with code_challenge_method S256")
        state = params.get("state", "")
        if len(state) > 512:
            raise InvalidRequest("state is longer than 512 characters")
        now = utcnow()
        await self.repo.delete_expired(now)
        row = WalletAuthorization(
            tenant_id=self.tenant.id,
            client_row_id=client.id,
            redirect_uri=redirect_uri,
            scopes=requested,
            state=state,
            code_challenge=challenge,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.wallet.request_ttl_seconds),
        )
        await self.repo.add(row)
        return row

    async def pending(self, auth_id: uuid.UUID) -> tuple[WalletAuthorization, WalletClient]:
        row = await self.repo.authorization(auth_id)
        if row is None or row.decided_at is not None or row.expires_at <= utcnow():
            raise BadRedirect(
                "this request from the wallet has expired or was already answered; start again in the wallet"
            )
        client = await self.repo.client(row.client_row_id)
        if client is None:
            raise BadRedirect("the wallet of this request is no longer registered")
        return row, client

    async def decide(self, auth_id: uuid.UUID, learner: Learner, approve: bool) -> str:
        """The learner's answer: the URL to send the browser back to the wallet with."""
        row, client = await self.pending(auth_id)
        now = utcnow()
        row.decided_at = now
        row.person_id = learner.person.id
        if not approve:
            await self.repo.add(row)
            return redirect_with(
                row.redirect_uri,
                {"error": "access_denied", "error_description": "the learner declined", "state": row.state},
            )
        code = new_token()
        row.code_hash = hash_token(code)
        row.expires_at = now + timedelta(seconds=self.settings.wallet.code_ttl_seconds)
        consent = await self.repo.consent(client.id, learner.person.id)
        if consent is None:
            consent = WalletConsent(
                tenant_id=self.tenant.id, client_row_id=client.id, person_id=learner.person.id, scopes=[]
            )
        consent.scopes = sorted({*(consent.scopes if consent.revoked_at is None else []), *row.scopes})
        consent.revoked_at = None
        consent.updated_at = now
        await self.repo.add(row, consent)
        return redirect_with(row.redirect_uri, {"code": code, "state": row.state})

    # -- tokens -----------------------------------------------------------------------------------

    async def _issue(self, client: WalletClient, person_id: uuid.UUID, scopes: list[str]) -> dict[str, Any]:
        access, refresh, now = new_token(), new_token(), utcnow()
        wallet = self.settings.wallet
        await self.repo.add(
            WalletToken(
                tenant_id=self.tenant.id,
                client_row_id=client.id,
                person_id=person_id,
                access_hash=hash_token(access),
                refresh_hash=hash_token(refresh),
                scopes=scopes,
                created_at=now,
                access_expires_at=now + timedelta(seconds=wallet.access_token_seconds),
                refresh_expires_at=now + timedelta(seconds=wallet.refresh_token_seconds),
            )
        )
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": wallet.access_token_seconds,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }

    async def token(self, authorization: str | None, form: dict[str, str]) -> dict[str, Any]:
        client = await self.authenticate_client(authorization)
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            return await self._code_grant(client, form)
        if grant == "refresh_token":
            return await self._refresh_grant(client, form)
        raise UnsupportedGrantType(f"grant_type must be authorization_code or refresh_token, not {grant!r}")

    async def _code_grant(self, client: WalletClient, form: dict[str, str]) -> dict[str, Any]:
        code = form.get("code", "")
        row = await self.repo.authorization_by_code(hash_token(code)) if well_formed(code) else None
        now = utcnow()
        if row is None or row.client_row_id != client.id or row.person_id is None:
            raise InvalidGrant("the authorization code is not valid for this client")
        if row.used_at is not None or not await self.repo.claim_code(row.id, now):
            # RFC 6749 4.1.2: a reused code revokes what it gave.
            await self.repo.revoke_tokens(client.id, row.person_id, now)
            raise InvalidGrant("the authorization code was already used")
        if row.expires_at <= now:
            raise InvalidGrant("the authorization code has expired")
        if form.get("redirect_uri", "") != row.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the one of the authorization request")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
            create_s256_code_challenge(verifier), row.code_challenge
        ):
            raise InvalidGrant("the code_verifier does not match the code_challenge (PKCE S256)")
        consent = await self.repo.consent(client.id, row.person_id)
        if consent is None or consent.revoked_at is not None:
            raise InvalidGrant("the learner's consent was withdrawn")
        return await self._issue(client, row.person_id, list(row.scopes))

    async def _refresh_grant(self, client: WalletClient, form: dict[str, str]) -> dict[str, Any]:
        refresh = form.get("refresh_token", "")
        row = await self.repo.token_by_refresh(hash_token(refresh)) if well_formed(refresh) else None
        now = utcnow()
        if row is None or row.client_row_id != client.id:
            raise InvalidGrant("the refresh token is not valid for this client")
        if row.revoked_at is not None or row.refresh_expires_at <= now:
            raise InvalidGrant("the refresh token has expired or was revoked")
        scopes = list(row.scopes)
        if form.get("scope"):
            asked = wallet_scopes.parse_scope(form["scope"])
            if not set(asked) <= set(row.scopes):
                raise InvalidScope("a refresh cannot widen the scope of the original grant")
            scopes = asked
        consent = await self.repo.consent(client.id, row.person_id)
        if consent is None or consent.revoked_at is not None:
            raise InvalidGrant("the learner's consent was withdrawn")
        if not await self.repo.revoke_token(row.id, now):  # rotation: the old pair ends here
            raise InvalidGrant("the refresh token was already used")
        return await self._issue(client, row.person_id, scopes)

    async def revoke(self, authorization: str | None, form: dict[str, str]) -> None:
        """RFC 7009: an unknown or foreign token is no error (the answer is 200 either way)."""
        client = await self.authenticate_client(authorization)
        token = form.get("token", "")
        if not well_formed(token):
            return
        digest = hash_token(token)
        hint = form.get("token_type_hint", "")
        lookups = (
            (self.repo.token_by_refresh, self.repo.token_by_access)
            if hint == "refresh_token"
            else (self.repo.token_by_access, self.repo.token_by_refresh)
        )
        for lookup in lookups:
            row = await lookup(digest)
            if row is not None:
                if row.client_row_id == client.id:
                    await self.repo.revoke_token(row.id, utcnow())
                return

    async def bearer(self, authorization: str | None, scope: str) -> Bearer:
        """The learner behind an access token that carries ``scope``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenRefused("an access token is required (Authorization: Bearer <token>)")
        token = authorization[7:].strip()
        row = await self.repo.token_by_access(hash_token(token)) if well_formed(token) else None
        now = utcnow()
        if row is None:
            raise TokenRefused("the access token is not valid for this district")
        if row.revoked_at is not None:
            raise TokenRefused("the access token was revoked")
        if row.access_expires_at <= now:
            raise TokenRefused("the access token has expired")
        if scope not in row.scopes:
            raise ScopeMissing(f"the access token lacks the scope {scope}")
        person = await self.repo.person(row.person_id)
        if person is None or person.status != "active":
            raise TokenRefused("the learner of this access token is no longer on the roster")
        return Bearer(row, person)

    # -- learners: sign-in by link, consents ------------------------------------------------------

    async def learner_by_email(self, email: str) -> Person | None:
        for person in await self.identity.active_people_by_email(self.tenant.id, email):
            if person.role in LEARNER_ROLES:
                return person
        return None

    def link_url(self, token: str, auth_id: uuid.UUID | None) -> str:
        tail = f"?next={auth_id}" if auth_id else ""
        return f"{self.settings.public_url}{LINK_PATH}{token}{tail}"

    async def create_link(self, person: Person, auth_id: uuid.UUID | None) -> str:
        if person.role not in LEARNER_ROLES or person.status != "active":
            raise NotALearner("wallet connections are for the district's learners")
        token, now = new_token(), utcnow()
        await self.identity.add(
            SignInLink(
                tenant_id=self.tenant.id,
                person_id=person.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.console.link_ttl_seconds),
            )
        )
        return self.link_url(token, auth_id)

    async def email_link(self, email: str, auth_id: uuid.UUID | None) -> bool:
        """Mail a sign-in link to the learner's roster address after commit; False when nobody
        matches (the page says the same either way)."""
        person = await self.learner_by_email(email)
        if person is None:
            return False
        if await self.identity.open_links(self.tenant.id, person.id, utcnow()) >= MAX_OPEN_LINKS:
            return False
        url = await self.create_link(person, auth_id)
        mail_sign_in_link(
            self.session,
            self.settings,
            self.mailer,
            to=person.email or email,
            name=person.preferred_name or person.given_name,
            subject=f"Sign in to connect a wallet ({self.tenant.name})",
            invitation=f"Open this link to sign in to {self.tenant.name} and connect your wallet",
            url=url,
        )
        return True

    @staticmethod
    async def redeem_link(session: AsyncSession, settings: Settings, token: str) -> Learner:
        """Open a learner's one-time link: a wallet-page session, the link used up."""
        identity = IdentityRepository(session)
        link = await identity.link_by_hash(hash_token(token)) if well_formed(token) else None
        now = utcnow()
        if link is None:
            raise SignInRefused("this sign-in link is not valid: it may have been cut short or changed")
        if link.used_at is not None or not await identity.claim_link(link.id, now):
            raise SignInRefused("this sign-in link has already been used; each link works once")
        if link.expires_at <= now:
            raise SignInRefused("this sign-in link has expired; ask for a new one")
        tenant = await TenantRepository(session).get(link.tenant_id)
        person = await identity.person(link.tenant_id, link.person_id)
        if tenant is None or tenant.status != "active":
            raise SignInRefused("the district of this sign-in link is not active")
        if person is None or person.status != "active" or person.role not in LEARNER_ROLES:
            raise NotALearner("wallet connections are for the district's learners")
        session_token = new_token()
        row = StaffSession(
            tenant_id=tenant.id,
            person_id=person.id,
            token_hash=hash_token(session_token),
            method=LEARNER_SESSION_METHOD,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.wallet.session_seconds),
        )
        await identity.add(row)
        return Learner(row, session_token, tenant, person)

    @staticmethod
    async def resume(session: AsyncSession, token: str | None) -> Learner | None:
        """The learner a wallet-page cookie names (staff console sessions never count here)."""
        if not token or not well_formed(token):
            return None
        identity = IdentityRepository(session)
        row = await identity.session_by_hash(hash_token(token))
        now = utcnow()
        if row is None or row.method != LEARNER_SESSION_METHOD or row.revoked_at is not None:
            return None
        if row.expires_at <= now:
            return None
        tenant = await TenantRepository(session).get(row.tenant_id)
        person = await identity.person(row.tenant_id, row.person_id)
        if tenant is None or tenant.status != "active" or person is None or person.status != "active":
            return None
        return Learner(row, token, tenant, person)

    @staticmethod
    async def sign_out(session: AsyncSession, learner: Learner) -> None:
        learner.session.revoked_at = utcnow()
        await IdentityRepository(session).add(learner.session)

    async def connections(self, person: Person) -> list[tuple[WalletConsent, WalletClient]]:
        return list(await self.repo.active_consents(person.id))

    async def disconnect(self, person: Person, consent_id: uuid.UUID) -> WalletClient:
        """Withdraw a consent: every token of the wallet for this learner stops working now."""
        consent = await self.repo.consent_by_id(consent_id, person.id)
        if consent is None or consent.revoked_at is not None:
            raise ConnectionNotFound("this wallet is not connected")
        client = await self.repo.client(consent.client_row_id)
        assert client is not None
        now = utcnow()
        consent.revoked_at = now
        await self.repo.add(consent)
        await self.repo.revoke_tokens(consent.client_row_id, person.id, now)
        return client

    # -- resource operations ----------------------------------------------------------------------

    async def list_credentials(
        self, api: Api, person: Person, *, limit: int, offset: int, since: datetime | None
    ) -> Listed:
        """The learner's credentials in the order received (oldest first): what the district issued
        (badges for OB, transcripts for CLR) and what was upserted for them."""
        items: list[tuple[datetime, str, str, str]] = []
        for issued in await self.repo.issued(person.id, api.key == "clr", since):
            items.append((issued.issued_at, str(issued.id), "json", issued.document))
        for received in await self.repo.received(person.id, api.key, since):
            items.append((received.received_at, str(received.id), received.format, received.document))
        items.sort(key=lambda item: (item[0], item[1]))
        credentials: list[dict[str, Any]] = []
        jws: list[str] = []
        for _, _, fmt, document in items[offset : offset + limit]:
            if fmt == "jws":
                jws.append(document)
            else:
                credentials.append(json.loads(document))
        return Listed(credentials, jws, len(items))

    async def upsert(
        self, api: Api, person: Person, body: dict[str, Any] | str, verify: Verifier
    ) -> Upserted:
        """Verify, then store by the spec's equality (issuer id + credential id); a newer validFrom
        replaces, an older or equal one changes nothing.

        The credential is stored for ``person`` (the token's learner) whatever its ``credentialSubject``
        names: the spec's upsert appends to "the list of credentials for the subject" of the token, and a
        subject may be a DID the wallet holds, a hashed identifier or absent. It is listed back only to
        ``person``, never to whoever the subject names (docs/wallets.md, "Whose list")."""
        result = await verify(body)
        credential = result.credential
        if credential is None:
            raise InvalidData(
                "the body is not a credential", [FieldError("body", "unreadable", "invalid_data")]
            )
        types = credential.get("type")
        type_set = set(types) if isinstance(types, list) else {types}
        wanted = {"ClrCredential"} if api.key == "clr" else {"OpenBadgeCredential", "AchievementCredential"}
        if not type_set & wanted:
            raise InvalidData(
                f"this API takes {api.credential_type}s; the credential's type is "
                f"{sorted(map(str, type_set))}",
                [FieldError("type", "wrong credential type", "invalid_data")],
            )
        if not result.verified:
            failed = ", ".join(result.failed)
            messages = "; ".join(c.message for c in result.checks if not c.ok)[:500]
            raise InvalidData(
                f"the credential does not verify ({failed}): {messages}",
                [FieldError(name, "failed", "invalid_data") for name in result.failed],
            )
        credential_id, issuer_id = credential.get("id"), _issuer_id(credential)
        if (
            not isinstance(credential_id, str)
            or not credential_id
            or issuer_id is None
            or contains_nul([credential_id, issuer_id])
        ):
            raise InvalidData(
                "the credential needs an id and an issuer id (they identify it for updates)",
                [FieldError("id", "missing", "invalid_data")],
            )
        try:
            valid_from = parse_datetime(str(credential.get("validFrom") or credential.get("issuanceDate")))
        except ValueError:
            raise InvalidData(
                "the credential has no readable validFrom",
                [FieldError("validFrom", "missing", "invalid_data")],
            ) from None
        fmt = "jws" if isinstance(body, str) else "json"
        document = (
            body if isinstance(body, str) else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        )
        now = utcnow()
        issuer_key, credential_key = _key(issuer_id), _key(credential_id)
        row = await self.repo.received_one(person.id, api.key, issuer_key, credential_key)
        if row is None:
            await self.repo.add(
                WalletCredential(
                    tenant_id=self.tenant.id,
                    person_id=person.id,
                    api=api.key,
                    issuer_key=issuer_key,
                    credential_key=credential_key,
                    issuer_id=issuer_id,
                    credential_id=credential_id,
                    valid_from=valid_from,
                    format=fmt,
                    document=document,
                    received_at=now,
                )
            )
            return Upserted(created=True, replaced=False, body=body)
        if valid_from <= row.valid_from:
            return Upserted(created=False, replaced=False, body=body)
        row.valid_from, row.format, row.document, row.received_at = valid_from, fmt, document, now
        await self.repo.add(row)
        return Upserted(created=False, replaced=True, body=body)

    async def profile(self, api: Api, person: Person) -> dict[str, Any]:
        stored = await self.repo.profile(person.id, api.key)
        if stored is not None:
            return dict(stored.document)
        return {
            "id": learner_urn(self.tenant.id, person.id),
            "type": ["Profile"],
            "name": f"{person.preferred_name or person.given_name} {person.family_name}".strip(),
            "givenName": person.preferred_name or person.given_name,
            "familyName": person.family_name,
        }

    async def put_profile(self, api: Api, person: Person, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidData(
                "the body must be a Profile (a JSON object)",
                [FieldError("body", "not an object", "invalid_data")],
            )
        if contains_nul(body):
            raise InvalidData(
                "the profile holds a NUL character (U+0000)", [FieldError("body", "NUL", "invalid_data")]
            )
        errors = ob_schema.schema_errors(body, ob_schema.OB_PROFILE_SCHEMA)
        if errors:
            raise InvalidData(
                "the body is not a valid Profile: " + "; ".join(errors[:3]),
                [FieldError("body", e[:200], "invalid_data") for e in errors[:5]],
            )
        own = learner_urn(self.tenant.id, person.id)
        if body.get("id") != own:
            raise InvalidData(
                f"the profile's id must be the learner's identifier {own}",
                [FieldError("id", "not this learner", "invalid_data")],
            )
        row = await self.repo.profile(person.id, api.key) or WalletProfile(
            tenant_id=self.tenant.id, person_id=person.id, api=api.key
        )
        row.document = body
        row.updated_at = utcnow()
        await self.repo.add(row)
        return body
