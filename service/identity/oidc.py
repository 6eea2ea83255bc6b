"""OpenID Connect relying party: authorization code flow with PKCE (S256), through Authlib.

Discovery documents and key sets are fetched through the outbound guard (the issuer URL is chosen by a
tenant) and cached per issuer for a few minutes. The ID token is checked with Authlib's OpenID Connect
claim rules (issuer, audience, expiry, nonce, azp) after its signature is verified against the
provider's published keys.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from service.config import Settings
from service.net import GuardedTransport, OutboundPolicy, outbound_client, read_limited

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork and warns when it falls back to httpx; the service's guarded
    # transport (service.net) is built on httpx, which Authlib still fully supports.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

#: Largest discovery document, key set or token response read from a provider.
MAX_DOCUMENT_BYTES = 256 * 1024
CACHE_SECONDS = 300.0
ID_TOKEN_ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA", "RS384", "ES384", "RS512"]


class OidcFailure(Exception):
    """The provider could not be used or its answer is not acceptable; the message says why."""


@dataclass(frozen=True)
class Provider:
    """What a sign-in needs of a configured provider (the secret already decrypted)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: list[str]


@dataclass
class _Cached:
    value: dict[str, Any]
    until: float


def new_state() -> str:
    return str(generate_token(43))


def new_nonce() -> str:
    return str(generate_token(32))


def new_code_verifier() -> str:
    # RFC 7636: 43 to 128 characters of [A-Za-z0-9-._~]; generate_token's alphabet is a subset.
    return str(generate_token(64))


@dataclass
class OidcClient:
    """One per app: holds the discovery and key caches."""

    policy: OutboundPolicy
    cache: dict[str, _Cached] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcClient:
        return cls(OutboundPolicy.from_settings(settings.outbound))

    def _client(self, provider: Provider, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            code_challenge_method="S256",
            transport=GuardedTransport(self.policy),
            timeout=httpx.Timeout(self.policy.timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            **kwargs,
        )

    async def _get_json(self, url: str, *, bearer: str | None = None) -> dict[str, Any]:
        cached = self.cache.get(url) if bearer is None else None
        if cached is not None and cached.until > time.monotonic():
            return cached.value
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            async with (
                outbound_client(self.policy) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                body = await read_limited(response, MAX_DOCUMENT_BYTES + 1)
        except httpx.HTTPError as exc:
            raise OidcFailure(f"the identity provider cannot be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise OidcFailure(f"the identity provider answered {response.status_code} for {url}")
        if len(body) > MAX_DOCUMENT_BYTES:
            raise OidcFailure(f"the identity provider's document at {url} is too large")
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise OidcFailure(f"the identity provider's document at {url} is not JSON") from exc
        if not isinstance(value, dict):
            raise OidcFailure(f"the identity provider's document at {url} is not a JSON object")
        if bearer is None:
            self.cache[url] = _Cached(value, time.monotonic() + CACHE_SECONDS)
        return value

    async def metadata(self, issuer: str) -> dict[str, Any]:
        meta = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != issuer:
            raise OidcFailure("the provider's discovery document names another issuer")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(meta.get(key), str):
                raise OidcFailure(f"the provider's discovery document lacks {key}")
        return meta

    async def authorization_url(
        self, provider: Provider, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        meta = await self.metadata(provider.issuer)
        async with self._client(
            provider, scope=" ".join(provider.scopes), redirect_uri=redirect_uri
        ) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(url)

    async def sign_in(
        self, provider: Provider, *, code: str, redirect_uri: str, nonce: str, code_verifier: str
    ) -> dict[str, Any]:
        """Exchange the code for tokens and return the verified ID token's claims."""
        meta = await self.metadata(provider.issuer)
        method = "client_secret_basic"
        supported = meta.get("token_endpoint_auth_methods_supported")
        if isinstance(supported, list) and method not in supported and "client_secret_post" in supported:
            method = "client_secret_post"
        try:
            async with self._client(
                provider, redirect_uri=redirect_uri, token_endpoint_auth_method=method
            ) as client:
                token = await client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except httpx.HTTPError as exc:
            raise OidcFailure(f"the identity provider cannot be reached ({type(exc).__name__})") from exc
        except Exception as exc:  # Authlib's OAuthError and friends: the provider refused the code
            raise OidcFailure(f"the identity provider refused the sign-in ({exc})") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailure("the identity provider sent no ID token")
        keys = KeySet.import_key_set(await self._get_json(meta["jwks_uri"]))  # type: ignore[arg-type]
        try:
            decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                options={"iss": {"essential": True, "value": provider.issuer}},
                params={"nonce": nonce, "client_id": provider.client_id},
            )
            claims.validate(leeway=60)
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if provider.client_id not in audiences:
                raise OidcFailure("the ID token was issued to another client")
        except (JoseError, ValueError) as exc:
            raise OidcFailure(f"the ID token is not acceptable ({exc})") from exc
        out = dict(claims)
        userinfo_url = meta.get("userinfo_endpoint")
        access_token = token.get("access_token")
        if "email" not in out and isinstance(userinfo_url, str) and isinstance(access_token, str):
            # Providers that keep profile claims out of the ID token (oidc-provider, some Entra ID setups)
            # serve them from the UserInfo endpoint; its sub must be the ID token's (OIDC Core 5.3.2).
            info = await self._get_json(userinfo_url, bearer=access_token)
            if info.get("sub") != out.get("sub"):
                raise OidcFailure("the provider's user info is about someone else than its ID token")
            out = {**info, **out}
        return out
