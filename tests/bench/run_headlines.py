"""Run the benchmarks behind the issues' goals one after another and regenerate the README's table.

    python3 dev.py headlines [--only NAME ...] [--postgres-url URL]

Each benchmark runs as shipped (the arguments below are the ones the figures in docs/benchmarks.md were
taken with), its output kept in ``var/bench/<UTC time>/<name>.log``; a progress line says which one runs and
how long the earlier ones took. The figures each benchmark records (``tests/bench/headlines.py``) are
added to ``tests/bench/headlines.jsonl``, and README.md's table is rewritten from that file. Run it on an
otherwise idle machine: on a shared one the wall-clock figures follow the load, which the table prints.
Needs PostgreSQL (``--postgres-url`` or the benchmarks' own defaults on 127.0.0.1:5432) and, for the VC-API
comparison, Node with npm (the benchmark installs the JS issuer from the npm registry).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.bench import headlines  # noqa: E402

#: name -> (script, arguments, takes --database-url)
BENCHMARKS: dict[str, tuple[str, list[str], bool]] = {
    "oneroster": ("bench_oneroster.py", [], True),
    "graphql_abuse": ("bench_graphql_abuse.py", [], False),
    "verify": ("bench_verify.py", ["--skip-in-process", "--workers", "2", "--requests", "3000"], False),
    "vc_api": ("bench_vc_api.py", ["--requests", "1000"], False),
    "api": ("bench_api.py", ["--cold-runs", "1"], True),
    "issuance": ("bench_issuance.py", ["--count", "4000"], True),
    "transcripts": ("bench_transcripts.py", ["--runs", "10"], True),
    "evidence": ("bench_evidence.py", [], True),
    "cluster": ("bench_cluster.py", [], True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument(
        "--postgres-url",
        help="a PostgreSQL server URL whose database name each benchmark replaces with its own "
        "(portrait_headlines_<name>); default: each benchmark's own default database",
    )
    parser.add_argument("--render-only", action="store_true", help="rewrite README.md from the kept lines")
    args = parser.parse_args(argv)
    kept = HERE / "headlines.jsonl"
    failed: list[str] = []
    if not args.render_only:
        names = args.only or list(BENCHMARKS)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        logs = ROOT / "var" / "bench" / stamp
        logs.mkdir(parents=True, exist_ok=True)
        fresh = logs / "headlines.jsonl"
        env = {**os.environ, headlines.ENV: str(fresh), "PYTHONPATH": str(ROOT)}
        began = time.monotonic()
        for number, name in enumerate(names, 1):
            script, extra, takes_url = BENCHMARKS[name]
            command = [sys.executable, str(HERE / script), *extra]
            if takes_url and args.postgres_url:
                base = args.postgres_url.rsplit("/", 1)[0]
                command += ["--database-url", f"{base}/portrait_headlines_{name}"]
            print(
                f"[{number}/{len(names)}] {name}: {' '.join(command[1:])}  "
                f"({time.monotonic() - began:.0f} s so far; load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            started = time.monotonic()
            with (logs / f"{name}.log").open("w", encoding="utf-8") as log:
                code = subprocess.call(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            status = "ok" if code == 0 else f"FAILED (exit {code}, see {logs / (name + '.log')})"
            print(f"      {status} in {time.monotonic() - started:.0f} s", flush=True)
            if code != 0:
                failed.append(name)
        new = fresh.read_text(encoding="utf-8") if fresh.exists() else ""
        with kept.open("a", encoding="utf-8") as out:
            out.write(new)
        print(f"{len(new.splitlines())} figures added to {kept.relative_to(ROOT)}; logs in {logs}")
        if failed:
            print(f"failed: {', '.join(failed)} (their figures are missing from this run)")
    readme = ROOT / "README.md"
    table = headlines.render(headlines.load(kept))
    readme.write_text(headlines.replace_block(readme.read_text(encoding="utf-8"), table), encoding="utf-8")
    print(table)
    return 1 if not args.render_only and failed else 0


if __name__ == "__main__":
    sys.exit(main())
