from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.config import Settings
from tests.jobs.helpers import Committed, committed_database


@pytest.fixture
async def committed(migrated_url: str, settings: Settings) -> AsyncIterator[Committed]:
    async with committed_database(migrated_url, settings) as env:
        yield env
