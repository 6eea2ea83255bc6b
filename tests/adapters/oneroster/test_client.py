"""The client against the fake provider: tokens, paging modes, retries, errors, the outbound guard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.adapters.oneroster.client import (
    ClientConfig,
    OneRosterClient,
    find_imsx,
    parse_link_next,
    retry_after_seconds,
)
from service.adapters.oneroster.errors import OneRosterError
from service.net import OutboundPolicy
from tests.adapters.oneroster.fake_server import FakeOneRoster, imsx

ALLOW = OutboundPolicy(allow_private=True)


def config(fake: FakeOneRoster, **overrides: object) -> ClientConfig:
    values: dict[str, object] = {
        "base_url": fake.url,
        "version": fake.version,
        "token_url": fake.token_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "scopes": ("roster.readonly",),
        "page_size": 3,
        "max_concurrency": 3,
        "backoff_base_seconds": 0.0,
        "max_retry_after_seconds": 0.05,
    }
    values.update(overrides)
    return ClientConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def users(fake: FakeOneRoster) -> list[str]:
    for i in range(10):
        fake.put("users", {"sourcedId": f"u{i}", "givenName": "G", "familyName": "F", "role": "student"})
    return [f"u{i}" for i in range(10)]


async def collect(client: OneRosterClient, collection: str = "users", **kw: object) -> list[str]:
    out = []
    async for page in client.pages(collection, **kw):  # type: ignore[arg-type]
        out.extend(r["sourcedId"] for r in page.records)
    return out


@pytest.fixture
async def client(fake: FakeOneRoster) -> AsyncIterator[OneRosterClient]:
    async with OneRosterClient(config(fake), ALLOW) as c:
        yield c


@pytest.mark.parametrize(
    ("send_total", "send_link"), [(True, True), (True, False), (False, True), (False, False)]
)
async def test_every_paging_style_reads_each_record_once_in_order(
    fake: FakeOneRoster, users: list[str], send_total: bool, send_link: bool
) -> None:
    fake.send_total, fake.send_link = send_total, send_link
    async with OneRosterClient(config(fake), ALLOW) as client:
        assert await collect(client) == users
    offsets = sorted(int(q["offset"]) for q in fake.requests_to("users"))
    # no Link and no total: only an empty page ends it (a short page may be a silent cap)
    assert offsets == ([0, 3, 6, 9] if send_total or send_link else [0, 3, 6, 9, 10])
    assert all(q["limit"] == "3" for q in fake.requests_to("users"))


@pytest.mark.parametrize(
    ("send_total", "send_link"), [(True, True), (True, False), (False, True), (False, False)]
)
async def test_provider_capping_the_limit_is_followed(
    fake: FakeOneRoster, users: list[str], send_total: bool, send_link: bool
) -> None:
    """Asks for 3, gets 2: without Link or total the short first page used to end the collection."""
    fake.max_limit = 2
    fake.send_total, fake.send_link = send_total, send_link
    async with OneRosterClient(config(fake), ALLOW) as client:
        assert await collect(client) == users
        assert client.stats.page_sizes == {"users": 2}  # learned


async def test_a_short_page_inside_a_known_total_is_not_skipped(
    fake: FakeOneRoster, users: list[str]
) -> None:
    """The concurrent window steps by the first page's size; a later page served shorter must not
    make it jump over records."""
    fake.send_link = False
    fake.short_pages = {3: 1}  # the page at offset 3 holds one record only
    async with OneRosterClient(config(fake), ALLOW) as client:
        assert await collect(client) == users


@pytest.mark.parametrize(
    ("send_total", "send_link"), [(True, True), (True, False), (False, True), (False, False)]
)
async def test_prepare_runs_on_each_page_of_every_paging_style(
    fake: FakeOneRoster, users: list[str], send_total: bool, send_link: bool
) -> None:
    """What ``prepare`` makes of a page's records travels with that page (concurrent window,
    one page ahead, and the switch to sequential after a short page alike)."""
    fake.send_total, fake.send_link = send_total, send_link
    fake.short_pages = {3: 1}
    seen: list[str] = []
    async with OneRosterClient(config(fake), ALLOW) as client:
        pages = client.pages("users", prepare=lambda records: [r["sourcedId"] for r in records])
        async for page in pages:  # type: ignore[attr-defined]
            # an empty page (the end, without Link or total) has nothing to prepare
            assert page.prepared == ([r["sourcedId"] for r in page.records] or None)
            seen.extend(page.prepared or [])
    assert seen == users


async def test_delta_filter_is_sent_and_honoured(
    fake: FakeOneRoster, users: list[str], client: OneRosterClient
) -> None:
    mark = fake.data["users"]["u6"]["dateLastModified"]
    assert await collect(client, since=mark) == ["u7", "u8", "u9"]
    assert fake.requests_to("users")[-1]["filter"] == f"dateLastModified>'{mark}'"


async def test_429_and_500_are_retried_honouring_retry_after(
    fake: FakeOneRoster, users: list[str], client: OneRosterClient
) -> None:
    fake.inject("/users", 429, headers={"Retry-After": "0"})
    fake.inject("/users", 503, times=2)
    assert await collect(client) == users
    assert client.stats.retries == 3
    assert client.stats.by_status["429"] == 1 and client.stats.by_status["503"] == 2


async def test_retries_give_up_with_the_provider_error(fake: FakeOneRoster, users: list[str]) -> None:
    fake.inject("/users", 500, times=10, body=imsx("failure", "database on fire", "server_busy"))
    async with OneRosterClient(config(fake, max_retries=2), ALLOW) as client:
        with pytest.raises(OneRosterError) as caught:
            await collect(client)
    error = caught.value
    assert error.kind == "http_500" and error.status == 500
    assert error.code_major == "failure" and error.code_minor == "server_busy"
    assert "database on fire" in error.message
    assert len(fake.requests_to("users")) == 3


async def test_client_error_is_not_retried_and_surfaces_imsx(
    fake: FakeOneRoster, client: OneRosterClient
) -> None:
    with pytest.raises(OneRosterError) as caught:
        await client.get_json(fake.url + "/ims/oneroster/rostering/v1p2/users?filter=nonsense")
    assert caught.value.kind == "http_400" and caught.value.code_minor == "invalid_filter_field"
    assert len(fake.requests_to("users")) == 1


async def test_token_is_reused_then_refreshed_after_expiry_and_on_401(
    fake: FakeOneRoster, users: list[str], client: OneRosterClient
) -> None:
    await collect(client)
    assert fake.token_requests == 1  # one token for the four pages
    fake.expire_tokens()  # the provider forgets it early: 401, new token, same request again
    assert await collect(client) == users
    assert fake.token_requests == 2


async def test_tokens_are_renewed_shortly_before_they_expire(fake: FakeOneRoster, users: list[str]) -> None:
    fake.token_ttl = 120
    now = [1000.0]
    async with OneRosterClient(config(fake), ALLOW, clock=lambda: now[0]) as client:
        await client.token()
        now[0] += 80  # 40 s left: still used
        await collect(client)
        assert fake.token_requests == 1
        now[0] += 15  # 25 s left, within the 30 s margin: renewed before the request, no 401
        await collect(client)
    assert fake.token_requests == 2
    assert "401" not in client.stats.by_status


async def test_wrong_secret_is_an_auth_error(fake: FakeOneRoster) -> None:
    async with OneRosterClient(config(fake, client_secret="nope"), ALLOW) as client:
        with pytest.raises(OneRosterError) as caught:
            await collect(client)
    assert caught.value.kind == "auth" and "unknown client or wrong secret" in caught.value.message


async def test_private_addresses_are_refused_without_the_allow_setting(fake: FakeOneRoster) -> None:
    async with OneRosterClient(config(fake), OutboundPolicy()) as client:
        with pytest.raises(OneRosterError) as caught:
            await client.token()
    assert caught.value.kind == "blocked" and "loopback" in caught.value.message
    assert fake.token_requests == 0


async def test_oversized_answers_are_refused(fake: FakeOneRoster, users: list[str]) -> None:
    async with OneRosterClient(config(fake, max_page_bytes=200), ALLOW) as client:
        with pytest.raises(OneRosterError) as caught:
            await collect(client)
    assert caught.value.kind == "bad_response" and "exceeds 200 bytes" in caught.value.message


async def test_link_to_another_origin_is_not_followed(fake: FakeOneRoster, users: list[str]) -> None:
    fake.send_total = False
    async with OneRosterClient(config(fake), ALLOW) as client:
        page = await client._fetch("users", client.collection_url("users"))
        assert page.next_url is not None and page.next_url.startswith(fake.url)


def test_header_and_body_parsers() -> None:
    assert parse_link_next('<https://x/a?offset=3>; rel="next", <https://x/a?offset=9>; rel="last"') == (
        "https://x/a?offset=3"
    )
    assert parse_link_next('<https://x/a?offset=9>; rel="last"') is None
    assert parse_link_next(None) is None
    assert retry_after_seconds("7", cap=60) == 7
    assert retry_after_seconds("700", cap=60) == 60
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", cap=60) == 0
    assert retry_after_seconds("soon", cap=60) is None
    nested = {
        "imsx_StatusInfo": {
            "imsx_codeMajor": "failure",
            "imsx_description": "bad",
            "imsx_CodeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldValue": "unknownobject"}]},
        }
    }
    assert find_imsx(nested) == {"code_major": "failure", "description": "bad", "code_minor": "unknownobject"}
    assert find_imsx("not json") == {}


def test_oauth1_base_string_matches_rfc_5849() -> None:
    """The example of RFC 5849 section 3.4.1.1 (the base string does not depend on the method)."""
    from service.adapters.oneroster.client import oauth1_base_string

    params = [
        ("b5", "=%3D"), ("a3", "a"), ("c@", ""), ("a2", "r b"),  # the query
        ("c2", ""), ("a3", "2 q"),  # the form body
        ("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
    ]  # fmt: skip
    assert oauth1_base_string(
        "post", "http://EXAMPLE.COM:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", params
    ) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540"
        "%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3D"
        "HMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    )


async def test_oauth1_signed_requests_against_a_1_1_provider(users: list[str]) -> None:
    fake = FakeOneRoster(version="1.1").start()
    try:
        fake.oauth1 = True
        for i in range(5):
            fake.put("users", {"sourcedId": f"u{i}", "givenName": "G", "familyName": "F", "role": "student"})
        async with OneRosterClient(
            config(fake, version="1.1", auth_method="oauth1", token_url=""), ALLOW
        ) as client:
            assert await collect(client) == [f"u{i}" for i in range(5)]
        assert fake.token_requests == 0 and len(fake.nonces) == 2
        async with OneRosterClient(
            config(fake, version="1.1", auth_method="oauth1", client_secret="wrong"), ALLOW
        ) as client:
            with pytest.raises(OneRosterError) as caught:
                await collect(client)
        assert caught.value.kind == "auth" and caught.value.status == 401
    finally:
        fake.stop()
