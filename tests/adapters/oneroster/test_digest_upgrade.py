"""A database written by a release with the older, unversioned record digest: the first sync after the
upgrade finds the same records unchanged (it does not report or rewrite them as updated) and leaves
every digest in the current form."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.adapters.oneroster.mapping import Mapped, is_current_digest
from tests.adapters.oneroster.fake_server import small_district
from tests.adapters.oneroster.helpers import SyncEnv, full_sync_changes_nothing, snapshot, timestamps


async def digests(env: SyncEnv) -> list[str]:
    async with env.db.session() as session:
        rows = await session.execute(text("SELECT digest FROM oneroster_records"))
        return [d for (d,) in rows.all()]


async def test_first_sync_after_the_digest_change_reports_nothing_changed(
    env: SyncEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_district(env.fake)
    with monkeypatch.context() as m:
        # The release before: its digest is what legacy_digest computes.
        m.setattr(Mapped, "digest", Mapped.legacy_digest)
        first = await env.run("full")
    assert first.state == "succeeded", first.error
    assert not any(is_current_digest(d) for d in await digests(env))
    snap, before = await snapshot(env.db, env.tenant_id), await timestamps(env.db, env.tenant_id)
    # Same values under a new dateLastModified: the short-cut does not apply, the digests are compared.
    for collection, records in env.fake.data.items():
        for sid in list(records):
            env.fake.update(collection, sid)

    await full_sync_changes_nothing(env, snap, before)
    assert all(is_current_digest(d) for d in await digests(env))

    third = await env.run("full")  # and from then on the short-cut applies again
    assert third.state == "succeeded", third.error
    assert third.report is not None and third.report["totals"]["updated"] == 0
