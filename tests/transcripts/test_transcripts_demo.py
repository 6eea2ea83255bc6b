"""The demo district's seniors get their transcripts when it loads; they validate and verify."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, select

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.demo import load_demo
from service.roster.models import Person
from service.transcripts.models import Transcript
from tests.transcripts.helpers import official_errors


async def test_demo_seniors_have_valid_transcripts(
    committed_db: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = settings.model_copy(
        update={"database_url": str(committed_db.url), "var_dir": tmp_path_factory.mktemp("demo")}
    )
    counts = await load_demo(committed_db, env)
    async with committed_db.session() as session:
        transcripts = (await session.exec(select(Transcript))).all()
        learners = {t.learner_id for t in transcripts}
        people = (await session.exec(select(Person).where(col(Person.id).in_(learners)))).all()
    assert counts["transcripts"] == len(transcripts) > 0
    assert all("12" in p.grades for p in people) and len(people) == len(transcripts)
    app = create_app(env, database=committed_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for transcript in transcripts[:2]:
            public = await http.get(f"/transcripts/{transcript.id}")
            assert public.status_code == 200
            credential = public.json()
            assert official_errors(credential) == []
            verified = await http.post("/api/v1/verify", json=credential)
            body = verified.json()
            assert body["verified"] is True, [n for n in body["nested"] if not n["verified"]] or body[
                "checks"
            ]
            assert len(body["nested"]) == len(credential["credentialSubject"]["verifiableCredential"])
