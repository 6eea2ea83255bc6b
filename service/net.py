"""Outbound requests to URLs chosen by tenants, guarded against server-side request forgery.

Two checks, both needed:

* :func:`check_outbound_url` (and its async twin) when a URL is accepted (a webhook subscription is
  created or changed): only ``http``/``https``, no credentials in the URL, and every address the host
  resolves to must be public. The caller turns the :class:`OutboundURLError` into a 422 for the field.
* :class:`GuardedTransport` when a request is sent: DNS can answer differently by then (rebinding), so
  the transport resolves the host itself, checks every address, and connects to a checked address.
  The TLS server name and the ``Host`` header stay the original host name.

"Public" means :attr:`ipaddress.IPv4Address.is_global` and not multicast, reserved, unspecified,
loopback, private or link-local; IPv6 addresses that embed an IPv4 address (IPv4-mapped, NAT64,
6to4, Teredo) are judged by the embedded address too. ``allow_private`` (tests, on-premise receivers)
lifts the address check; ``allowed_hosts`` lifts it for named hosts or IP literals only. Proxies from
the environment are ignored (a proxy would make the connected address unknowable) and redirects are
not followed by :func:`outbound_client`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from service.config import OutboundSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
MAX_URL_LENGTH = 2048


class OutboundURLError(Exception):
    """The URL may not be requested; ``reason`` says why in words fit for an API error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedAddressError(OutboundURLError):
    """The host resolved to an address that is not allowed (raised at check or at connect time)."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allowlist_only: bool = False
    timeout_seconds: float = 10.0
    max_response_bytes: int = 64 * 1024

    @classmethod
    def from_settings(cls, settings: OutboundSettings) -> OutboundPolicy:
        return cls(
            allow_private=settings.allow_private,
            allowed_hosts=normalize_hosts(settings.allowed_hosts),
            allowlist_only=settings.allowlist_only,
            timeout_seconds=settings.timeout_seconds,
            max_response_bytes=settings.max_response_bytes,
        )

    def host_allowed(self, host: str) -> bool:
        return self.allow_private or _normalize_host(host) in self.allowed_hosts

    def refuse_unlisted(self, host: str) -> None:
        """In allow-list-only mode, refuse every host that is not listed."""
        if self.allowlist_only and _normalize_host(host) not in self.allowed_hosts:
            raise BlockedAddressError(f"outbound requests are limited to an allow-list; {host} is not on it")


def _normalize_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def normalize_hosts(hosts: Iterable[str]) -> frozenset[str]:
    return frozenset(_normalize_host(h) for h in hosts if h.strip())


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be contacted, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # a dual-stack socket connects to the IPv4 address
            inner = forbidden_reason(address.ipv4_mapped)
            return None if inner is None else f"{inner} (as {address})"
        embedded: ipaddress.IPv4Address | None = None
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.sixtofour is not None:
            embedded = address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            inner = forbidden_reason(embedded)
            if inner is not None:
                return f"{inner} (embedded in {address})"
        if address in _NAT64_LOCAL:
            return f"{address} is a local-use NAT64 address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_reserved:
        return f"{address} is a reserved address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def parse_url(url: str) -> Target:
    """Syntax checks that need no network: scheme, credentials, host, port."""
    if len(url) > MAX_URL_LENGTH:
        raise OutboundURLError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise OutboundURLError("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundURLError(f"the URL cannot be parsed: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundURLError(f"only http and https URLs are allowed, not {scheme or 'a relative URL'}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OutboundURLError("the URL must not contain credentials (user:password@)")
    host = parts.hostname
    if not host:
        raise OutboundURLError("the URL has no host")
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise OutboundURLError(f"the URL cannot be parsed: {exc}") from exc
    return Target(scheme, host, port or (443 if scheme == "https" else 80))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_addresses(host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
    checked = list(dict.fromkeys(addresses))
    if not checked:
        raise OutboundURLError(f"the host {host} does not resolve to any address")
    for address in checked:
        reason = forbidden_reason(address)
        if reason is not None:
            what = f"the host {host} resolves to {address}, which" if str(address) != host else str(address)
            raise BlockedAddressError(
                f"{what} is not allowed for outbound requests ({reason.split(' is ', 1)[-1]})"
            )
    return checked


def _from_addrinfo(infos: Iterable[tuple[Any, ...]]) -> list[IPAddress]:
    out: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            # Scope ids ("fe80::1%eth0") are dropped: the address itself decides.
            out.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
    return out


def check_outbound_url(url: str, *, allow_private: bool, allowed_hosts: set[str] | frozenset[str]) -> None:
    """Raise :class:`OutboundURLError` unless ``url`` may be requested (resolves the host, blocking)."""
    target = parse_url(url)
    policy = OutboundPolicy(allow_private=allow_private, allowed_hosts=normalize_hosts(allowed_hosts))
    if policy.host_allowed(target.host):
        return
    literal = _literal(target.host)
    if literal is not None:
        _check_addresses(target.host, [literal])
        return
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundURLError(f"the host {target.host} does not resolve: {exc}") from exc
    _check_addresses(target.host, _from_addrinfo(infos))


async def resolve(host: str, port: int, *, timeout_s: float) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout_s
        )
    except TimeoutError as exc:
        raise OutboundURLError(f"resolving the host {host} timed out") from exc
    except (OSError, UnicodeError) as exc:
        raise OutboundURLError(f"the host {host} does not resolve: {exc}") from exc
    return _from_addrinfo(infos)


async def check_outbound_url_async(url: str, policy: OutboundPolicy) -> None:
    """:func:`check_outbound_url` without blocking the event loop."""
    target = parse_url(url)
    policy.refuse_unlisted(target.host)
    if policy.host_allowed(target.host):
        return
    literal = _literal(target.host)
    if literal is not None:
        _check_addresses(target.host, [literal])
        return
    _check_addresses(target.host, await resolve(target.host, target.port, timeout_s=policy.timeout_seconds))


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks at connect time, then connects to the checked address."""

    def __init__(self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.policy.refuse_unlisted(host)
        if self.policy.host_allowed(host):
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        literal = _literal(host)
        if literal is not None:
            addresses = _check_addresses(host, [literal])
        else:
            addresses = _check_addresses(
                host, await resolve(host, port, timeout_s=timeout or self.policy.timeout_seconds)
            )
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not allowed for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose connections go only to addresses the policy allows."""

    def __init__(self, policy: OutboundPolicy, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=5)
        super().__init__(trust_env=False, limits=limits)
        # httpx has no public hook for the network backend: the pool it built is replaced by an
        # identical one (same SSL context and limits) that connects through the guard.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy),
        )


def outbound_client(
    policy: OutboundPolicy, *, limits: httpx.Limits | None = None, **kwargs: Any
) -> httpx.AsyncClient:
    """An AsyncClient for tenant-chosen URLs: guarded transport, no redirects, no env proxies."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, limits=limits),
        timeout=httpx.Timeout(policy.timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        **kwargs,
    )


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of a streamed response body; the rest is not read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: Iterable[str]) -> str:
    """The client's address for rate limits: the TCP peer, unless the peer is a trusted proxy; then
    the right-most X-Forwarded-For address that is not itself a trusted proxy (what a client puts on
    the left of the header is never believed)."""
    networks = []
    for entry in trusted_proxies:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in networks)

    address = peer or "unknown"
    if not networks or not trusted(address) or not forwarded_for:
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not trusted(hop):
            return hop
    return address
