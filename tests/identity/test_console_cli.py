"""The console's command-line contract on the demo district: ``portrait sign-in-link`` prints a one-time URL
that signs the demo counselor or teacher in; ``grant-role`` and ``set-sso`` as an operator uses them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.config import Settings, get_settings
from service.db import Database
from service.demo import DEMO_COUNSELOR_EMAIL, DEMO_TEACHER_EMAIL


@pytest.fixture
def cli_env(scratch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("PORTRAIT_DATABASE_URL", scratch_url)
    monkeypatch.setenv("PORTRAIT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTRAIT_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


async def open_console(settings: Settings, link: str) -> dict[str, str]:
    """Open a sign-in link in a fresh browser; the learners page and a learner page it then sees."""
    db = Database(settings.database_url, pool_size=2)
    app = create_app(settings, database=db)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as browser:
            opened = await browser.get(link)
            assert opened.status_code == 303 and opened.headers["location"] == "/console/"
            home = await browser.get("/console/")
            learners = await browser.get("/console/learners")
            first = re.search(r'href="(/console/learners/[0-9a-f-]{36})"', learners.text)
            assert first is not None, learners.text
            learner = await browser.get(first.group(1))
            again = await browser.get(link)
            return {
                "home": home.text,
                "learners": learners.text,
                "learner": learner.text,
                "again": str(again.status_code),
            }
    finally:
        await db.dispose()


def test_sign_in_links_for_the_demo_staff(cli_env: Settings) -> None:
    run("demo")
    link = run("sign-in-link", "--tenant", "demo", "--email", DEMO_COUNSELOR_EMAIL).strip()
    assert link.startswith(f"{cli_env.public_url}/console/sign-in/link/")
    seen = asyncio.run(open_console(cli_env, link))
    assert "(Counselor), Demo Unified School District" in seen["home"]
    assert "100 learners" in seen["learners"]  # the high school's, not the middle school's
    assert "Portrait levels" in seen["learner"] and "Badges" in seen["learner"]
    assert seen["again"] == "401"  # each link works once

    teacher_link = run("sign-in-link", "--tenant", "demo", "--email", DEMO_TEACHER_EMAIL.upper()).strip()
    seen = asyncio.run(open_console(cli_env, teacher_link))
    assert "(Educator)" in seen["home"]
    total = int(re.search(r"(\d+) learners", seen["learners"]).group(1))  # type: ignore[union-attr]
    assert 0 < total < 100  # only the learners of the classes they teach

    refused = run("sign-in-link", "--tenant", "demo", "--email", "s0001@students.demo.example", code=1)
    assert "no staff member" in refused
    assert "no district" in run(
        "sign-in-link", "--tenant", "nowhere", "--email", DEMO_COUNSELOR_EMAIL, code=1
    )


def test_grant_role_and_set_sso(cli_env: Settings) -> None:
    run("demo")
    granted = json.loads(
        run(
            "grant-role",
            "--tenant",
            "demo",
            "--email",
            DEMO_TEACHER_EMAIL,
            "--role",
            "counselor",
            "--school",
            "demo-school-ms",
        )
    )
    assert granted["role"] == "counselor" and granted["org_id"]
    assert "unknown role" in run(
        "grant-role", "--tenant", "demo", "--email", DEMO_TEACHER_EMAIL, "--role", "boss", code=2
    )
    seen = asyncio.run(
        open_console(cli_env, run("sign-in-link", "--tenant", "demo", "--email", DEMO_TEACHER_EMAIL).strip())
    )
    assert "(Educator, Counselor)" in seen["home"]
    # the middle school's 100 learners (by the grant) and the high-school learners of their classes
    assert int(re.search(r"(\d+) learners", seen["learners"]).group(1)) > 100  # type: ignore[union-attr]

    sso = json.loads(
        run(
            "set-sso",
            "--tenant",
            "demo",
            "--issuer",
            "https://accounts.google.com",
            "--client-id",
            "demo-client",
            "--client-secret",
            "demo-secret-value",
        )
    )
    assert sso["issuer"] == "https://accounts.google.com" and "client_secret" not in sso
    assert sso["redirect_uri"] == f"{cli_env.public_url}/console/sso/callback"
    assert "issuer" in run(
        "set-sso",
        "--tenant",
        "demo",
        "--issuer",
        "ftp://x",
        "--client-id",
        "a",
        "--client-secret",
        "b",
        code=2,
    )
