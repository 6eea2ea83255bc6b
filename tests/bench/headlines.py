"""Headline figures of the benchmarks, and the README table made from them.

A benchmark calls :func:`record` for each figure an issue sets a goal for. Nothing happens unless
``PORTRAIT_BENCH_HEADLINES`` names a file: then one JSON line per figure is appended to it (key, value,
unit, the load average at that moment, when). ``tests/bench/run_headlines.py`` runs the benchmarks one
after another with that variable set, keeps the lines in ``tests/bench/headlines.jsonl`` and rewrites the
table between the markers in README.md with :func:`render`; ``tests/test_bench_headlines.py`` fails when
the README's table is not the rendering of the kept lines.

The goals (:data:`GOALS`) are the issues' words, not this module's: a figure is "met" only against them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENV = "PORTRAIT_BENCH_HEADLINES"
START = "<!-- bench-headlines:start (tests/bench/run_headlines.py writes this table) -->"
END = "<!-- bench-headlines:end -->"


def record(key: str, value: float, unit: str) -> None:
    """Append one headline figure to the file named by ``PORTRAIT_BENCH_HEADLINES``, if any."""
    target = os.environ.get(ENV)
    if not target:
        return
    if key not in GOALS:
        raise KeyError(f"unknown headline {key!r}: add it to tests/bench/headlines.GOALS")
    line = {
        "key": key,
        "value": round(float(value), 3),
        "unit": unit,
        "load": round(os.getloadavg()[0], 2),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


@dataclass(frozen=True)
class Goal:
    label: str  # what was measured, in plain words
    goal: str  # the issue's goal, as written in the table
    met: Callable[[float], bool] | None  # None: a figure reported next to a goal, not a goal itself
    fmt: str = "{:,.1f}"
    issue: int | None = None


GOALS: dict[str, Goal] = {
    "oneroster.full_s": Goal(
        "OneRoster full sync, 10,000 students", "< 30 s idle", lambda v: v < 30, "{:.1f} s", 12
    ),
    "oneroster.unchanged_s": Goal(
        "OneRoster re-run with nothing changed", "a fraction of the full sync", None, "{:.1f} s", 12
    ),
    "oneroster.delta_s": Goal("OneRoster delta sync, 1% changed", "", None, "{:.1f} s", 12),
    "oneroster.peak_mib": Goal("OneRoster sync, peak memory", "bounded", None, "{:.0f} MiB", 12),
    "graphql_abuse.health_p99_ms": Goal(
        "/health p99 while an anonymous client sends the worst GraphQL",
        "< 100 ms",
        lambda v: v < 100,
        "{:.1f} ms",
        11,
    ),
    "graphql_abuse.rest_p99_baseline_ms": Goal(
        "REST read p99 without the attacker", "", None, "{:.1f} ms", 11
    ),
    "graphql_abuse.rest_p99_attack_ms": Goal(
        "REST read p99 under that attack", "keeps its p99", None, "{:.1f} ms", 11
    ),
    "verify.own_eddsa_per_s": Goal(
        "POST /api/v1/verify, own eddsa credentials, warm, 16 in flight",
        ">= 1,000/s",
        lambda v: v >= 1000,
        "{:,.0f}/s",
        17,
    ),
    "vc_api.js_per_s": Goal(
        "VC-API issue, Digital Bazaar JS issuer, 16 in flight", "(reference)", None, "{:,.0f}/s", 17
    ),
    "vc_api.portrait_per_s": Goal("VC-API issue, Portrait, 16 in flight", "", None, "{:,.0f}/s", 17),
    "vc_api.ratio": Goal("VC-API issue, Portrait / JS issuer", ">= 10x", lambda v: v >= 10, "{:.1f}x", 17),
    "vc_api.p99_over_p50": Goal(
        "VC-API issue, Portrait p99 / p50 at 16 in flight", "<= 3", lambda v: v <= 3, "{:.1f}", 17
    ),
    "api.requests_per_s": Goal("Authenticated 20-row reads, 32 clients", "", None, "{:,.0f}/s", 17),
    "api.cpu_ms_per_request": Goal(
        "Server CPU per authenticated read", "<= 1 ms", lambda v: v <= 1, "{:.2f} ms", 17
    ),
    "api.p99_over_p50": Goal(
        "Authenticated reads, p99 / p50 at 32 clients", "<= 3", lambda v: v <= 3, "{:.1f}", 17
    ),
    "issuance.batch_per_s": Goal(
        "Batch issuance, award to signed stored credential, 1 process", "", None, "{:,.0f}/s", 17
    ),
    "issuance.batch_2_workers_per_s": Goal(
        "Batch issuance, 2 worker processes", ">= 2,000/s", lambda v: v >= 2000, "{:,.0f}/s", 17
    ),
    "transcripts.one_ms": Goal(
        "One transcript, 30 badges + 40 courses (median)",
        "< 100 ms",
        lambda v: v < 100,
        "{:.0f} ms",
        18,
    ),
    "transcripts.cohort_s": Goal(
        "Cohort of 1,000 transcripts, 2 workers", "< 2 min", lambda v: v < 120, "{:.1f} s", 18
    ),
    "cluster.reads_growth": Goal(
        "Reads, 1 API process + 1 worker -> 2 + 2", "grows with processes", None, "x{:.2f}", 17
    ),
    "cluster.ingest_growth": Goal(
        "Evidence ingest, 1 API process + 1 worker -> 2 + 2", "grows with processes", None, "x{:.2f}", 17
    ),
    "cluster.issuance_growth": Goal(
        "Issuance by workers, 1 API process + 1 worker -> 2 + 2", "grows with processes", None, "x{:.2f}", 17
    ),
    "evidence.records_per_s": Goal(
        "Evidence ingest with rules, 100,000 records", "no slower", None, "{:,.0f}/s", 17
    ),
    "evidence.class_progress_p99_ms": Goal(
        "Class progress, 35 learners, p99", "no slower", None, "{:.0f} ms", 17
    ),
}


def load(path: Path) -> list[dict[str, Any]]:
    """The lines of a headlines file (later lines of the same key win)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def render(lines: Iterable[dict[str, Any]]) -> str:
    """The README table of the latest figure of each key, in the order of :data:`GOALS`."""
    latest: dict[str, dict[str, Any]] = {}
    for line in lines:
        latest[line["key"]] = line
    if not latest:
        return "No benchmark run recorded yet."
    rows = [
        "| Issue | Measured | Figure | Goal | Met | Load |",
        "|---|---|---|---|---|---|",
    ]
    for key, goal in GOALS.items():
        line = latest.get(key)
        if line is None:
            continue
        value = float(line["value"])
        met = "" if goal.met is None else ("yes" if goal.met(value) else "**no**")
        issue = f"#{goal.issue}" if goal.issue else ""
        figure = goal.fmt.format(value)
        rows.append(f"| {issue} | {goal.label} | {figure} | {goal.goal} | {met} | {line['load']:.1f} |")
    days = sorted({line["at"][:10] for line in latest.values()})
    span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    rows.append("")
    rows.append(
        f"Measured {span} on the project's 2-core machine by `python3 dev.py headlines` "
        "(load: the 1-minute load average when the figure was taken)."
    )
    return "\n".join(rows)


def replace_block(readme: str, table: str) -> str:
    """README text with the block between the markers replaced by ``table``."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError("README.md lacks the bench-headlines markers")
    return f"{head}{START}\n{table}\n{END}{tail}"
