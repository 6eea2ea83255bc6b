from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from service.config import Settings
from tests.adapters.oneroster.fake_server import FakeOneRoster
from tests.adapters.oneroster.helpers import SyncEnv, sync_env


@pytest.fixture
def fake() -> Iterator[FakeOneRoster]:
    server = FakeOneRoster().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def or_settings(settings: Settings) -> Settings:
    """Private addresses allowed (the fake listens on 127.0.0.1), no real waiting between retries,
    small pages so that paging is exercised."""
    return settings.model_copy(
        update={
            "outbound": settings.outbound.model_copy(update={"allow_private": True}),
            "oneroster": settings.oneroster.model_copy(
                update={"page_size": 4, "backoff_base_seconds": 0.0, "max_retry_after_seconds": 0.05}
            ),
        }
    )


@pytest.fixture
async def env(migrated_url: str, or_settings: Settings, fake: FakeOneRoster) -> AsyncIterator[SyncEnv]:
    async with sync_env(migrated_url, or_settings, fake) as value:
        yield value
