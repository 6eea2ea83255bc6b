"""The outbound guard: URL checks when a URL is accepted, address checks when a connection is made.
Real name resolution (localhost from /etc/hosts) and real connections on loopback only."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from service.net import (
    BlockedAddressError,
    OutboundPolicy,
    OutboundURLError,
    check_outbound_url,
    check_outbound_url_async,
    forbidden_reason,
    outbound_client,
)
from tests.webhooks.receiver import running_receiver

STRICT = OutboundPolicy()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://172.16.5.4/hook", "private"),
        ("http://192.168.1.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fd00::1]/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),  # IPv4-mapped IPv6
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[64:ff9b::a9fe:a9fe]/hook", "link-local"),  # NAT64 of 169.254.169.254
        ("http://[2002:a00:1::1]/hook", "private"),  # 6to4 of 10.0.0.1
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[ff02::1]/hook", "multicast"),
        ("http://240.0.0.1/hook", "reserved"),
        ("http://100.64.0.1/hook", "not a public address"),  # carrier-grade NAT
        ("http://localhost:9/hook", "resolves to 127.0.0.1"),  # a name resolving to loopback
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 spelled as one number
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.org/x", "only http and https"),
        ("gopher://example.org/", "only http and https"),
        ("/relative/path", "only http and https"),
        ("http://user:pw@example.org/hook", "credentials"),
        ("http://user@example.org/hook", "credentials"),
        ("http:///nohost", "no host"),
        ("http://example.org:99999/", "cannot be parsed"),
        ("http://exa mple.org/", "whitespace"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
    ],
)
async def test_rejected_urls(url: str, reason: str) -> None:
    with pytest.raises(OutboundURLError, match=reason):
        check_outbound_url(url, allow_private=False, allowed_hosts=set())
    with pytest.raises(OutboundURLError, match=reason):
        await check_outbound_url_async(url, STRICT)


async def test_public_addresses_pass_without_configuration() -> None:
    for url in ("https://93.184.215.14/hooks", "http://[2606:4700::1111]:8443/x", "https://8.8.8.8"):
        check_outbound_url(url, allow_private=False, allowed_hosts=set())
        await check_outbound_url_async(url, STRICT)


async def test_private_addresses_pass_when_allowed() -> None:
    check_outbound_url("http://localhost:9/hook", allow_private=True, allowed_hosts=set())
    check_outbound_url("http://LOCALHOST.:9/hook", allow_private=False, allowed_hosts={"localhost"})
    check_outbound_url("http://[::1]/hook", allow_private=False, allowed_hosts={"[::1]"})
    await check_outbound_url_async("http://10.0.0.1/", OutboundPolicy(allowed_hosts=frozenset({"10.0.0.1"})))
    # allowing one host does not allow the others
    with pytest.raises(BlockedAddressError):
        check_outbound_url("http://10.0.0.2/", allow_private=False, allowed_hosts={"10.0.0.1"})
    # the scheme and credential rules hold even for allowed hosts
    with pytest.raises(OutboundURLError, match="credentials"):
        check_outbound_url("http://a:b@localhost/", allow_private=True, allowed_hosts=set())


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
        ("::ffff:8.8.8.8", False),
        ("127.8.9.10", True),
        ("::", True),
        ("::ffff:192.168.0.1", True),
        ("192.0.2.1", True),  # TEST-NET-1, documentation only
        ("2001:db8::1", True),  # documentation prefix
        ("fc00::1", True),
    ],
)
def test_forbidden_reason_table(address: str, forbidden: bool) -> None:
    assert (forbidden_reason(ipaddress.ip_address(address)) is not None) is forbidden


async def test_the_transport_checks_the_address_at_connect_time() -> None:
    """Whatever was checked before, the connection itself is refused when the host resolves to a
    private address now (DNS rebinding), and nothing reaches the server."""
    async with running_receiver() as receiver:
        url = f"http://localhost:{receiver.port}/hook"
        async with outbound_client(STRICT) as client:
            with pytest.raises(BlockedAddressError, match=r"resolves to 127\.0\.0\.1"):
                await client.post(url, content=b"{}")
            with pytest.raises(BlockedAddressError, match="loopback"):
                await client.post(f"http://127.0.0.1:{receiver.port}/hook", content=b"{}")
        assert receiver.connections == 0 and receiver.requests == []

        allowed = OutboundPolicy(allowed_hosts=frozenset({"localhost"}))
        async with outbound_client(allowed) as client:
            response = await client.post(url, content=b"{}")
        assert response.status_code == 200
        assert (
            len(receiver.requests) == 1
            and receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
        )


async def test_the_guarded_client_ignores_proxies_and_redirects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.0.0.1:3128")
    async with running_receiver() as receiver:
        receiver.fail_next(1, status=302)
        async with outbound_client(OutboundPolicy(allow_private=True)) as client:
            response = await client.post(receiver.url, content=b"{}")
        assert response.status_code == 302  # not followed
        assert len(receiver.requests) == 1  # reached directly, not through the proxy
    with pytest.raises(httpx.UnsupportedProtocol):
        async with outbound_client(OutboundPolicy(allow_private=True)) as client:
            await client.get("file:///etc/passwd")


async def test_allowlist_only_refuses_every_unlisted_host() -> None:
    policy = OutboundPolicy(allowlist_only=True, allowed_hosts=frozenset({"hooks.example.org"}))
    with pytest.raises(BlockedAddressError, match="allow-list"):
        await check_outbound_url_async("https://93.184.216.34/hook", policy)
    with pytest.raises(BlockedAddressError, match="allow-list"):
        await check_outbound_url_async(
            "http://127.0.0.1:9/hook", OutboundPolicy(allowlist_only=True, allow_private=True)
        )
    await check_outbound_url_async("https://hooks.example.org/x", policy)
