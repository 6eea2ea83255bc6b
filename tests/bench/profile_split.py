"""Split a py-spy raw profile (``bench_vc_api.py --profile``) of the Portrait server into where a VC-API
issue request's CPU goes: prints a table of shares (API process, signing pool workers apart).

    .venv/bin/python tests/bench/profile_split.py var/bench/vc_api_issue-status.pyspy.txt [CPU_MS]

Each sample's stack is put in the first matching group below, searched from the innermost frame of
the service's own code outward (then the libraries'), so that a database statement counts for the
service code that issued it (the status list, the credential's INSERT, the token check...).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

BODY = "body parsing and validation (JSON twice: middleware bound check, FastAPI; pydantic)"
POOL = "hand-off to the signing pool and back (pickle, pipe, futures, result thread)"
SQLITE = "SQLite executing statements (aiosqlite thread)"
#: Library frames that decide the group wherever they are in the stack.
FIRST = [
    (BODY, r"json/decoder|json/__init__|pydantic|jsonio\.py|bodies\.py|_get_body|request_body_to_args"),
    (POOL, r"pickle|concurrent/futures|multiprocessing|badges/signing\.py"),
]
#: (group, pattern) for frames of the service's own code, innermost first.
SERVICE = [
    (
        "status list: which list and how full (latest list, COUNT of its entries)",
        r"latest_list|entries_in_list|status_lists\.py",
    ),
    ("storing the credential (INSERT; group writer)", r"insert_credential|group_commit\.py"),
    (
        "session: BEGIN / COMMIT, connection checkout; cache epochs",
        r"api/deps\.py|service/db\.py|hotcache\.py",
    ),
    ("token check (JWT, client, tenant)", r"tenancy/|authenticate|bearer_token"),
    ("district and key lookup (issuer by slug, signer)", r"badges/public\.py|badges/issuers\.py"),
    (
        "VC-API checks (context, issuer, dates, data model rules)",
        r"badges/vc_api\.py|data_model\.py|timeutil",
    ),
    ("route: response", r"vc_api_issue\.py"),
    (
        "middleware, and the ASGI and FastAPI code under it",
        r"api/middleware|ratelimit|observability|telemetry",
    ),
]
#: Groups for the rest, by library.
LIBRARY = [
    (SQLITE, r"aiosqlite|Thread\.run"),
    ("SQLAlchemy and driver glue (greenlets, result rows)", r"sqlalchemy|sqlmodel|asyncpg|greenlet"),
    (
        "HTTP and ASGI (uvicorn, httptools, starlette, FastAPI routing, event loop)",
        r"uvicorn|httptools|h11|starlette|fastapi|asyncio|uvloop|anyio|cli\.py",
    ),
]


def classify(frames: list[str]) -> str:
    for group, pattern in FIRST:
        if any(re.search(pattern, frame) for frame in frames):
            return group
    for frame in reversed(frames):
        if "service/" in frame:
            for group, pattern in SERVICE:
                if re.search(pattern, frame):
                    return group
    if frames[-1].startswith("Runner.run ("):
        return "event loop itself, native (uvloop: sockets, epoll, callbacks, transports)"
    for group, pattern in LIBRARY:
        if any(re.search(pattern, frame) for frame in frames):
            return group
    return (
        "native code without a Python frame (garbage collection, thread start)"
        if len(frames) == 1
        else "other"
    )


def main(path: str, cpu_ms: float | None = None) -> None:
    """``cpu_ms``: the API process's CPU per credential measured in the same run (bench_vc_api prints
    it): each share is also given in milliseconds."""
    api: Counter[str] = Counter()
    pool = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any("forkserver" in f or ("process.py" in f and "_process_worker" in f) for f in frames):
            pool += int(count)
            continue
        api[classify(frames)] += int(count)
    total = sum(api.values())
    print(f"{path}: {total} API-process samples, {pool} signing-pool samples")
    print("| where (API process) | share |" + (" ms per credential |" if cpu_ms else ""))
    print("|---|---|" + ("---|" if cpu_ms else ""))
    for group, n in api.most_common():
        ms = f" {cpu_ms * n / total:.2f} |" if cpu_ms else ""
        print(f"| {group} | {100 * n / total:.0f}% |{ms}")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else None)
