#!/usr/bin/env python3
"""Portrait's task runner. Needs nothing but Python >= 3.11: it builds its own virtual environment.

    python3 dev.py demo         load the demo district and serve it on http://127.0.0.1:8000
    python3 dev.py test         ruff, mypy, the docs build, pytest (SQLite, plus PostgreSQL when
                                PORTRAIT_TEST_POSTGRES_URL is set), then the schemathesis fuzz run;
                                arguments after `--` go to pytest
    python3 dev.py serve        run the service (arguments go to `portrait serve`)
    python3 dev.py lint         ruff check, ruff format --check, mypy (`--fix` rewrites instead)
    python3 dev.py contracts    regenerate openapi/openapi.json, openapi/schema.graphql and the API
                                reference pages under docs/reference/ (`--check` only compares)
    python3 dev.py docs         build the docs site (MkDocs, --strict) into var/site (`--serve` to preview)
    python3 dev.py fuzz         only the schemathesis run (`--max-examples N`, `--seed N`)
    python3 dev.py bench        tests/bench/bench_api.py (needs PostgreSQL; arguments go to the script)
    python3 dev.py headlines    run the benchmarks behind the issues' goals and regenerate README.md's
                                table (tests/bench/run_headlines.py; arguments go to the script)
    python3 dev.py install      only create/update .venv

Every task first makes sure .venv exists and matches requirements.lock and pyproject.toml: the two
install commands below run again only when one of those files changed (a hash is kept in .venv).
The Dockerfile uses the very same commands (tests/test_container.py holds them together).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".portrait-install-stamp"
DEV_STAMP = VENV / ".portrait-dev-install-stamp"
LOCK_FILE = "requirements.lock"
DEV_LOCK_FILE = "requirements-dev.lock"
#: The runtime: run with the environment's python, from the repository root; the Dockerfile repeats them
#: verbatim. `demo` and `serve` install only these.
INSTALL_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("-m", "pip", "install", "-r", LOCK_FILE),
    ("-m", "pip", "install", "--no-deps", "-e", "."),
)
#: The test, lint and docs tools on top (test, lint, docs, fuzz, contracts, bench).
CODEGEN_LOCK_FILE = "requirements-codegen.lock"
#: The SDK generator goes in without its dependency pins (see requirements-codegen.lock: it asks for an older
#: typer than the service's; its other dependencies are in requirements-dev.lock).
DEV_INSTALL_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("-m", "pip", "install", "-r", DEV_LOCK_FILE),
    ("-m", "pip", "install", "--no-deps", "-r", CODEGEN_LOCK_FILE),
)
MIN_PYTHON = (3, 11)

# Fuzzing: bounded by the amount of work (a fixed seed, a fixed number of cases per phase), not by time,
# so that the step needs the same CPU time at any load (see FUZZ_CONFIG).
FUZZ_MAX_EXAMPLES = 40
FUZZ_SEED = 20260901
FUZZ_CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
# The step's bound is CPU time, which does not grow with the machine's load: schemathesis and the server
# together may use FUZZ_CPU_BUDGET_SECONDS over both runs (they used 124 in December 2026). The wall-clock
# limit is only a backstop for a hang; where /proc is missing (not Linux) it is the only limit.
FUZZ_CPU_BUDGET_SECONDS = 180
FUZZ_TIMEOUT_SECONDS = 3600
# The server's start, in wall time: seconds of CPU, but at load 20 on two cores a minute was too short.
FUZZ_START_SECONDS = 300
# One worker: schemathesis' threads trip a CPython 3.11 bug in ast.parse ("AST constructor recursion
# depth mismatch"), and a single client keeps a failing seed reproducible.
FUZZ_WORKERS = 1
FUZZ_LAST_OPERATIONS = r"^(PATCH|PUT|DELETE) /api/v1/(clients|tenants)/\{[^}/]+\}$"

# schemathesis.toml of the fuzz step. The examples and stateful phases take FUZZ_MAX_EXAMPLES; the fuzzing
# phase, where every case is a new random request, 25 per operation. The coverage phase has no example
# count: it sends every boundary case the schema defines, and by default also calls each path with every
# HTTP method it does not define (of 8), a large share of its cases. Three stand for the rest: POST (an
# unsafe method with a body; PUT and PATCH meet the same 405 in the router), DELETE (unsafe, no body) and
# OPTIONS (a safe method no route defines, like TRACE and QUERY). `dev.py fuzz --max-examples N` sets
# every phase to N.
FUZZ_FUZZING_EXAMPLES = 25
FUZZ_UNEXPECTED_METHODS = ("post", "delete", "options")
FUZZ_CONFIG = f"""
[generation]
max-examples = {FUZZ_MAX_EXAMPLES}

[phases.fuzzing.generation]
max-examples = {FUZZ_FUZZING_EXAMPLES}

[phases.coverage]
unexpected-methods = {json.dumps(list(FUZZ_UNEXPECTED_METHODS))}
"""

# Loaded by schemathesis (SCHEMATHESIS_HOOKS): it has no serializer for NDJSON request bodies.
FUZZ_HOOKS = """
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\\n" for item in items).encode()
"""


# -- output and steps ----------------------------------------------------------------------------


class StepFailed(Exception):
    pass


RESULTS: list[tuple[str, bool, float]] = []
COUNTS: list[str] = []


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def step(name: str, action: Callable[[], bool | None]) -> bool:
    """Run one named step, print its duration, remember the outcome for the summary."""
    say(f"==> {name}")
    started = time.monotonic()
    try:
        ok = action() is not False
    except (StepFailed, OSError, subprocess.SubprocessError) as exc:
        say(f"    {exc}")
        ok = False
    elapsed = time.monotonic() - started
    RESULTS.append((name, ok, elapsed))
    say(f"<== {name}: {'ok' if ok else 'FAILED'} in {elapsed:.1f}s")
    return ok


def summary() -> int:
    say("summary:")
    for name, ok, elapsed in RESULTS:
        say(f"    {'ok    ' if ok else 'FAILED'} {elapsed:7.1f}s  {name}")
    total = sum(elapsed for _, _, elapsed in RESULTS)
    failed = [name for name, ok, _ in RESULTS if not ok]
    for line in COUNTS:
        say(f"    {line}")
    say(f"    total {total:.1f}s; " + (f"failed: {', '.join(failed)}" if failed else "all passed"))
    return 1 if failed else 0


def run(cmd: Sequence[str | os.PathLike[str]], **kw: Any) -> int:
    """Run a command (from the repository root unless told) without stdin: CI has none to wait on."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("cwd", ROOT)
    completed = subprocess.run([str(c) for c in cmd], check=False, **kw)
    return completed.returncode


def must(cmd: Sequence[str | os.PathLike[str]], **kw: Any) -> None:
    code = run(cmd, **kw)
    if code != 0:
        raise StepFailed(f"`{' '.join(str(c) for c in cmd)}` exited with {code}")


def tool(name: str) -> Path:
    return BIN / (f"{name}.exe" if os.name == "nt" else name)


def venv_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    env.update(extra)
    return env


# -- environment ---------------------------------------------------------------------------------


def install_fingerprint(files: Sequence[str], commands: Sequence[tuple[str, ...]]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    digest.update(repr(tuple(commands)).encode())
    return digest.hexdigest()


def ensure_env(*, dev: bool = True) -> None:
    """Create .venv if needed; install the runtime (and with ``dev`` the test and lint tools) when
    requirements.lock, requirements-dev.lock or pyproject.toml changed since the last install."""
    profiles = [
        (STAMP, install_fingerprint((LOCK_FILE, "pyproject.toml"), INSTALL_COMMANDS), INSTALL_COMMANDS)
    ]
    if dev:
        dev_files = (LOCK_FILE, DEV_LOCK_FILE, CODEGEN_LOCK_FILE, "pyproject.toml")
        profiles.append(
            (DEV_STAMP, install_fingerprint(dev_files, DEV_INSTALL_COMMANDS), DEV_INSTALL_COMMANDS)
        )

    def action() -> None:
        if not PYTHON.exists():
            if VENV.exists():
                say(f"    {VENV} has no python; recreating it")
                shutil.rmtree(VENV)
            say(f"    creating {VENV} with {sys.executable}")
            must([sys.executable, "-m", "venv", VENV])
        env = venv_env(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        for stamp, fingerprint, commands in profiles:
            if stamp.exists() and stamp.read_text().strip() == fingerprint:
                say(f"    {stamp.name}: up to date")
                continue
            stamp.unlink(missing_ok=True)
            for command in commands:
                must([PYTHON, *command], env=env)
            stamp.write_text(fingerprint + "\n")

    if not step("install" if dev else "install (runtime only)", action):
        sys.exit(summary())


def exec_tool(argv: list[str], env: dict[str, str]) -> int:
    """Replace this process by a long-running tool (signals and exit code go straight to it)."""
    sys.stdout.flush()
    os.chdir(ROOT)
    if os.name == "nt":
        try:
            return subprocess.run(argv, env=env, check=False).returncode
        except KeyboardInterrupt:
            return 130
    os.execve(argv[0], argv, env)  # noqa: S606 - a fixed tool of our own venv
    return 0  # not reached


# -- tasks ---------------------------------------------------------------------------------------


def task_install(_args: list[str]) -> int:
    ensure_env()
    return summary()


def task_serve(args: list[str]) -> int:
    ensure_env(dev=False)
    return exec_tool([str(tool("portrait")), "serve", *args], venv_env())


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (checked before the demo load, not after it), or None."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # as uvicorn does: a port in TIME_WAIT is free, a listening one is not
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        probe.close()
    return None


#: The demo's staff console accounts (service/demo.py).
DEMO_STAFF = (("counselor", "counselor@demo.portrait.test"), ("teacher", "teacher@demo.portrait.test"))


def print_console_links(base: str, env: dict[str, str]) -> None:
    """The staff console's URL and a fresh one-time sign-in link for each demo staff member."""
    print(f"\nStaff console: {base}/console/  (one-time sign-in links, valid 15 minutes, each works once):")
    for label, email in DEMO_STAFF:
        done = subprocess.run(
            [str(tool("portrait")), "sign-in-link", "--tenant", "demo", "--email", email],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        link = done.stdout.strip() if done.returncode == 0 else f"(failed: {done.stderr.strip()[-200:]})"
        print(f"  {label:<10} {email:<30} {link}")
    print("  A new link: .venv/bin/portrait sign-in-link --tenant demo --email ADDRESS")


def task_demo(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reset", action="store_true", help="drop and reload the demo district")
    opts = parser.parse_args(args)
    base = f"http://{opts.host}:{opts.port}"
    env = venv_env()
    env.setdefault("PORTRAIT_PUBLIC_URL", base)
    busy = port_in_use(opts.host, opts.port)
    if busy:
        say(f"port {opts.port} on {opts.host} is taken ({busy}); stop what runs there or pass --port N")
        return 1
    ensure_env(dev=False)
    demo_cmd = [tool("portrait"), "demo", *(["--reset"] if opts.reset else [])]
    if not step("portrait demo", lambda: must(demo_cmd, env=env)):
        return summary()
    var_dir = Path(env.get("PORTRAIT_VAR_DIR", "var"))
    client_file = var_dir if var_dir.is_absolute() else ROOT / var_dir
    client_file = client_file / "demo-client.json"
    print()
    if client_file.exists():
        client = json.loads(client_file.read_text())
        print(f"Demo district loaded. Its API client (all scopes) is in {client_file}:")
        print(f"  client_id     {client['client_id']}")
        print(f"  client_secret {client['client_secret']}")
        print()
        print("Get a token and call the API:")
        print(
            f"  TOKEN=$(curl -s -u '{client['client_id']}:{client['client_secret']}' "
            f"-d grant_type=client_credentials {base}/oauth/token \\\n"
            "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
        )
        print(f'  curl -s -H "Authorization: Bearer $TOKEN" "{base}/api/v1/learners?limit=5"')
    else:
        print(f"{client_file} is missing (deleted?); `python3 dev.py demo --reset` makes a new demo client.")
    print_console_links(base, env)
    print(f"\nAPI docs: {base}/docs   GraphQL: {base}/graphql   Stop with Ctrl-C.\n")
    return exec_tool([str(tool("portrait")), "serve", "--host", opts.host, "--port", str(opts.port)], env)


def lint_steps(*, fix: bool = False) -> None:
    if fix:
        step("ruff check --fix", lambda: must([tool("ruff"), "check", "--fix", "."]))
        step("ruff format", lambda: must([tool("ruff"), "format", "."]))
    else:
        step("ruff check", lambda: must([tool("ruff"), "check", "."]))
        step("ruff format --check", lambda: must([tool("ruff"), "format", "--check", "."]))
    step("mypy (strict, service/)", lambda: must([tool("mypy")]))


def task_lint(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py lint")
    parser.add_argument("--fix", action="store_true", help="let ruff rewrite the code")
    opts = parser.parse_args(args)
    ensure_env()
    lint_steps(fix=opts.fix)
    return summary()


DOCS_SITE = ROOT / "var" / "site"


def build_docs() -> None:
    """The docs site, strict: a warning (a broken link, a page outside the navigation) fails the build."""
    # NO_MKDOCS_2_WARNING: Material prints a banner about MkDocs 2.0 on every build otherwise.
    must(
        [tool("mkdocs"), "build", "--strict", "--clean", "--site-dir", DOCS_SITE],
        env=venv_env(NO_MKDOCS_2_WARNING="1"),
    )


def task_docs(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py docs")
    parser.add_argument("--serve", action="store_true", help="serve with live reload instead of building")
    opts = parser.parse_args(args)
    ensure_env()
    if opts.serve:
        return exec_tool([str(tool("mkdocs")), "serve", "--strict"], venv_env(NO_MKDOCS_2_WARNING="1"))
    step(f"docs site (mkdocs build --strict into {DOCS_SITE.relative_to(ROOT)})", build_docs)
    return summary()


def task_contracts(args: list[str]) -> int:
    ensure_env()
    step("contracts", lambda: must([PYTHON, "-m", "service.contracts", *args], env=venv_env()))
    return summary()


_ENSURE_PG_DATABASE = """
import asyncio, sys
import asyncpg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1])

async def main() -> None:
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
        password=url.password, database="postgres", timeout=10,
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database):
            await conn.execute('CREATE DATABASE "%s"' % url.database.replace('"', '""'))
            print("created database", url.database)
    finally:
        await conn.close()

asyncio.run(main())
"""


def pytest_steps(pytest_args: list[str]) -> None:
    postgres = os.environ.get("PORTRAIT_TEST_POSTGRES_URL", "")
    if postgres:
        step(
            "postgres test database",
            lambda: must([PYTHON, "-c", _ENSURE_PG_DATABASE, postgres], env=venv_env()),
        )
    backends = (
        "SQLite and PostgreSQL" if postgres else "SQLite (set PORTRAIT_TEST_POSTGRES_URL for PostgreSQL)"
    )
    report = ROOT / "var" / "pytest-junit.xml"
    report.parent.mkdir(exist_ok=True)
    report.unlink(missing_ok=True)
    step(
        f"pytest on {backends}",
        lambda: must([PYTHON, "-m", "pytest", f"--junitxml={report}", *pytest_args], env=venv_env()),
    )
    COUNTS.append(junit_counts(report))


def junit_counts(report: Path) -> str:
    """pytest's outcome counts read back from its JUnit report, for the final summary."""
    if not report.exists():
        return "pytest wrote no report: no test ran"
    import xml.etree.ElementTree as ET

    root = ET.parse(report).getroot()  # noqa: S314 - our own pytest's output
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {
        key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures", "errors", "skipped")
    }
    passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
    return (
        f"pytest: {total['tests']} tests run, {passed} passed, {total['failures']} failed, "
        f"{total['errors']} errors, {total['skipped']} skipped"
    )


def task_test(args: list[str]) -> int:
    pytest_args: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, pytest_args = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(prog="dev.py test", epilog="arguments after `--` go to pytest")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["lint", "docs", "pytest", "fuzz"],
        help="leave a part out",
    )
    opts = parser.parse_args(args)
    ensure_env()
    if "lint" not in opts.skip:
        lint_steps()
    if "docs" not in opts.skip:
        step("docs site (mkdocs build --strict)", build_docs)
    # The fuzz runs first so that pytest's own summary line is the last test report CI prints.
    if "fuzz" not in opts.skip:
        step("schemathesis fuzz of the OpenAPI document", lambda: fuzz(None, FUZZ_SEED, []))
    if "pytest" not in opts.skip:
        pytest_steps(pytest_args)
    return summary()


def task_fuzz(args: list[str]) -> int:
    extra: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, extra = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(prog="dev.py fuzz", epilog="arguments after `--` go to schemathesis run")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        help=f"examples per operation in every phase (default: {FUZZ_MAX_EXAMPLES}, "
        f"{FUZZ_FUZZING_EXAMPLES} in the fuzzing phase)",
    )
    parser.add_argument("--seed", type=int, default=FUZZ_SEED)
    parser.add_argument(
        "--keep", type=Path, help="work in this new directory and keep it (database, server.log)"
    )
    opts = parser.parse_args(args)
    ensure_env()
    step(
        "schemathesis fuzz of the OpenAPI document",
        lambda: fuzz(opts.max_examples, opts.seed, extra, keep=opts.keep),
    )
    return summary()


def task_bench(args: list[str]) -> int:
    ensure_env()
    step(
        "benchmark (tests/bench/bench_api.py)",
        lambda: must([PYTHON, ROOT / "tests" / "bench" / "bench_api.py", *args], env=venv_env()),
    )
    return summary()


def task_headlines(args: list[str]) -> int:
    ensure_env()
    step(
        "benchmarks behind the goals (tests/bench/run_headlines.py)",
        lambda: must([PYTHON, ROOT / "tests" / "bench" / "run_headlines.py", *args], env=venv_env()),
    )
    return summary()


# -- fuzzing -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StepFailed(f"the server exited early with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise StepFailed(f"the server did not answer {base}/health within {timeout:.0f}s")


def fetch_token(base: str, client_id: str, client_secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - local URL
        f"{base}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local URL
        token: str = json.load(response)["access_token"]
    return token


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a running process so far (Linux's /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def children_cpu_seconds() -> float:
    """User and system CPU time of this process' finished children so far (0 where unknown)."""
    try:
        import resource
    except ImportError:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_within_cpu(
    command: Sequence[str | os.PathLike[str]], server_pid: int, budget: float, **kw: Any
) -> tuple[int, float]:
    """Run ``command``; stop it once it and the server together have used ``budget`` CPU seconds (or
    after FUZZ_TIMEOUT_SECONDS of wall time). Returns its exit code and the CPU seconds used."""
    server_start = cpu_seconds(server_pid) or 0.0
    children = children_cpu_seconds()
    started = time.monotonic()
    process = subprocess.Popen([str(c) for c in command], stdin=subprocess.DEVNULL, **kw)
    own = 0.0
    while True:
        try:
            returncode = process.wait(timeout=1)
            break
        except subprocess.TimeoutExpired:
            pass
        own = cpu_seconds(process.pid) or own
        used = own + (cpu_seconds(server_pid) or server_start) - server_start
        over_budget = used > budget
        if over_budget or time.monotonic() - started > FUZZ_TIMEOUT_SECONDS:
            process.kill()
            process.wait()
            limit = f"{budget:.0f} CPU s" if over_budget else f"{FUZZ_TIMEOUT_SECONDS} s"
            raise StepFailed(f"schemathesis did not finish within {limit}")
    # The process is waited for: its own CPU time is now in this process' children's usage.
    own = max(own, children_cpu_seconds() - children)
    used = own + (cpu_seconds(server_pid) or server_start) - server_start
    say(f"    {used:.0f} CPU s ({own:.0f} schemathesis), {time.monotonic() - started:.0f} s wall")
    return returncode, used


def fuzz(max_examples: int | None, seed: int, extra: list[str], *, keep: Path | None = None) -> bool:
    """A fresh SQLite service with the demo district, a live server, schemathesis against it."""
    if keep is not None:
        keep = keep.resolve()
        keep.mkdir(parents=True, exist_ok=False)
        say(f"    working in {keep} (kept)")
    with tempfile.TemporaryDirectory(prefix="portrait-fuzz-") as tmp:
        work = keep or Path(tmp)
        var = work / "var"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # The developer's own PORTRAIT_* settings (a database URL above all) must not leak in.
        env = {k: v for k, v in venv_env().items() if not k.startswith("PORTRAIT_")}
        env.update(
            {
                "PORTRAIT_MODE": "embedded",
                "PORTRAIT_VAR_DIR": str(var),
                "PORTRAIT_DATABASE_URL": f"sqlite+aiosqlite:///{(var / 'fuzz.db').as_posix()}",
                "PORTRAIT_PUBLIC_URL": base,
                "PORTRAIT_LOG_LEVEL": "WARNING",
                # One token for the whole run.
                "PORTRAIT_AUTH__TOKEN_TTL_SECONDS": "3600",
                # Fuzzed URLs (webhooks, did:web issuers, status lists) must not reach the internet.
                "PORTRAIT_OUTBOUND__ALLOWLIST_ONLY": "true",
                # The public verification routes are rate-limited per client IP; the fuzzer is one IP
                # and must reach their validation, not the limiter's 429.
                "PORTRAIT_VERIFY__RATE_LIMIT_PER_MINUTE": "100000",
                "PORTRAIT_VERIFY__RATE_LIMIT_BURST": "100000",
            }
        )
        log_path = work / "server.log"
        hooks = work / "schemathesis_hooks.py"
        hooks.write_text(FUZZ_HOOKS)
        config = work / "schemathesis.toml"
        config.write_text(FUZZ_CONFIG)
        env["SCHEMATHESIS_HOOKS"] = str(hooks)
        with log_path.open("wb") as log:
            if run([tool("portrait"), "demo"], env=env, stdout=log, stderr=subprocess.STDOUT) != 0:
                print(log_path.read_text(errors="replace"))
                raise StepFailed("`portrait demo` failed on a fresh database")
            client = json.loads((var / "demo-client.json").read_text())
            bound = (
                f"max {max_examples} examples per operation"
                if max_examples is not None
                else f"max {FUZZ_MAX_EXAMPLES} examples per operation ({FUZZ_FUZZING_EXAMPLES} fuzzing), "
                f"unexpected methods {', '.join(FUZZ_UNEXPECTED_METHODS)}"
            )
            say(f"    demo loaded; server on {base}; {bound}, seed {seed}")
            server = subprocess.Popen(
                [str(tool("portrait")), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_health(base, server, timeout=FUZZ_START_SECONDS)
                # The service builds its OpenAPI document on first request (seconds on a busy machine);
                # build it here so that schemathesis' own schema load does not run into its timeout.
                with urllib.request.urlopen(f"{base}/openapi.json", timeout=180) as warm:  # noqa: S310
                    warm.read()
                token = fetch_token(base, client["client_id"], client["client_secret"])
                common = [
                    tool("schemathesis"),
                    "--config-file",
                    config,
                    "run",
                    f"{base}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    FUZZ_CHECKS,
                    *(["--max-examples", str(max_examples)] if max_examples is not None else []),
                    "--seed",
                    str(seed),
                    "--workers",
                    str(FUZZ_WORKERS),
                    "--request-timeout",
                    "30",
                    "--generation-database",
                    "none",
                    "--no-color",
                    *extra,
                ]
                # The operations that can disable the fuzzer's own client or tenant run last, on their
                # own: earlier, they would turn every later request into a 401 and hide the API.
                runs = [
                    ("every other operation", [*common, "--exclude-name-regex", FUZZ_LAST_OPERATIONS]),
                    ("client and tenant updates", [*common, "--include-name-regex", FUZZ_LAST_OPERATIONS]),
                ]
                codes = []
                used = 0.0
                # A deeper run (--max-examples) is a choice to spend more: only the default run is held
                # to the budget.
                budget = FUZZ_CPU_BUDGET_SECONDS if max_examples is None else float("inf")
                for label, command in runs:
                    say(f"    schemathesis: {label}")
                    returncode, cpu = run_within_cpu(command, server.pid, budget - used, env=env, cwd=work)
                    used += cpu
                    codes.append(returncode)
                say(f"    schemathesis and the server: {used:.0f} CPU s (budget {budget:.0f})")
                code = max(codes)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        if code != 0:
            # The exceptions behind the 5xx responses, counted; `--keep DIR` keeps the whole log.
            exceptions: dict[str, int] = {}
            for line in log_path.read_text(errors="replace").splitlines():
                if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line):
                    exceptions[line[:300]] = exceptions.get(line[:300], 0) + 1
            say("    exceptions in the server log:" if exceptions else "    no exception in the server log")
            for line, count in sorted(exceptions.items(), key=lambda item: -item[1]):
                say(f"    {count:5d} x {line}")
            if keep is None:
                say("    `python3 dev.py fuzz --keep DIR` keeps the database and the whole server log")
            raise StepFailed(f"schemathesis exited with {code}")
    return True


# -- entry point ---------------------------------------------------------------------------------

TASKS: dict[str, Callable[[list[str]], int]] = {
    "demo": task_demo,
    "serve": task_serve,
    "test": task_test,
    "lint": task_lint,
    "contracts": task_contracts,
    "docs": task_docs,
    "fuzz": task_fuzz,
    "bench": task_bench,
    "headlines": task_headlines,
    "install": task_install,
}


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        sys.stderr.write(
            f"Portrait needs Python >= {'.'.join(map(str, MIN_PYTHON))}; this is {sys.version}\n"
        )
        return 2
    if not argv or argv[0] not in TASKS:
        sys.stderr.write(__doc__ or "")
        return 0 if argv[:1] in (["-h"], ["--help"], ["help"]) else 2
    try:
        return TASKS[argv[0]](argv[1:])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
