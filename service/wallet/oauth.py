"""The wallets' OAuth 2.0 server on Authlib: RFC 7591 registration, the authorization-code grant with PKCE
S256 (RFC 7636), refresh tokens (RFC 6749), revocation (RFC 7009).

Authlib parses and checks the protocol: client authentication (client_secret_basic), response and grant
types, redirect_uri matching, scopes against the client and the server, PKCE challenges and verifiers, the
refresh scope rule, registration metadata, error objects and their redirects. This module gives it what it
asks of a framework (requests in, responses out) and of storage (the hooks on the grant and endpoint classes,
and the mixins on service.wallet.models), and adds what the 1EdTech APIs and this service require beyond the
RFCs: PKCE is required of every client and S256 only, the redirect_uri must be named and match exactly,
codes are single-use under concurrency (a reused code ends the tokens it gave), a refresh ends the old pair
before the new one is written, the learner's consent is checked when tokens are issued, and a district's
clients, codes and tokens are unknown to every other district.

Bridging Authlib's synchronous hooks to the service's async database access: each Authlib call runs in a
worker thread (``anyio.to_thread.run_sync``) and every hook that reads or writes the database hands its
coroutine back to the event loop with ``anyio.from_thread.run``. The request's coroutine waits for the
thread, so the request's ``AsyncSession`` is still used by one task at a time and only on the loop thread
(an ``AsyncSession`` must never be used from another thread, and never concurrently). The thread is not
abandoned when the request is cancelled, so the session is never closed under a running hook. Loading
everything beforehand was the other choice: it would have to guess which code, token or client a request
names before Authlib has parsed it, and the atomic claims (a code used once, a refresh token rotated once)
must happen in the middle of Authlib's checks, not before or after them. Rows handed to Authlib are plain
loaded objects (the wallet models have no relationships, so nothing lazy-loads in the thread).
"""

from __future__ import annotations

import binascii
import secrets
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
from anyio import from_thread
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    JsonRequest,
    OAuth2Error,
    OAuth2Request,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.requests import JsonPayload, OAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import (
    ClientMetadataClaims,
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse, Response

from service.config import WalletSettings
from service.db import utcnow
from service.identity.service import well_formed
from service.identity.tokens import hash_token, new_token
from service.schemas import contains_nul
from service.wallet import scopes as wallet_scopes
from service.wallet.models import (
    AUTH_METHOD,
    GRANT_TYPES,
    RESPONSE_TYPE,
    WalletAuthorization,
    WalletClient,
    WalletConsent,
    WalletToken,
)
from service.wallet.repository import WalletRepository

_MAX_URI = 2048
_MAX_STATE = 512
_T = TypeVar("_T")

EXACT_REDIRECT = "the redirect_uri does not exactly match a redirection URL the wallet registered"
UNKNOWN_CLIENT = "the wallet is not registered with this district (unknown client_id)"


def _printable(text: str) -> str:
    """RFC 6749 allows only printable ASCII without ``"`` and ``\\`` in an error description (Authlib
    refuses anything else): other characters of a value the client sent become ``?``."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


def _quoted(value: Any) -> str:
    """A value the client sent, quoted in an error description."""
    return "'" + _printable(str(value)[:200]) + "'"


def _on_loop(fn: Callable[..., Coroutine[Any, Any, _T]], *args: Any) -> _T:
    """Run an async repository call on the event loop from Authlib's worker thread, and wait for it."""
    return from_thread.run(fn, *args)


# -- requests and responses (what Authlib asks of a framework) ------------------------------------


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """Parameters as parsed by the transport: the first value of each, and every value (for Authlib's
    "parameter included more than once" checks)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: dict[str, list[str]] = {}
        for key, value in items:
            self._data.setdefault(key, value)
            self._datalist.setdefault(key, []).append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class Call(OAuth2Request):  # type: ignore[misc]
    """An OAuth 2.0 request the transport has read (query string or form body), for Authlib."""

    def __init__(self, method: str, uri: str, headers: Headers, items: Sequence[tuple[str, str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(items)
        self._items = items

    @property
    def args(self) -> dict[str, str]:
        return dict(self.payload.data) if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data) if self.method != "GET" else {}


class _Json(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class JsonCall(JsonRequest):  # type: ignore[misc]
    """A registration request: its JSON object, already parsed by the transport."""

    def __init__(self, uri: str, headers: Headers, data: dict[str, Any]) -> None:
        super().__init__("POST", uri, headers)
        self.payload = _Json(data)


def error_response(error: OAuth2Error) -> Response:
    """An error raised before Authlib answered (such as a request over plain http), as Authlib answers."""
    return _response(*error())


def _response(status: int, body: Any, headers: Sequence[tuple[str, str]]) -> Response:
    out = dict(headers)
    location = out.pop("Location", None)
    if location is not None:
        # RFC 6749 lets the server choose the redirection; 303 sends browsers on with a GET after a POST.
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store", **out})
    if status == 401:
        out["WWW-Authenticate"] = 'Basic realm="wallet clients"'
    return JSONResponse(body, status_code=status, headers=out)


# -- grants and endpoints (the storage hooks) ------------------------------------------------------


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 as the 1EdTech APIs require it: every client (confidential ones too) sends a challenge, and
    the method is S256, named. Authlib's ``required`` only binds public clients, and it reads an absent
    method as ``plain``."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with code_challenge_method S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: AuthorizationCodeGrant, result: Any) -> None:
        try:
            super().validate_code_verifier(grant, result)
        except (InvalidGrantError, InvalidRequestError):
            # RFC 7636 4.6: a verifier that does not match is invalid_grant (a malformed one as well).
            raise InvalidGrantError(
                "the code_verifier does not match the code_challenge (PKCE S256)"
            ) from None

    def get_authorization_code_challenge_method(self, authorization_code: WalletAuthorization) -> str:
        return "S256"  # the only method a request is accepted with


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]
    server: WalletServer

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: WalletClient) -> str:
        """The redirect_uri is required (even with one registered) and must match one exactly."""
        uri = request.payload.redirect_uri
        if not uri or not client.check_redirect_uri(uri):
            raise InvalidRequestError(EXACT_REDIRECT)
        return str(uri)

    def validate_requested_scope(self) -> None:
        requested = wallet_scopes.parse_scope(self.request.payload.scope or "")
        if not requested:
            raise InvalidScopeError("scope is required")
        unknown = [s for s in requested if s not in wallet_scopes.ALL_SCOPES]
        if unknown:
            raise InvalidScopeError(f"unknown scope {_quoted(' '.join(unknown))}")
        client: WalletClient = self.request.client
        outside = [s for s in requested if s not in client.scopes]
        if outside:
            raise InvalidScopeError(f"the wallet did not register the scope {_quoted(' '.join(outside))}")

    def validate_authorization_request(self) -> str:
        redirect_uri = str(super().validate_authorization_request())
        if len(self.request.payload.state or "") > _MAX_STATE:
            raise InvalidRequestError(
                f"state is longer than {_MAX_STATE} characters",
                redirect_uri=redirect_uri,
                state=self.request.payload.state,
            )
        return redirect_uri

    def generate_authorization_code(self) -> str:
        return new_token()

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        _on_loop(self.server.oauth.approve, code, request.user)

    def query_authorization_code(self, code: str, client: WalletClient) -> WalletAuthorization:
        return _on_loop(self.server.oauth.claim_code, code, client)

    def delete_authorization_code(self, authorization_code: WalletAuthorization) -> None:
        """Nothing to do: ``query_authorization_code`` claimed the code (used once, kept until it expires
        so that a second use is recognised and ends what the first one gave)."""

    def authenticate_user(self, authorization_code: WalletAuthorization) -> uuid.UUID:
        person_id = authorization_code.person_id
        assert person_id is not None  # claim_code only returns decided codes
        _on_loop(self.server.oauth.check_consent, authorization_code.client_row_id, person_id)
        return person_id


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation: each refresh token works once; its pair ends when the new one is issued."""

    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: WalletServer

    def authenticate_refresh_token(self, refresh_token: str) -> WalletToken:
        return _on_loop(self.server.oauth.refresh_token, refresh_token, self.request.client)

    def authenticate_user(self, refresh_token: WalletToken) -> uuid.UUID:
        """The consent still stands; then the old pair ends here, before the new one is written, so that two
        refreshes racing with one token cannot both win."""
        _on_loop(self.server.oauth.check_consent, refresh_token.client_row_id, refresh_token.person_id)
        _on_loop(self.server.oauth.end_pair, refresh_token)
        return refresh_token.person_id

    def revoke_old_credential(self, refresh_token: WalletToken) -> None:
        """Nothing to do: ``authenticate_user`` ended the old pair before the new one was issued."""


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    server: WalletServer

    def check_params(self, request: OAuth2Request, client: WalletClient) -> None:
        try:
            super().check_params(request, client)
        except UnsupportedTokenTypeError as exc:
            exc.status_code = 400  # an error response of RFC 6749 5.2 (Authlib answers 401)
            raise

    def query_token(self, token_string: str, token_type_hint: str | None) -> WalletToken | None:
        return _on_loop(self.server.oauth.find_token, token_string, token_type_hint)

    def revoke_token(self, token: WalletToken, request: OAuth2Request) -> None:
        """The access token and its refresh token end together (either one names the pair)."""
        _on_loop(self.server.oauth.repo.revoke_token, token.id, utcnow())


def _uri(value: Any, name: str, error: type[OAuth2Error] = InvalidClientMetadataError) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_URI:
        raise error(f"{name} must be a URL of at most {_MAX_URI} characters")
    parts = urlsplit(value)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    secure = parts.scheme == "https" or (parts.scheme == "http" and loopback)
    if not secure or not parts.netloc:
        raise error(f"{name} must be an https URL (http only for localhost): {_quoted(value)}")
    if parts.fragment:
        raise error(f"{name} must not have a fragment: {_quoted(value)}")
    return value


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidClientMetadataError(f"{name} is required: a string of at most {limit} characters")
    return value.strip()


class WalletClientMetadata(ClientMetadataClaims):  # type: ignore[misc]
    """RFC 7591 metadata with what the 1EdTech APIs require on top of Authlib's checks: the names, URLs and
    software fields present, https URLs, 1 to 10 redirection URLs, known scope URIs, client_secret_basic,
    the code flow only. Values are normalised (names trimmed, scopes without duplicates) and the defaults of
    RFC 7591 written out, so that the registration response states what the client may use."""

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        if contains_nul(dict(self)):
            raise InvalidClientMetadataError("the client metadata holds a NUL character (U+0000)")
        uris = self.get("redirect_uris")
        if not isinstance(uris, list) or not uris or len(uris) > 10:
            raise InvalidRedirectURIError("redirect_uris must list 1 to 10 redirection URLs")
        for uri in uris:
            _uri(uri, "redirect_uris", InvalidRedirectURIError)
        scope = self.get("scope")
        if not isinstance(scope, str) or not scope.strip():
            raise InvalidClientMetadataError(
                "scope is required: the space-separated scope URIs the client may ask for"
            )
        requested = wallet_scopes.parse_scope(scope)
        unknown = [s for s in requested if s not in wallet_scopes.ALL_SCOPES]
        if unknown:
            raise InvalidClientMetadataError(f"unknown scope {_quoted(' '.join(unknown))}")
        if self.setdefault("token_endpoint_auth_method", AUTH_METHOD) != AUTH_METHOD:
            raise InvalidClientMetadataError(f"token_endpoint_auth_method must be {AUTH_METHOD}")
        grants = self.setdefault("grant_types", list(GRANT_TYPES))
        if not isinstance(grants, list) or not set(grants) <= set(GRANT_TYPES):
            raise InvalidClientMetadataError("grant_types may only be authorization_code and refresh_token")
        if self.setdefault("response_types", [RESPONSE_TYPE]) != [RESPONSE_TYPE]:
            raise InvalidClientMetadataError("response_types must be [code]")
        contacts = self.setdefault("contacts", [])
        if (
            not isinstance(contacts, list)
            or len(contacts) > 10
            or not all(isinstance(c, str) and 0 < len(c) <= 320 for c in contacts)
        ):
            raise InvalidClientMetadataError("contacts must be a list of at most 10 email addresses")
        for name in ("client_uri", "logo_uri", "tos_uri", "policy_uri"):
            _uri(self.get(name), name)
        self["client_name"] = _text(self.get("client_name"), "client_name", 200)
        self["software_id"] = _text(self.get("software_id"), "software_id", 255)
        self["software_version"] = _text(self.get("software_version"), "software_version", 64)
        self["scope"] = " ".join(requested)
        # Every client may refresh: the token pair table always holds a refresh token.
        self["grant_types"] = list(GRANT_TYPES)
        # Keys are for private_key_jwt, which is not offered: not registered, so not answered either.
        self.pop("jwks", None)
        self.pop("jwks_uri", None)
        super().validate(now, leeway)


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    server: WalletServer

    def authenticate_token(self, request: JsonCall) -> bool:
        """Open registration: the 1EdTech APIs let any wallet register with a district (bounded per district
        by ``wallet.max_clients_per_tenant``)."""
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": list(wallet_scopes.ALL_SCOPES),
            "response_types_supported": [RESPONSE_TYPE],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": [AUTH_METHOD],
        }

    def generate_client_id(self, request: JsonCall) -> str:
        return secrets.token_urlsafe(24)

    def generate_client_secret(self, request: JsonCall) -> str:
        return new_token()

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: JsonCall
    ) -> WalletClient:
        return _on_loop(self.server.oauth.save_client, client_info, client_metadata)


def _client_secret_basic(query_client: Callable[[str], Any], request: OAuth2Request) -> Any:
    """Authlib's client_secret_basic, with credentials that are not UTF-8 read as no credentials."""
    try:
        return authenticate_client_secret_basic(query_client, request)
    except (UnicodeDecodeError, binascii.Error):
        return None


class WalletServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server for one district, bound to one request's database session."""

    def __init__(self, oauth: WalletOAuth) -> None:
        super().__init__(scopes_supported=list(wallet_scopes.ALL_SCOPES))
        self.oauth = oauth
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Registration(claims_classes=[WalletClientMetadata]))
        self.register_token_generator("default", oauth.generate_token)
        self.register_client_auth_method(AUTH_METHOD, _client_secret_basic)

    def query_client(self, client_id: str) -> WalletClient | None:
        if not client_id or len(client_id) > 64 or "\x00" in client_id:
            return None
        return _on_loop(self.oauth.repo.client_by_client_id, client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        _on_loop(self.oauth.save_token, token, request.client, request.user)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners: the service logs and audits at its own layer."""

    def create_oauth2_request(self, request: Call) -> Call:
        """The transport built the request; Authlib quotes an unsupported response_type in its error
        description, so that value is made printable (it can only be refused)."""
        data = request.payload.data
        if data.get("response_type"):
            data["response_type"] = _printable(data["response_type"][:200])
        return request

    def create_json_request(self, request: JsonCall) -> JsonCall:
        return request

    def handle_response(self, status: int, body: Any, headers: Sequence[tuple[str, str]]) -> Response:
        return _response(status, body, headers)


# -- the async side: what the hooks do on the event loop, and the transport's entry points -------------


class WalletOAuth:
    """One district's OAuth 2.0 server for one request (the service's session and settings)."""

    def __init__(self, repo: WalletRepository, wallet: WalletSettings) -> None:
        self.repo = repo
        self.tenant_id = repo.tenant_id
        self.wallet = wallet
        self.server = WalletServer(self)
        #: The pending authorization a decision is about (set by ``decide``).
        self.pending: WalletAuthorization | None = None

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await anyio.to_thread.run_sync(fn, *args)

    # entry points ------------------------------------------------------------------------------------

    async def token(self, call: Call) -> Response:
        response: Response = await self._run(self.server.create_token_response, call)
        return response

    async def revoke(self, call: Call) -> Response:
        response: Response = await self._run(
            self.server.create_endpoint_response, Revocation.ENDPOINT_NAME, call
        )
        return response

    async def register(self, call: JsonCall) -> Response:
        response: Response = await self._run(
            self.server.create_endpoint_response, Registration.ENDPOINT_NAME, call
        )
        return response

    async def check_authorization(self, call: Call) -> CodeGrant:
        """The authorization request checked (raises ``OAuth2Error``; ``redirect_uri`` set on the error when
        it may be sent back to the client)."""
        grant: CodeGrant = await self._run(self.server.get_consent_grant, call)
        return grant

    async def decide(
        self, call: Call, pending: WalletAuthorization, person_id: uuid.UUID, approve: bool
    ) -> Response:
        """The learner's answer to a pending request (``call`` rebuilt from it): the redirect to the client
        with a code, or with access_denied."""
        self.pending = pending

        def answer() -> Response:
            grant = self.server.get_consent_grant(call, end_user=person_id)
            return self.server.create_authorization_response(  # type: ignore[no-any-return]
                call, grant_user=person_id if approve else None, grant=grant
            )

        return await self._run(answer)

    # what the hooks do (coroutines run on the loop) ------------------------------------------------

    def generate_token(
        self,
        grant_type: str,
        client: WalletClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return {
            "access_token": new_token(),
            "token_type": "Bearer",
            "expires_in": self.wallet.access_token_seconds,
            "refresh_token": new_token(),
            "scope": " ".join(wallet_scopes.parse_scope(scope or "")),
        }

    async def save_token(self, token: Mapping[str, Any], client: WalletClient, person_id: uuid.UUID) -> None:
        now = utcnow()
        await self.repo.add(
            WalletToken(
                tenant_id=self.tenant_id,
                client_row_id=client.id,
                person_id=person_id,
                access_hash=hash_token(token["access_token"]),
                refresh_hash=hash_token(token["refresh_token"]),
                scopes=wallet_scopes.parse_scope(token["scope"]),
                created_at=now,
                access_expires_at=now + timedelta(seconds=self.wallet.access_token_seconds),
                refresh_expires_at=now + timedelta(seconds=self.wallet.refresh_token_seconds),
            )
        )

    async def save_client(self, info: Mapping[str, Any], metadata: Mapping[str, Any]) -> WalletClient:
        if await self.repo.client_count() >= self.wallet.max_clients_per_tenant:
            raise InvalidClientMetadataError("this district accepts no more client registrations")
        client = WalletClient(
            tenant_id=self.tenant_id,
            client_id=info["client_id"],
            secret_hash=hash_token(info["client_secret"]),
            client_name=metadata["client_name"],
            client_uri=metadata["client_uri"],
            logo_uri=metadata["logo_uri"],
            tos_uri=metadata["tos_uri"],
            policy_uri=metadata["policy_uri"],
            software_id=metadata["software_id"],
            software_version=metadata["software_version"],
            redirect_uris=list(metadata["redirect_uris"]),
            scopes=metadata["scope"].split(),
            contacts=list(metadata["contacts"]),
        )
        await self.repo.add(client)
        return client

    async def approve(self, code: str, person_id: uuid.UUID) -> None:
        """The code of an approved request, and the learner's consent to the client (scopes added to what
        an unrevoked consent already held)."""
        row = self.pending
        assert row is not None
        now = utcnow()
        row.person_id = person_id
        row.code_hash = hash_token(code)
        row.expires_at = now + timedelta(seconds=self.wallet.code_ttl_seconds)
        consent = await self.repo.consent(row.client_row_id, person_id)
        if consent is None:
            consent = WalletConsent(
                tenant_id=self.tenant_id, client_row_id=row.client_row_id, person_id=person_id, scopes=[]
            )
        consent.scopes = sorted({*(consent.scopes if consent.revoked_at is None else []), *row.scopes})
        consent.revoked_at = None
        consent.updated_at = now
        await self.repo.add(row, consent)

    async def claim_code(self, code: str, client: WalletClient) -> WalletAuthorization:
        row = await self.repo.authorization_by_code(hash_token(code)) if well_formed(code) else None
        now = utcnow()
        if row is None or row.client_row_id != client.id or row.person_id is None:
            raise InvalidGrantError("the authorization code is not valid for this client")
        if row.used_at is not None or not await self.repo.claim_code(row.id, now):
            # RFC 6749 4.1.2: a reused code revokes what it gave.
            await self.repo.revoke_tokens(client.id, row.person_id, now)
            raise InvalidGrantError("the authorization code was already used")
        if row.expires_at <= now:
            raise InvalidGrantError("the authorization code has expired")
        return row

    async def check_consent(self, client_row_id: uuid.UUID, person_id: uuid.UUID) -> None:
        consent = await self.repo.consent(client_row_id, person_id)
        if consent is None or consent.revoked_at is not None:
            raise InvalidGrantError("the learner's consent was withdrawn")

    async def refresh_token(self, refresh: str, client: WalletClient) -> WalletToken:
        row = await self.repo.token_by_refresh(hash_token(refresh)) if well_formed(refresh) else None
        if row is None or row.client_row_id != client.id:
            raise InvalidGrantError("the refresh token is not valid for this client")
        if row.revoked_at is not None or row.refresh_expires_at <= utcnow():
            raise InvalidGrantError("the refresh token has expired or was revoked")
        return row

    async def end_pair(self, row: WalletToken) -> None:
        if not await self.repo.revoke_token(row.id, utcnow()):
            raise InvalidGrantError("the refresh token was already used")

    async def find_token(self, token: str, hint: str | None) -> WalletToken | None:
        if not well_formed(token):
            return None
        digest = hash_token(token)
        lookups = (
            (self.repo.token_by_refresh, self.repo.token_by_access)
            if hint == "refresh_token"
            else (self.repo.token_by_access, self.repo.token_by_refresh)
        )
        for lookup in lookups:
            row = await lookup(digest)
            if row is not None:
                return row
        return None
