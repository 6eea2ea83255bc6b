"""The demo district's badges are issued when it loads, and they verify through the public routes."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlmodel import col, select

from service.app import create_app
from service.badges.models import IssuedCredential
from service.config import Settings
from service.db import Database
from service.demo import load_demo
from tests.badges.helpers import official_schema_errors, verify_via_http


async def test_demo_badges_are_issued_and_verify(
    committed_db: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = settings.model_copy(
        update={"database_url": str(committed_db.url), "var_dir": tmp_path_factory.mktemp("demo")}
    )
    counts = await load_demo(committed_db, env)
    assert counts["awards"] > 0 and counts["credentials"] > 0
    async with committed_db.session() as session:
        # Badges only: the demo's transcripts share the table (tests/transcripts checks those).
        rows = (
            await session.exec(
                select(IssuedCredential).where(col(IssuedCredential.achievement_id).is_not(None))
            )
        ).all()
    assert len(rows) == counts["credentials"]
    app = create_app(env, database=committed_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for row in rows[:3]:
            document = json.loads(row.document)
            assert official_schema_errors(document) == []
            assert document["issuer"]["id"] == "did:web:portrait.test:issuers:demo"
            # Issuance stores the Data Integrity form; the VC-JWT is signed on its first request.
            assert row.jwt is None
            first = await http.get(f"/credentials/{row.id}.jwt")
            assert first.status_code == 200
            token = first.text
            for form in (document, token):
                result = await verify_via_http(http, form)
                assert result.verified, [c.to_json() for c in result.checks]
            page = await http.get(f"/credentials/{row.id}", headers={"Accept": "text/html"})
            assert page.status_code == 200 and 'data-status="active"' in page.text
            # What a workforce partner uses: the public verification API and page (both formats).
            api = await http.post("/api/v1/verify", json=document)
            assert api.status_code == 200 and api.json()["verified"] is True, api.json()
            jws = await http.post("/api/v1/verify", content=token, headers={"Content-Type": "text/plain"})
            assert jws.status_code == 200 and jws.json()["verified"] is True, jws.json()
            pasted = await http.post("/verify", data={"credential": row.document})
            assert pasted.status_code == 200 and 'data-state="valid"' in pasted.text
