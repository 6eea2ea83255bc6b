"""Split a py-spy raw profile (``bench_vc_api.py --profile``) of the Portrait server into where a VC-API
issue request's CPU goes: prints a table of shares (API process, signing pool workers apart).

    .venv/bin/python tests/bench/profile_split.py var/bench/vc_api_issue-status.pyspy.txt

Each sample's stack is put in the first matching group below, searched from the innermost frame of
the service's own code outward (then the libraries'), so that a database statement counts for the
service code that issued it (the status list, the credential's INSERT, the token check...).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

#: (group, pattern on "function (file)") for frames of service/ code, innermost first.
SERVICE = [
    ("status list: which list, how full (queries)", r"status_lists\.py|latest_list|entries_in_list"),
    ("storing the credential (INSERT)", r"insert_credential"),
    ("token check (JWT, client, tenant)", r"tenancy/|authenticate|bearer_token"),
    ("district and key lookup (issuer by slug, signer)", r"badges/public\.py|badges/issuers\.py"),
    ("hand-off to the signing pool and back (pickle, pipe, futures)", r"badges/signing\.py"),
    ("VC-API checks (context, issuer, dates, data model rules)", r"badges/vc_api\.py|data_model\.py"),
    ("session: BEGIN / COMMIT, connection checkout", r"api/deps\.py|service/db\.py|hotcache\.py"),
    ("middleware (service/api/middleware.py, limits, logging)", r"api/middleware|ratelimit|observability"),
    ("response / route function", r"vc_api_issue\.py"),
]
#: Groups for samples without a service frame, by library.
LIBRARY = [
    ("hand-off to the signing pool and back (pickle, pipe, futures)", r"concurrent/futures|multiprocessing"),
    (
        "body parsing and validation (JSON, pydantic, FastAPI params)",
        r"json/|pydantic|fastapi/(routing|dependencies)|_get_body|body",
    ),
    (
        "HTTP and ASGI (uvicorn, httptools, starlette, event loop)",
        r"uvicorn|httptools|h11|starlette|asyncio|uvloop|anyio",
    ),
    ("database driver and SQLAlchemy (outside the groups above)", r"sqlalchemy|aiosqlite|asyncpg|sqlite3"),
]
FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^)]*)\)$")


def classify(frames: list[str]) -> str:
    for frame in reversed(frames):
        match = FRAME.match(frame)
        file = match["file"] if match else frame
        if "/service/" in file:
            text = f"{match['fn'] if match else ''} ({file})"
            for group, pattern in SERVICE:
                if re.search(pattern, text):
                    return group
    for frame in reversed(frames):
        for group, pattern in LIBRARY:
            if re.search(pattern, frame):
                return group
    return "other"


def main(path: str) -> None:
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
    print("| where (API process) | share |")
    print("|---|---|")
    for group, n in api.most_common():
        print(f"| {group} | {100 * n / total:.0f}% |")


if __name__ == "__main__":
    main(sys.argv[1])
