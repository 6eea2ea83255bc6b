"""What can be checked of the container image without Docker: the Dockerfile's commands exist and match
the rest of the repository (install steps of dev.py, console script, CLI options, health route)."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import typer.main
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli_app
from service.contracts import contract_settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    stage: int


def parse_dockerfile(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; stage = index of its FROM."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, value.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continuation line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def dev_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("portrait_dev_runner", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def exec_form(instruction: Instruction) -> list[str]:
    value = instruction.value
    if instruction.keyword == "HEALTHCHECK":
        value = value[value.index("CMD ") + len("CMD ") :]
    argv = json.loads(value)
    assert isinstance(argv, list), f"{instruction.keyword} must use the JSON (exec) form"
    return [str(a) for a in argv]


def test_multi_stage_build_on_slim_python(dockerfile: list[Instruction]) -> None:
    froms = [i.value for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) >= 2, "builder and runtime stages expected"
    assert froms[-1].split()[0] == "python:3.11-slim"
    runtime = final_stage(dockerfile)
    copies = [i.value for i in runtime if i.keyword == "COPY"]
    assert any("--from=builder" in c and "/opt/venv" in c for c in copies)


def test_runtime_runs_as_non_root(dockerfile: list[Instruction]) -> None:
    users = [i.value for i in final_stage(dockerfile) if i.keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user == "portrait"


def test_production_mode_and_port(dockerfile: list[Instruction]) -> None:
    runtime = final_stage(dockerfile)
    env = " ".join(i.value for i in runtime if i.keyword == "ENV")
    assert "PORTRAIT_MODE=production" in env
    assert [i.value for i in runtime if i.keyword == "EXPOSE"] == ["8000"]


def test_install_steps_are_the_dev_runner_commands(
    dockerfile: list[Instruction], dev_module: ModuleType
) -> None:
    builder_runs = [i.value for i in dockerfile if i.keyword == "RUN" and i.stage == 0]
    for command in dev_module.INSTALL_COMMANDS:
        expected = shlex.join(["/opt/venv/bin/python", *command])
        assert expected in builder_runs, f"the builder must run `{expected}` like dev.py does"
    lock = dev_module.LOCK_FILE
    assert (ROOT / lock).exists()
    assert any(i.keyword == "COPY" and i.value.split()[0] == lock for i in dockerfile if i.stage == 0)


def test_copied_sources_exist_and_are_not_docker_ignored(dockerfile: list[Instruction]) -> None:
    allowed = {
        line[1:].strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copies = [i for i in dockerfile if i.keyword == "COPY" and "--from=" not in i.value]
    sources = [src.rstrip("/") for i in copies for src in shlex.split(i.value)[:-1]]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
        assert src.split("/")[0] in allowed, f"COPY {src}: excluded by .dockerignore"
    # The editable install builds package metadata: pyproject's readme must be in the image too.
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    assert readme in sources


def test_cmd_is_the_portrait_console_script(dockerfile: list[Instruction]) -> None:
    cmds = [exec_form(i) for i in final_stage(dockerfile) if i.keyword == "CMD"]
    assert cmds, "the runtime stage needs a CMD"
    argv = cmds[-1]
    assert argv[:2] == ["portrait", "serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["portrait"] == "service.cli:main"
    # The options parse as the real command line would parse them (without starting a server).
    command = typer.main.get_command(cli_app)
    assert isinstance(command, typer.main.TyperGroup)
    ctx = command.commands["serve"].make_context("serve", argv[2:])
    assert ctx.params["host"] == "0.0.0.0"  # noqa: S104 - inside a container, by design
    assert ctx.params["port"] == 8000


@pytest.mark.parametrize("subcommand", ["serve", "migrate"])
def test_container_subcommands_exist(subcommand: str) -> None:
    result = CliRunner().invoke(cli_app, [subcommand, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


async def test_healthcheck_hits_a_real_route(dockerfile: list[Instruction]) -> None:
    checks = [i for i in final_stage(dockerfile) if i.keyword == "HEALTHCHECK"]
    assert checks, "the runtime stage needs a HEALTHCHECK"
    argv = exec_form(checks[-1])
    assert argv[0] == "python", "slim images have no curl; the check uses python's urllib"
    compile(argv[2], "<healthcheck>", "exec")  # the inline script is valid Python
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/[A-Za-z0-9_./-]*)", " ".join(argv))
    assert match, "the healthcheck must request a local URL"
    port, path = int(match.group(1)), match.group(2)
    assert port == 8000
    app = create_app(contract_settings())
    assert "get" in app.openapi()["paths"].get(path, {}), f"GET {path} is not a route of the app"
    # Liveness needs no database: the route answers even before the lifespan opened one.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        response = await client.get(path)
    assert response.status_code == 200, response.text


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 dev.py test" in readme and "python3 dev.py demo" in readme
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "set -euo pipefail" or "set -euo pipefail" in lines
    assert lines[-1] == "python3 dev.py test"


def test_demo_refuses_a_taken_port_before_loading(dev_module: ModuleType) -> None:
    """`dev.py demo` on a busy port stops at once with the reason, instead of after the whole demo load."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert dev_module.port_in_use("127.0.0.1", port)
        assert dev_module.task_demo(["--port", str(port)]) == 1
    assert dev_module.port_in_use("127.0.0.1", port) is None


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "-r")):
            name, version = line.split("==")
            # An environment marker may quote with ' or ": the same pin either way.
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.replace("'", '"')
    return pins


def test_locks_split_runtime_from_dev_tools() -> None:
    """The demo and the image install requirements.lock only; every direct dependency is pinned in the
    right lock, at the version pyproject.toml names, and no package is pinned twice."""
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    assert runtime.keys().isdisjoint(dev.keys())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def direct(specs: list[str]) -> dict[str, str]:
        pairs = (re.sub(r"\[.*\]", "", s).split("==") for s in specs)
        return {re.sub(r"[-_.]+", "-", n).lower(): v.replace("'", '"') for n, v in pairs}

    for name, version in direct(project["dependencies"]).items():
        assert runtime.get(name) == version, f"{name} belongs in requirements.lock at {version}"
    for name, version in direct(project["optional-dependencies"]["dev"]).items():
        assert dev.get(name) == version, f"{name} belongs in requirements-dev.lock at {version}"
    assert (ROOT / "requirements-dev.lock").read_text().count("-r requirements.lock") == 1
    # The SDK generator, installed --no-deps on top (its typer pin conflicts with the service's).
    codegen = _pins(ROOT / "requirements-codegen.lock")
    assert codegen == direct(project["optional-dependencies"]["codegen"])
    assert codegen.keys().isdisjoint(runtime.keys() | dev.keys())
