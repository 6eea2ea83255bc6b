"""An async OneRoster REST client: OAuth 2.0 client credentials, paging, retries, bounded concurrency.

* Tokens: fetched from the token URL with HTTP Basic client authentication (as OneRoster 1.2 asks),
  reused until shortly before ``expires_in`` runs out, and fetched again once on a 401.
* Paging: ``limit``/``offset``. The next page is the ``Link: <...>; rel="next"`` URL when the provider
  sends one (same origin only), else the next offset while ``X-Total-Count`` says there is more, else
  (no signal at all) the next offset until an *empty* page: a short page is not the end, since
  providers cap ``limit`` silently. When the total is known up front, up to ``max_concurrency`` pages
  are fetched at once, stepping by the page size actually served, and still yielded in order.
* Retries: 429 (waiting ``Retry-After`` when given, capped), 5xx, timeouts and connection errors, with
  exponential backoff and full jitter; other 4xx fail at once with the provider's ``imsx_codeMajor``
  and ``imsx_description`` when its body carries them.
* Every request goes through :func:`service.net.outbound_client` (the SSRF guard); bodies are read up to
  ``max_page_bytes``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import hmac
import json
import random
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import orjson

from service.adapters.oneroster.errors import OneRosterError
from service.adapters.oneroster.wire import collection_path
from service.config import OneRosterSettings
from service.net import OutboundPolicy, OutboundURLError, outbound_client

#: A token is renewed this long before the provider says it expires.
TOKEN_SKEW_SECONDS = 30.0
DEFAULT_TOKEN_TTL = 3600.0


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    version: str
    token_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ()
    auth_method: str = "oauth2"
    page_size: int = 1000
    max_concurrency: int = 4
    max_retries: int = 5
    backoff_base_seconds: float = 0.5
    max_retry_after_seconds: float = 60.0
    timeout_seconds: float = 30.0
    max_page_bytes: int = 64 * 1024 * 1024

    @classmethod
    def build(
        cls,
        settings: OneRosterSettings,
        *,
        base_url: str,
        version: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | tuple[str, ...] = (),
        auth_method: str = "oauth2",
    ) -> ClientConfig:
        return cls(
            base_url=base_url.rstrip("/"),
            version=version,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scopes=tuple(scopes),
            auth_method=auth_method,
            page_size=settings.page_size,
            max_concurrency=settings.max_concurrency,
            max_retries=settings.max_retries,
            backoff_base_seconds=settings.backoff_base_seconds,
            max_retry_after_seconds=settings.max_retry_after_seconds,
            timeout_seconds=settings.request_timeout_seconds,
            max_page_bytes=settings.max_page_bytes,
        )


@dataclass
class Page:
    """One page of a collection; ``next_url`` is the resume point (None on the last page)."""

    records: list[dict[str, Any]]
    url: str
    next_url: str | None
    total: int | None
    by_link: bool = False
    #: the provider sends Link headers (then a page without ``rel="next"`` is its last)
    links: bool = False
    #: the next-page link no longer carries the ``filter`` this page was asked with (a delta that
    #: turned into a full pull)
    filter_dropped: bool = False
    #: what the caller's ``prepare`` made of the records, in the task that fetched the page
    prepared: Any = None


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    token_fetches: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    #: collection -> the largest page the provider served (learned: providers cap ``limit``)
    page_sizes: dict[str, int] = field(default_factory=dict)


def _pct(value: str) -> str:
    """RFC 5849 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="-._~")


def oauth1_base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """The signature base string of RFC 5849 section 3.4.1: ``params`` are the (decoded) query, body
    and oauth_* parameters, without oauth_signature; the URL's own query is not part of the base URI."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    base_url = urlunsplit((scheme, netloc, parts.path or "/", "", ""))
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
    return "&".join((method.upper(), _pct(base_url), _pct(normalized)))


def oauth1_signature(method: str, url: str, params: list[tuple[str, str]], secret: str) -> str:
    """HMAC-SHA256 signature (as OneRoster 1.1 asks) of an OAuth 1.0a request without token."""
    base = oauth1_base_string(method, url, params)
    digest = hmac.new(f"{_pct(secret)}&".encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def oauth1_header(method: str, url: str, key: str, secret: str) -> str:
    """The ``Authorization: OAuth ...`` header of a signed OneRoster 1.1 request."""
    oauth = {
        "oauth_consumer_key": key,
        "oauth_nonce": secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": str(int(time.time())),
        "oauth_version": "1.0",
    }
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    oauth["oauth_signature"] = oauth1_signature(method, url, [*query, *oauth.items()], secret)
    return "OAuth " + ", ".join(f'{k}="{_pct(v)}"' for k, v in oauth.items())


def find_imsx(body: Any) -> dict[str, str]:
    """``imsx_codeMajor``, ``imsx_codeMinor`` and ``imsx_description`` wherever the body nests them."""
    found: dict[str, str] = {}

    def walk(node: Any, depth: int) -> None:
        if depth > 6 or len(found) == 3:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                lowered = str(key).lower()
                if lowered == "imsx_codemajor" and isinstance(value, str):
                    found.setdefault("code_major", value)
                elif lowered == "imsx_description" and isinstance(value, str):
                    found.setdefault("description", value[:500])
                elif lowered == "imsx_codeminorfieldvalue" and isinstance(value, str):
                    found.setdefault("code_minor", value)
                else:
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node[:10]:
                walk(item, depth + 1)

    walk(body, 0)
    return found


def parse_link_next(header: str | None) -> str | None:
    """The ``rel="next"`` target of a Link header, if any."""
    if not header:
        return None
    for part in header.split(","):
        section = part.strip()
        if not section.startswith("<") or ">" not in section:
            continue
        target, _, params = section[1:].partition(">")
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return target.strip()
    return None


def retry_after_seconds(value: str | None, *, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, cap))


def with_params(url: str, params: dict[str, Any]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items() if v is not None})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _loads(raw: bytes) -> Any:
    """JSON from bytes: orjson (several times faster on large pages), with the standard library for
    what orjson refuses and Python reads (NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _offset_of(url: str) -> int:
    query = dict(parse_qsl(urlsplit(url).query))
    try:
        return max(0, int(query.get("offset", "0")))
    except ValueError:
        return 0


class OneRosterClient:
    def __init__(
        self,
        config: ClientConfig,
        policy: OutboundPolicy,
        *,
        sleep: Any = None,
        clock: Any = None,
    ) -> None:
        self.config = config
        self.policy = policy
        self.stats = ClientStats()
        self._sleep = sleep or asyncio.sleep
        self._clock = clock or time.monotonic
        self._http: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(config.max_concurrency)

    async def __aenter__(self) -> OneRosterClient:
        policy = OutboundPolicy(
            allow_private=self.policy.allow_private,
            allowed_hosts=self.policy.allowed_hosts,
            allowlist_only=self.policy.allowlist_only,
            timeout_seconds=self.config.timeout_seconds,
            max_response_bytes=self.config.max_page_bytes,
        )
        self._http = outbound_client(policy)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("use the client as an async context manager")
        return self._http

    # -- tokens ------------------------------------------------------------------------------------

    async def token(self, *, force: bool = False) -> str:
        async with self._token_lock:
            if not force and self._token is not None and self._clock() < self._token_expires:
                return self._token
            data = {"grant_type": "client_credentials"}
            if self.config.scopes:
                data["scope"] = " ".join(self.config.scopes)
            status, body, _ = await self._send(
                "POST",
                self.config.token_url,
                data=data,
                auth=(self.config.client_id, self.config.client_secret),
                authenticated=False,
            )
            self.stats.token_fetches += 1
            if status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
                info = find_imsx(body)
                detail = info.get("description") or (
                    body.get("error_description") or body.get("error") if isinstance(body, dict) else None
                )
                raise OneRosterError(
                    "auth",
                    f"the token endpoint refused the client credentials (HTTP {status})"
                    + (f": {detail}" if detail else ""),
                    status=status,
                    code_major=info.get("code_major"),
                    url=self.config.token_url,
                )
            try:
                ttl = float(body.get("expires_in", DEFAULT_TOKEN_TTL))
            except (TypeError, ValueError):
                ttl = DEFAULT_TOKEN_TTL
            self._token = str(body["access_token"])
            self._token_expires = self._clock() + max(0.0, ttl - min(TOKEN_SKEW_SECONDS, ttl / 2))
            return self._token

    # -- requests ----------------------------------------------------------------------------------

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        self.stats.retries += 1
        if retry_after is not None:
            delay = retry_after
        else:
            ceiling = min(self.config.max_retry_after_seconds, self.config.backoff_base_seconds * 2**attempt)
            delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        await self._sleep(delay)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        authenticated: bool = True,
    ) -> tuple[int, Any, httpx.Headers]:
        """One logical request with retries: (status, parsed JSON body or None, headers)."""
        refreshed = False
        attempt = 0
        while True:
            headers = {"Accept": "application/json"}
            if authenticated and self.config.auth_method == "oauth1":
                headers["Authorization"] = oauth1_header(
                    method, url, self.config.client_id, self.config.client_secret
                )
            elif authenticated:
                headers["Authorization"] = f"Bearer {await self.token()}"
            try:
                async with self._slots:
                    self.stats.requests += 1
                    async with self.http.stream(
                        method, url, data=data, auth=auth, headers=headers
                    ) as response:
                        raw = await self._read(response, url)
                        status, resp_headers = response.status_code, response.headers
            except OutboundURLError as exc:
                raise OneRosterError("blocked", exc.reason, url=url) from exc
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if isinstance(exc.__cause__, OutboundURLError) or isinstance(
                    exc.__context__, OutboundURLError
                ):
                    reason = getattr(exc.__cause__ or exc.__context__, "reason", str(exc))
                    raise OneRosterError("blocked", reason, url=url) from exc
                if attempt >= self.config.max_retries:
                    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network"
                    raise OneRosterError(
                        kind, f"{type(exc).__name__} after {attempt + 1} attempts: {exc}", url=url
                    ) from exc
                await self._backoff(attempt, None)
                attempt += 1
                continue
            key = str(status)
            self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1
            if status == 401 and authenticated and not refreshed and self.config.auth_method == "oauth2":
                refreshed = True
                await self.token(force=True)
                continue
            if (status == 429 or status >= 500) and attempt < self.config.max_retries:
                wait = retry_after_seconds(
                    resp_headers.get("Retry-After"), cap=self.config.max_retry_after_seconds
                )
                await self._backoff(attempt, wait)
                attempt += 1
                continue
            body: Any = None
            if raw:
                try:
                    body = _loads(raw)
                except ValueError:
                    body = None
                    if 200 <= status < 300:
                        raise OneRosterError(
                            "bad_response", "the provider's answer is not JSON", status=status, url=url
                        ) from None
            return status, body, resp_headers

    async def _read(self, response: httpx.Response, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.config.max_page_bytes:
                raise OneRosterError(
                    "bad_response",
                    f"the provider's answer exceeds {self.config.max_page_bytes} bytes",
                    status=response.status_code,
                    url=url,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def get_json(self, url: str) -> tuple[Any, httpx.Headers]:
        status, body, headers = await self._send("GET", url)
        if status >= 400:
            info = find_imsx(body)
            message = f"HTTP {status} from the provider"
            if info.get("description"):
                message += f": {info['description']}"
            raise OneRosterError(
                "auth" if status in (401, 403) else f"http_{status}",
                message,
                status=status,
                code_major=info.get("code_major"),
                code_minor=info.get("code_minor"),
                url=url,
            )
        return body, headers

    # -- paging ------------------------------------------------------------------------------------

    def collection_url(self, collection: str, *, since: str | None = None, offset: int = 0) -> str:
        params: dict[str, Any] = {"limit": self.config.page_size, "offset": offset}
        if since:
            params["filter"] = f"dateLastModified>'{since}'"
        return with_params(self.config.base_url + collection_path(collection, self.config.version), params)

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.config.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    async def _fetch(
        self,
        collection: str,
        url: str,
        *,
        links_seen: bool = False,
        prepare: Callable[[list[dict[str, Any]]], Any] | None = None,
    ) -> Page:
        """One page and where the collection goes on. A page shorter than asked is *not* taken for the
        last one: providers cap ``limit`` (500 is common) without saying so. The collection ends when
        the provider's own signals say so (a Link header without ``rel="next"``, or on a provider that
        sends Links, none at all; ``X-Total-Count`` reached) or, without any signal, when the next
        offset answers an empty page."""
        body, headers = await self.get_json(url)
        if not isinstance(body, dict):
            raise OneRosterError("bad_response", f"expected a JSON object with '{collection}'", url=url)
        records = body.get(collection, [])
        if records is None:
            records = []
        if not isinstance(records, list):
            raise OneRosterError("bad_response", f"'{collection}' is not an array", url=url)
        total: int | None = None
        raw_total = headers.get("X-Total-Count")
        if raw_total is not None:
            try:
                total = max(0, int(raw_total.strip()))
            except ValueError:
                total = None
        offset = _offset_of(url)
        next_url: str | None = None
        has_links = links_seen or bool(headers.get("Link"))
        link = parse_link_next(headers.get("Link"))
        filter_dropped = False
        if link is not None:
            candidate = urljoin(url, link)
            if self._same_origin(candidate) and candidate != url:
                next_url = candidate
                asked = dict(parse_qsl(urlsplit(url).query))
                following = dict(parse_qsl(urlsplit(candidate).query))
                filter_dropped = "filter" in asked and "filter" not in following
        elif records and total is not None:
            if offset + len(records) < total:
                next_url = with_params(url, {"offset": offset + len(records)})
        elif records and not has_links:
            # No signal at all: only an empty page ends the collection.
            next_url = with_params(url, {"offset": offset + len(records)})
        if not records:
            next_url = None
        if records:
            served = self.stats.page_sizes.get(collection, 0)
            self.stats.page_sizes[collection] = max(served, len(records))
        kept = [r for r in records if isinstance(r, dict)]
        return Page(
            kept,
            url,
            next_url,
            total,
            link is not None,
            has_links,
            filter_dropped,
            prepare(kept) if prepare is not None and kept else None,
        )

    async def pages(
        self,
        collection: str,
        *,
        since: str | None = None,
        start_url: str | None = None,
        prepare: Callable[[list[dict[str, Any]]], Any] | None = None,
    ) -> AsyncIterator[Page]:
        """The pages of a collection in order, from ``start_url`` (a resume point) or the first.

        ``prepare`` (optional) is applied to each page's records in the task that fetched it, its
        result handed over as ``Page.prepared``: with pages fetched ahead, that work is done while
        the caller waits for the database to write the page before."""
        url = start_url or self.collection_url(collection, since=since)
        first = await self._fetch(collection, url, prepare=prepare)
        yield first
        if first.next_url is None:
            return
        if first.total is not None and not first.by_link:
            # Known total and plain offsets: a window of pages in flight at once, stepping by the page
            # size the provider actually served, yielded in order.
            step = max(1, len(first.records))
            offsets = list(range(_offset_of(first.next_url), first.total, step))
            window = max(1, self.config.max_concurrency)
            pending: deque[asyncio.Task[Page]] = deque()
            index = 0
            try:
                while index < len(offsets) or pending:
                    while index < len(offsets) and len(pending) < window:
                        target = with_params(url, {"offset": offsets[index]})
                        pending.append(asyncio.create_task(self._fetch(collection, target, prepare=prepare)))
                        index += 1
                    page = await pending.popleft()
                    if not page.records:
                        return
                    if len(page.records) < step and page.next_url is not None:
                        # A page shorter than the step with more to come: the window would skip the
                        # rest of it; go on one page at a time from where this one really ended.
                        yield page
                        async for rest in self._sequential(
                            collection, page.next_url, links=False, prepare=prepare
                        ):
                            yield rest
                        return
                    yield page
            finally:
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.gather(*pending, return_exceptions=True)
            return
        async for page in self._sequential(collection, first.next_url, links=first.links, prepare=prepare):
            yield page

    async def _sequential(
        self,
        collection: str,
        next_url: str | None,
        *,
        links: bool,
        prepare: Callable[[list[dict[str, Any]]], Any] | None = None,
    ) -> AsyncIterator[Page]:
        """Page after page, each next one requested before the current one is handed over: the
        provider prepares it while the caller writes this one (one page ahead, never more)."""
        if next_url is None:
            return
        ahead: asyncio.Task[Page] | None = asyncio.create_task(
            self._fetch(collection, next_url, links_seen=links, prepare=prepare)
        )
        try:
            while ahead is not None:
                page = await ahead
                ahead = None
                links = links or page.links
                if page.next_url is not None:
                    ahead = asyncio.create_task(
                        self._fetch(collection, page.next_url, links_seen=links, prepare=prepare)
                    )
                yield page
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
