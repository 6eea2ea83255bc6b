"""The ``portrait`` command against a real database: tenants, clients, demo, migrate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.config import Settings, get_settings
from service.db import Database
from service.tenancy import scopes as scope_names


@pytest.fixture
def cli_env(scratch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("PORTRAIT_DATABASE_URL", scratch_url)
    monkeypatch.setenv("PORTRAIT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTRAIT_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    out: dict[str, object] = json.loads(result.stdout[result.stdout.index("{") :])
    return out


async def _token(settings: Settings, client_id: str, secret: str) -> httpx.Response:
    db = Database(settings.database_url, pool_size=1)
    app = create_app(settings, database=db)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return await http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
    finally:
        await db.dispose()


def test_create_tenant_and_client_print_json(cli_env: Settings) -> None:
    assert CliRunner().invoke(cli, ["migrate"]).exit_code == 0
    tenant = _run("create-tenant", "--slug", "norwalk", "--name", "Norwalk Public Schools")
    assert tenant["slug"] == "norwalk"
    client = _run("create-client", "--tenant", "norwalk", "--scopes", "roster:read evidence:write")
    assert client["scopes"] == ["roster:read", "evidence:write"]
    assert str(client["client_id"]).startswith("pc_")
    everything = _run("create-client", "--tenant", "norwalk", "--all-scopes")
    assert everything["scopes"] == list(scope_names.ALL_SCOPES)

    import asyncio

    ok = asyncio.run(_token(cli_env, str(client["client_id"]), str(client["client_secret"])))
    assert ok.status_code == 200, ok.text
    assert ok.json()["scope"] == "roster:read evidence:write"


@pytest.mark.parametrize(
    "args",
    [
        ["create-client", "--tenant", "nope", "--all-scopes"],
        ["create-client", "--tenant", "norwalk", "--scopes", "roster:read bogus"],
        ["create-client", "--tenant", "norwalk"],
        ["create-client", "--tenant", "norwalk", "--all-scopes", "--scopes", "roster:read"],
        ["create-tenant", "--slug", "Bad Slug", "--name", "X"],
    ],
)
def test_cli_rejects_bad_arguments(cli_env: Settings, args: list[str]) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert runner.invoke(cli, ["create-tenant", "--slug", "norwalk", "--name", "N"]).exit_code == 0
    result = runner.invoke(cli, args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_duplicate_tenant_fails_cleanly(cli_env: Settings) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["create-tenant", "--slug", "dup", "--name", "A"]).exit_code != 0
    )  # not migrated
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert runner.invoke(cli, ["create-tenant", "--slug", "dup", "--name", "A"]).exit_code == 0
    again = runner.invoke(cli, ["create-tenant", "--slug", "dup", "--name", "A"])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_demo_loads_once_and_its_client_works(cli_env: Settings) -> None:
    first = _run("demo")
    assert first["created"] is True
    assert (first["schools"], first["learners"]) == (2, 200)
    assert int(str(first["teachers"])) > 0 and int(str(first["classes"])) > 0
    second = _run("demo")
    assert second["created"] is False
    creds = json.loads((cli_env.var_dir / "demo-client.json").read_text())
    assert oct((cli_env.var_dir / "demo-client.json").stat().st_mode & 0o777) == "0o600"

    import asyncio

    async def check() -> None:
        db = Database(cli_env.database_url, pool_size=1)
        app = create_app(cli_env, database=db)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                token = (
                    await http.post(
                        "/oauth/token",
                        data={"grant_type": "client_credentials"},
                        auth=(creds["client_id"], creds["client_secret"]),
                    )
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                learners = (await http.get("/api/v1/learners", headers=headers)).json()
                assert learners["total"] == 200
                schools = (await http.get("/api/v1/orgs", params={"type": "school"}, headers=headers)).json()
                assert schools["total"] == 2
                sessions = (
                    await http.get(
                        "/api/v1/academic-sessions", params={"type": "schoolYear"}, headers=headers
                    )
                ).json()
                assert sessions["total"] == 1
                klass = (await http.get("/api/v1/classes", params={"limit": 1}, headers=headers)).json()[
                    "items"
                ][0]
                roster = (
                    await http.get("/api/v1/learners", params={"class_id": klass["id"]}, headers=headers)
                ).json()
                assert roster["total"] > 0
                frameworks = (await http.get("/api/v1/frameworks", headers=headers)).json()
                assert {f["kind"] for f in frameworks["items"]} == {"graduate", "leader"}
                assert all(f["status"] == "published" for f in frameworks["items"])
                awards = (await http.get("/api/v1/awards", params={"limit": 1}, headers=headers)).json()
                assert awards["total"] == first["awards"]
                review = (
                    await http.get("/api/v1/awards", params={"needs_review": True}, headers=headers)
                ).json()
                assert review["total"] == first["awards_under_review"] > 0
                # Some learners are one piece short, and progress says so.
                learners_page = (
                    await http.get("/api/v1/learners", params={"limit": 200}, headers=headers)
                ).json()
                short = 0
                for learner in learners_page["items"][:40]:
                    progress = (
                        await http.get(f"/api/v1/learners/{learner['id']}/progress", headers=headers)
                    ).json()
                    for item in progress["achievements"]:
                        if not item["earned"] and any("1 more" in r for r in item["reasons"]):
                            short += 1
                assert short > 0
        finally:
            await db.dispose()

    asyncio.run(check())
