"""Fetching other issuers' documents for verification: guarded, bounded, briefly cached.

* URLs under the service's own public URL are answered in-process by the app itself (no network). Our
  own DID documents and status lists are kept in process between requests, in the cache of
  :mod:`service.hotcache`: an entry is used only while no issuer key, status list, district slug or
  status has changed since it was read (in this process or any other), so a revocation or a key
  rotation shows in the very next verification, and nothing is served stale for long even if an
  invalidation were lost (``hotcache.MAX_AGE``). Any other own URL goes through the app every time.
* Every other URL goes through :func:`service.net.outbound_client` (private addresses refused unless
  ``outbound.allow_private`` / ``outbound.allowed_hosts`` say otherwise, no redirects, no proxies) with
  ``verify.fetch_timeout_seconds`` and ``verify.max_document_bytes``.
* Successful answers are cached for ``verify.cache_ttl_seconds`` in a bounded LRU table.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx

from service import hotcache
from service.config import Settings
from service.credentials.errors import FetchError
from service.net import OutboundPolicy, OutboundURLError, normalize_hosts, outbound_client, read_limited

ACCEPT = (
    "application/did+json, application/vc+ld+json, application/ld+json, application/json;q=0.9, */*;q=0.1"
)


#: A remote fetch is not started with less than this left of its verification's deadline.
MIN_USEFUL_FETCH_SECONDS = 0.1

#: Own documents kept in process (paths under the public URL): DID documents and status lists, whose
#: rows invalidate the cache when they change (service.hotcache).
OWN_CACHED_PATH = re.compile(r"/issuers/[A-Za-z0-9_.~-]+/did\.json|/status-lists/[0-9A-Fa-f-]{32,36}")
OWN_CACHE = "verify_own_document"


class TtlCache:
    """A bounded map whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        if self.ttl <= 0:
            return
        self._items[key] = (self.clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class RemoteFetcher:
    """``await fetcher(url) -> text`` for :func:`service.credentials.remote.verify_with_fetcher`."""

    def __init__(self, settings: Settings, app: Any | None = None) -> None:
        self.settings = settings
        self.app = app
        options = settings.verify
        self.policy = replace(
            OutboundPolicy.from_settings(settings.outbound),
            timeout_seconds=options.fetch_timeout_seconds,
            max_response_bytes=options.max_document_bytes,
        )
        self.cache = TtlCache(options.cache_ttl_seconds, options.cache_entries)
        self.http_hosts = normalize_hosts(options.did_web_http_hosts)
        self.own_prefix = settings.public_url.rstrip("/") + "/"
        self._own_host: tuple[str, str] | None = None  # (host[:port] lowercased, scheme), on first need
        self.fetches = 0  # network fetches made (not cache hits, not in-process), for tests and metrics
        self.own_reads = 0  # own documents read from the app (not from the in-process cache), likewise
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._verifications: asyncio.Semaphore | None = None
        # One pooled client per event loop (building one costs an SSL context: tens of milliseconds).
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            pool = self.settings.verify.pool_connections
            self._client = outbound_client(
                self.policy, limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool // 4)
            )
            self._loop = loop
            self._hosts = {}
            self._verifications = asyncio.Semaphore(self.settings.verify.max_remote_verifications)
        return self._client

    async def aclose(self) -> None:
        """Close the pooled client (at application shutdown)."""
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()

    def did_web_scheme(self, host: str) -> str:
        """``http`` for our own host when the public URL is http, and for configured test hosts."""
        if self._own_host is None:
            own = httpx.URL(self.settings.public_url)
            self._own_host = ((own.host + (f":{own.port}" if own.port else "")).lower(), own.scheme)
        own_host, own_scheme = self._own_host
        if host.lower() == own_host:
            return own_scheme
        return "http" if host.lower() in self.http_hosts else "https"

    async def __call__(self, url: str) -> str:
        """A fetch outside any verification's budget (tests, tools): one verification's worth."""
        async with self.verification() as fetch:
            return await fetch(url)

    @contextlib.asynccontextmanager
    async def verification(self) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
        """The fetch function of one verification: one deadline for all its fetches together, one
        remote fetch at a time, at most ``verify.max_connections_per_host`` connections per host for
        everyone, and a place among ``verify.max_remote_verifications`` taken at its first remote fetch.
        """
        options = self.settings.verify
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.deadline_seconds
        held: list[asyncio.Semaphore] = []
        one_at_a_time = asyncio.Lock()

        async def acquire(semaphore: asyncio.Semaphore, url: str, what: str) -> None:
            try:
                async with asyncio.timeout_at(deadline):
                    await semaphore.acquire()
            except TimeoutError as exc:
                raise FetchError(f"{url} not fetched: {what}") from exc

        async def fetch(url: str) -> str:
            if self.app is not None and url.startswith(self.own_prefix):
                return await self._own(url)
            cached = self.cache.get(url)
            if cached is not None:
                return cached
            if loop.time() >= deadline:
                raise FetchError(
                    f"{url} not fetched: the verification's deadline of {options.deadline_seconds:g} s passed"
                )
            self._http()  # the pool and the semaphores of this event loop
            async with one_at_a_time:
                if not held:
                    assert self._verifications is not None
                    busy = "too many verifications in progress; try again later"
                    await acquire(self._verifications, url, busy)
                    held.append(self._verifications)
                host = self._host_semaphore(url)
                await acquire(host, url, "its host has too many fetches in progress")
                if deadline - loop.time() < MIN_USEFUL_FETCH_SECONDS:
                    # Its turn came too late to finish: opening a connection now would only add one
                    # more to the host's (a slow host's connections close lazily), never an answer.
                    host.release()
                    raise FetchError(
                        f"{url} not fetched: the verification's deadline of "
                        f"{options.deadline_seconds:g} s passed while its host was busy"
                    )
                try:
                    async with asyncio.timeout_at(deadline):
                        text = await self._remote(url)
                except TimeoutError as exc:
                    passed = f"the verification's deadline of {options.deadline_seconds:g} s passed"
                    raise FetchError(f"{url}: timed out ({passed})") from exc
                finally:
                    host.release()
            self.cache.put(url, text)
            return text

        try:
            yield fetch
        finally:
            for semaphore in held:
                semaphore.release()

    def _host_semaphore(self, url: str) -> asyncio.Semaphore:
        host = httpx.URL(url).netloc.decode("ascii", "replace").lower()
        semaphore = self._hosts.get(host)
        if semaphore is None:
            if len(self._hosts) >= 4096:  # bounded: start again (in-flight fetches keep their own)
                self._hosts.clear()
            semaphore = asyncio.Semaphore(self.settings.verify.max_connections_per_host)
            self._hosts[host] = semaphore
        return semaphore

    def _invalidation(self) -> hotcache.Invalidation | None:
        database = getattr(self.app.state, "db", None) if self.app is not None else None
        engine = getattr(database, "engine", None)
        return hotcache.for_engine(engine.sync_engine) if engine is not None else None

    async def _own(self, url: str) -> str:
        """Our own document at ``url``: from the in-process cache when it is one that the cache keeps
        and nothing changed since it was read, else from the app itself."""
        path = url[len(self.own_prefix) - 1 :]
        if not OWN_CACHED_PATH.fullmatch(path):
            return await self._own_from_app(url)
        invalidation = self._invalidation()
        if invalidation is None:
            return await self._own_from_app(url)
        cached = invalidation.get(OWN_CACHE, url)
        if isinstance(cached, str):
            return cached
        epoch = invalidation.current()  # before the read: a change committed meanwhile invalidates it
        text = await self._own_from_app(url)
        invalidation.put(OWN_CACHE, url, epoch, text)
        return text

    async def _own_from_app(self, url: str) -> str:
        assert self.app is not None
        self.own_reads += 1
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=self.settings.public_url) as client:
            response = await client.get(url, headers={"accept": ACCEPT})
        if response.status_code != 200:
            raise FetchError(f"{url} answered HTTP {response.status_code}")
        if len(response.content) > self.policy.max_response_bytes:
            raise FetchError(f"{url}: the document is larger than {self.policy.max_response_bytes} bytes")
        return self._decode(url, response.content)

    async def _remote(self, url: str) -> str:
        limit = self.policy.max_response_bytes
        try:
            client = self._http()
            async with asyncio.timeout(self.policy.timeout_seconds * 2):
                async with client.stream("GET", url, headers={"accept": ACCEPT}) as response:
                    if response.status_code != 200:
                        raise FetchError(f"{url} answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(f"{url}: the document is larger than {limit} bytes")
                    body = await read_limited(response, limit + 1)
        except OutboundURLError as exc:
            raise FetchError(f"{url} may not be fetched: {exc.reason}") from exc
        except TimeoutError as exc:
            raise FetchError(f"{url}: timed out") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"{url}: timed out") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{url} could not be fetched: {type(exc).__name__}") from exc
        self.fetches += 1
        if len(body) > limit:
            raise FetchError(f"{url}: the document is larger than {limit} bytes")
        return self._decode(url, body)

    @staticmethod
    def _decode(url: str, body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FetchError(f"{url} did not return UTF-8 text") from exc
