"""Benchmark: the console's class and learner pages on the demo data (embedded SQLite default).

    .venv/bin/python tests/bench/bench_console_classes.py [--var-dir DIR] [--repeat 30]

A script that prints figures, not a test (pytest does not collect ``bench_*.py``); nothing is asserted.

1. Loads the demo district into a fresh var dir (``portrait demo``), unless ``--var-dir`` names one that
   holds it already, and starts ``portrait serve`` (uvicorn, one worker) on a free local port.
2. Signs the demo teacher in with ``portrait sign-in-link`` and times, over HTTP on the loopback, the
   classes list, the teacher's first class page (heat map + scoring grid), the scoring grid's post (a
   fresh form each time: every learner scored, evidence written, awards evaluated) and the page of a
   learner of that class (Portrait and growth pictures). Each time is the whole request as the client
   sees it, so it is an upper bound of the server's time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import free_port, portrait, portrait_env, start_server, stop, wait_healthy

TEACHER = "teacher@demo.portrait.test"
_CLASS = re.compile(r'href="/console/classes/([0-9a-f-]{36})"')
_LEARNER = re.compile(r'href="/console/learners/([0-9a-f-]{36})"')
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
_KEY = re.compile(r'name="submission" value="([0-9a-f]+)"')
_COMPETENCY = re.compile(r'name="competency" value="([0-9a-f-]{36})"')
_SELECT = re.compile(r'<select class="select" id="(level-[0-9a-f-]{36})"')


def timed(label: str, repeat: int, call: Callable[[], httpx.Response]) -> None:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            raise SystemExit(f"{label}: HTTP {response.status_code}")
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(
        f"{label:<34} n={repeat:<3} median {statistics.median(samples):6.1f} ms  "
        f"p95 {p95:6.1f} ms  max {samples[-1]:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var-dir", type=Path, help="a var dir that already holds the demo")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    work = args.var_dir or Path(tempfile.mkdtemp(prefix="portrait-bench-console-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = portrait_env(work, None, base)
    if args.var_dir is None:
        print(f"portrait demo: {portrait(['demo'], env, work):.1f} s")
    server = start_server(env, work, port)
    try:
        wait_healthy(base, server)
        import subprocess

        from bench_api import PORTRAIT

        out = subprocess.run(  # noqa: S603 - our own console script
            [str(PORTRAIT), "sign-in-link", "--tenant", "demo", "--email", TEACHER],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        link = next(word for word in out.split() if "/console/sign-in/link/" in word).strip('",')
        with httpx.Client(base_url=base, timeout=30) as client:
            signed = client.get(link)
            if signed.status_code not in (200, 303):
                raise SystemExit(f"sign-in: HTTP {signed.status_code}")
            listing = client.get("/console/classes")
            class_id = _CLASS.findall(listing.text)[0]
            page = client.get(f"/console/classes/{class_id}")
            learners = _SELECT.findall(page.text)
            learner_id = _LEARNER.findall(page.text)[0]
            print(f"demo teacher's first class: {len(learners)} learners")
            timed("GET /console/classes", args.repeat, lambda: client.get("/console/classes"))
            timed(
                "GET /console/classes/{id}", args.repeat, lambda: client.get(f"/console/classes/{class_id}")
            )
            timed(
                "GET /console/learners/{id}",
                args.repeat,
                lambda: client.get(f"/console/learners/{learner_id}"),
            )

            def post() -> httpx.Response:
                fresh = client.get(f"/console/classes/{class_id}").text
                form = {
                    "csrf_token": _CSRF.findall(fresh)[-1],
                    "submission": _KEY.findall(fresh)[0],
                    "competency": _COMPETENCY.findall(fresh)[0],
                    "observed_on": time.strftime("%Y-%m-%d", time.gmtime()),
                    "note": "Benchmark scoring.",
                } | {name: "2" for name in learners}
                started = time.perf_counter()
                response = client.post(f"/console/classes/{class_id}/scores", data=form)
                post_times.append((time.perf_counter() - started) * 1000)
                return response

            post_times: list[float] = []
            rounds = max(3, args.repeat // 3)
            for _ in range(rounds):
                if post().status_code != 303:
                    raise SystemExit("the scoring grid was refused")
            post_times.sort()
            print(
                f"{'POST scoring grid (all learners)':<34} n={rounds:<3} median "
                f"{statistics.median(post_times):6.1f} ms  max {post_times[-1]:6.1f} ms"
            )
    finally:
        stop(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
