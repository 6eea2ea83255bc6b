"""Wallet use cases: the authorization requests a learner decides (the protocol itself is Authlib's, in
service.wallet.oauth), bearer tokens on the resource API, learner sign-in by one-time link, consents, and
the 1EdTech resource operations (credentials listed and upserted, profile).

Services flush; transports commit. A refused request raises, so nothing of it is written.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import Headers

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
    InvalidData,
    NotALearner,
    ScopeMissing,
    TokenRefused,
    UnknownTenant,
)
from service.wallet.models import (
    WalletAuthorization,
    WalletClient,
    WalletConsent,
    WalletCredential,
    WalletProfile,
    WalletToken,
)
from service.wallet.oauth import Call, WalletOAuth
from service.wallet.repository import WalletRepository
from service.wallet.scopes import Api

LEARNER_ROLES = frozenset({"student"})
LEARNER_SESSION_METHOD = "learner"
WALLET_PATH = "/wallet"
LINK_PATH = WALLET_PATH + "/sign-in/link/"
Verifier = Callable[[dict[str, Any] | str], Awaitable[VerificationResult]]


def oauth_base(settings: Settings, slug: str) -> str:
    return f"{settings.public_url}/ims/oauth/{slug}"


def api_base(settings: Settings, api: Api, slug: str) -> str:
    return f"{settings.public_url}{api.path}/{slug}"


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


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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

    @property
    def oauth(self) -> WalletOAuth:
        """Authlib's authorization server for this district and this request's session."""
        return WalletOAuth(self.repo, self.settings.wallet)

    # -- authorization (RFC 6749 4.1, RFC 7636) ---------------------------------------------------

    async def begin_authorization(self, call: Call) -> WalletAuthorization:
        """Authlib checks the request (raising ``OAuth2Error``, with ``redirect_uri`` set when the error may
        go back to the client); it is stored pending until the learner decides."""
        grant = await self.oauth.check_authorization(call)
        now = utcnow()
        await self.repo.delete_expired(now)
        payload = call.payload.data
        row = WalletAuthorization(
            tenant_id=self.tenant.id,
            client_row_id=grant.request.client.id,
            redirect_uri=grant.redirect_uri,
            scopes=wallet_scopes.parse_scope(grant.request.scope),
            state=payload.get("state", ""),
            code_challenge=payload["code_challenge"],
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
        """The learner's answer: the URL to send the browser back to the wallet with (Authlib's answer to
        the stored request: a code, or access_denied)."""
        row, client = await self.pending(auth_id)
        row.decided_at = utcnow()
        row.person_id = learner.person.id
        await self.repo.add(row)
        items = [
            ("response_type", "code"),
            ("client_id", client.client_id),
            ("redirect_uri", row.redirect_uri),
            ("scope", " ".join(row.scopes)),
            ("state", row.state),
            ("code_challenge", row.code_challenge),
            ("code_challenge_method", "S256"),
        ]
        try:
            call = Call("GET", oauth_base(self.settings, self.tenant.slug) + "/authorize", Headers(), items)
            answer = await self.oauth.decide(call, row, learner.person.id, approve)
        except OAuth2Error as exc:
            raise BadRedirect(exc.description or exc.error) from None
        location = answer.headers.get("location")
        if answer.status_code != 303 or not location:
            raise BadRedirect(
                "the wallet's request no longer matches its registration; start again in the wallet"
            )
        return location

    async def bearer(self, authorization: str | None, scope: str) -> Bearer:
        """The learner behind an access token that carries ``scope``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenRefused("an access token is required (Authorization: Bearer <token>)")
        token = authorization[7:].strip()
        row = await self.repo.token_by_access(hash_token(token)) if well_formed(token) else None
        if row is None:
            raise TokenRefused("the access token is not valid for this district")
        if row.is_revoked():
            raise TokenRefused("the access token was revoked")
        if row.is_expired():
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
