"""Logs and files (issue 11): a forged line in a request path stays on its line, production logs are
JSON by default, the SQLite database file is readable by its owner only."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

from pydantic import SecretStr

from service.config import Settings
from service.db import create_engine
from service.logging import PlainFormatter, _JsonFormatter


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("portrait.access", logging.INFO, __file__, 1, "%s %s", ("GET", message), None)
    record.request_id = "r1"
    return record


def test_control_characters_cannot_forge_a_log_line() -> None:
    forged = "/health\n2026-12-07 00:00:00 INFO [-] portrait.access: POST /admin 200"
    plain = PlainFormatter("%(levelname)s [%(request_id)s] %(name)s: %(message)s").format(_record(forged))
    assert "\n" not in plain and "\\x0a2026-12-07" in plain
    line = _JsonFormatter().format(_record(forged))
    assert "\n" not in line and json.loads(line)["message"] == f"GET {forged}"


def test_logs_are_json_by_default_in_production() -> None:
    secrets = {"token_secret": SecretStr("t" * 48), "key_encryption_key": SecretStr("k" * 48)}
    assert Settings(mode="production", **secrets).logs_as_json is True
    assert Settings(mode="embedded", **secrets).logs_as_json is False
    assert Settings(mode="production", log_json=False, **secrets).logs_as_json is False


async def test_the_sqlite_file_is_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "portrait.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path.as_posix()}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    await engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # an older install: tightened at the next start
    await create_engine(f"sqlite+aiosqlite:///{path.as_posix()}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
