"""The signing pool stops with the server.

Its workers (VC-API issuance, batch issuance, transcripts) wait on a queue that only the serving process
feeds; a server that stopped without shutting them down left them running, orphaned (found after
`portrait serve` had been stopped: one fork server and two workers per stopped process, 90 MiB each).
"""

from __future__ import annotations

import os

from service.app import create_app
from service.badges import signing
from service.config import Settings


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_app_stops_its_signing_pool_when_it_stops(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        worker = await signing.run_in_pool(os.getpid, processes=2)
        assert worker != os.getpid()
        assert alive(worker)
    assert not alive(worker)
    # The pool is made again on the next use (another app in the same process).
    again = await signing.run_in_pool(os.getpid, processes=2)
    assert again not in (worker, os.getpid())
    signing.shutdown()
