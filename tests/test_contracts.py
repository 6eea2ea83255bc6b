"""The committed contracts under openapi/ are exactly what the code produces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service import contracts


@pytest.mark.parametrize("name", sorted(contracts.CONTRACTS))
def test_committed_contract_matches_code(name: str) -> None:
    problem = contracts.drift(name, contracts.CONTRACTS[name]())
    if problem:
        pytest.fail(problem, pytrace=False)


def test_openapi_generation_ignores_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = contracts.openapi_json()
    monkeypatch.setenv("PORTRAIT_PUBLIC_URL", "https://elsewhere.example")
    monkeypatch.setenv("PORTRAIT_LIMITS__MAX_PAGE_SIZE", "7")
    monkeypatch.setenv("PORTRAIT_MODE", "production")
    assert contracts.openapi_json() == baseline


def test_openapi_is_stable_json() -> None:
    text = contracts.openapi_json()
    assert text.endswith("}\n")
    document = json.loads(text)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/learners" in document["paths"]


def test_check_command_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path)]
    assert contracts.main([*args, "--check"]) == 1
    assert "python3 dev.py contracts" in capsys.readouterr().err
    assert contracts.main(args) == 0
    assert contracts.main([*args, "--check"]) == 0
    (tmp_path / contracts.OPENAPI_FILE).write_text("{}\n")
    assert contracts.main([*args, "--check"]) == 1
    assert "differs from what the code produces" in capsys.readouterr().err
