"""The README's benchmark table is the rendering of the kept figures (tests/bench/headlines.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench import headlines

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_is_the_rendering_of_the_kept_figures() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    kept = headlines.load(ROOT / "tests" / "bench" / "headlines.jsonl")
    table = headlines.render(kept)
    assert headlines.replace_block(readme, table) == readme, "run: python3 dev.py headlines --render-only"


def test_every_kept_figure_has_a_goal_entry() -> None:
    kept = headlines.load(ROOT / "tests" / "bench" / "headlines.jsonl")
    assert {line["key"] for line in kept} <= set(headlines.GOALS)


def test_render_judges_each_figure_against_its_goal_and_keeps_the_latest() -> None:
    lines = [
        {"key": "oneroster.full_s", "value": 34.1, "unit": "s", "load": 1.2, "at": "2026-12-07T19:50:00Z"},
        {"key": "oneroster.full_s", "value": 24.0, "unit": "s", "load": 0.9, "at": "2026-12-08T03:00:00Z"},
        {"key": "vc_api.ratio", "value": 2.04, "unit": "ratio", "load": 1.5, "at": "2026-12-07T20:05:00Z"},
        {"key": "api.requests_per_s", "value": 900, "unit": "/s", "load": 1.0, "at": "2026-12-08T03:06:00Z"},
    ]
    table = headlines.render(lines).splitlines()
    sync = next(row for row in table if "OneRoster full sync" in row)
    assert "24.0 s" in sync and "34.1" not in sync and "| yes |" in sync and "| 0.9 |" in sync
    ratio = next(row for row in table if "Portrait / JS issuer" in row)
    assert "2.0x" in ratio and "**no**" in ratio
    reads = next(row for row in table if "20-row reads" in row)
    assert reads.split("|")[5].strip() == ""  # a figure without a goal of its own is not judged
    assert table[-1].startswith("Measured 2026-12-07 to 2026-12-08")
    # The order is GOALS' order, not the order of the lines.
    assert table.index(sync) < table.index(ratio) < table.index(reads)


def test_record_appends_only_when_asked_and_refuses_unknown_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "figures.jsonl"
    monkeypatch.delenv(headlines.ENV, raising=False)
    headlines.record("vc_api.ratio", 3.0, "ratio")
    assert not target.exists()
    monkeypatch.setenv(headlines.ENV, str(target))
    headlines.record("vc_api.ratio", 3.14159, "ratio")
    headlines.record("api.cpu_ms_per_request", 0.9, "ms")
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(line["key"], line["value"]) for line in lines] == [
        ("vc_api.ratio", 3.142),
        ("api.cpu_ms_per_request", 0.9),
    ]
    with pytest.raises(KeyError, match=r"no\.such"):
        headlines.record("no.such", 1.0, "s")


def test_replace_block_needs_both_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        headlines.replace_block("# README without the table\n", "| a |")
    text = f"intro\n{headlines.START}\nold\n{headlines.END}\noutro\n"
    assert headlines.replace_block(text, "new") == f"intro\n{headlines.START}\nnew\n{headlines.END}\noutro\n"
