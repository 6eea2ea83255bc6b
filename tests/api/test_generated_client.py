"""An SDK generated from the committed OpenAPI document works: openapi-python-client (the generator LMS
vendors' Python teams use) writes a client into a temporary directory, every module of it compiles and
imports, and the client runs the demo's core flow (token -> learners -> evidence -> awards -> credentials)
against the service served by uvicorn over real HTTP, on the demo district.

The generator skips what it cannot type (bodies that are not JSON or forms: NDJSON, CSV, images, PDF);
the list of those is pinned below, so a new operation it chokes on fails here.
"""

from __future__ import annotations

import asyncio
import compileall
import importlib
import json
import pkgutil
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from service.config import Settings
from tests.web.browser import live_site, load_demo_at

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "portrait_client"

#: Operations the generator leaves out or leaves partly untyped, each for a body it has no model for.
EXPECTED_WARNINGS = {
    "POST /api/v1/course-records/import",  # text/csv body: not generated (send the CSV with httpx)
    "POST /api/v1/evidence",  # the application/x-ndjson alternative; the JSON body is typed
    "POST /api/v1/verify",  # text/plain, image and PDF alternatives; the JSON body is typed
    "GET /credentials/{credential_id}/badge.png",  # image answers
    "GET /credentials/{credential_id}/badge.svg",
    "GET /transcripts/{transcript_id}.pdf",  # a PDF answer
}


@dataclass
class Generated:
    package: ModuleType
    warnings: set[str]
    output: str


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    work = tmp_path_factory.mktemp("sdk")
    config = work / "config.yml"
    config.write_text("post_hooks: []\n")  # no ruff run over the output: the test checks it compiles
    done = subprocess.run(  # noqa: S603 - the generator of our own venv, fixed arguments
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(ROOT / "openapi" / "openapi.json"),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(work / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=work,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    warnings = set(re.findall(r"WARNING parsing (\w+ \S+) within", output))
    sys.path.insert(0, str(work))
    try:
        yield Generated(importlib.import_module(PACKAGE), warnings, output)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_generated_client_compiles_and_imports(generated: Generated) -> None:
    root = Path(generated.package.__file__ or "").parent
    assert compileall.compile_dir(root, quiet=1), "the generated client does not compile"
    modules = [info.name for info in pkgutil.walk_packages([str(root)], prefix=PACKAGE + ".")]
    assert len(modules) > 300
    for name in modules:
        importlib.import_module(name)
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    operations = sum(len(methods) for methods in document["paths"].values())
    api_modules = [m for m in modules if m.startswith(f"{PACKAGE}.api.") and m.count(".") == 3]
    # One module per operation, less the one the generator cannot express (the CSV import).
    assert len(api_modules) == operations - 1
    assert generated.warnings == EXPECTED_WARNINGS, generated.output[-4000:]


# -- the core flow over real HTTP ------------------------------------------------------------------


@dataclass
class Served:
    base: str
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def served(backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo district on a scratch database, served over real HTTP (as the browser tests do)."""
    var = tmp_path_factory.mktemp("sdk-server")
    with live_site(backend, settings, var, jobs_backend="inprocess") as live:
        asyncio.run(load_demo_at(live.database_url, live.env))
        client = json.loads((var / "demo-client.json").read_text())
        with live.serving():
            yield Served(live.base, client["client_id"], client["client_secret"])


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_generated_client_runs_the_core_flow(generated: Generated, served: Served) -> None:
    client_mod = _module("client")
    models = _module("models")
    api = "api"

    # 1. A token: OAuth 2.0 client credentials as a form body.
    token_op = _module(f"{api}.oauth.token_oauth_token_post")
    anonymous = client_mod.Client(base_url=served.base, raise_on_unexpected_status=True)
    token = token_op.sync(
        client=anonymous,
        body=models.TokenOauthTokenPostBody(
            grant_type=models.TokenOauthTokenPostBodyGrantType.CLIENT_CREDENTIALS,
            client_id=served.client_id,
            client_secret=served.client_secret,
        ),
    )
    assert isinstance(token, models.TokenResponse), token
    sdk = client_mod.AuthenticatedClient(
        base_url=served.base, token=token.access_token, raise_on_unexpected_status=True
    )

    # 2. Learners: a typed page.
    learners = _module(f"{api}.roster.list_learners_api_v1_learners_get").sync(client=sdk, limit=3)
    assert isinstance(learners, models.PagePersonRead), learners
    assert learners.total >= 200 and len(learners.items) == 3
    learner = learners.items[0]

    # A published portrait's competency and its lowest rubric level, read through the client.
    frameworks = _module(f"{api}.frameworks.list_frameworks_api_v1_frameworks_get").sync(
        client=sdk, status=models.ListFrameworksApiV1FrameworksGetStatusType0.PUBLISHED
    )
    assert isinstance(frameworks, models.PageFrameworkRead), frameworks
    framework = _module(f"{api}.frameworks.get_framework_api_v1_frameworks_framework_id_get").sync(
        framework_id=frameworks.items[0].id, client=sdk
    )
    competency = framework.competencies[0]
    lowest = min(framework.levels, key=lambda level: level.position)

    # A badge earned by one piece of evidence at any level of that competency (typed rule input).
    achievement = _module(f"{api}.awards.create_achievement_api_v1_achievements_post").sync(
        client=sdk,
        body=models.AchievementCreate(
            title=f"First step {uuid.uuid4().hex[:6]}",
            description="One piece of evidence on the competency.",
            criteria="Show the competency once, at any level.",
            framework_id=framework.id,
            rule=models.EvidenceRuleInput(
                competency_ids=[competency.id],
                min_level=lowest.position,
                min_count=1,
            ),
        ),
    )
    assert isinstance(achievement, models.AchievementRead), achievement

    # 3. Evidence: the answer says which award it created.
    recorded = _module(f"{api}.evidence.create_evidence_api_v1_evidence_post").sync(
        client=sdk,
        body=models.EvidenceCreate(
            learner_id=learner.id,
            competency_id=competency.id,
            source=models.EvidenceCreateSource.RUBRIC,
            level_id=lowest.id,
            observed_at=datetime.now(UTC) - timedelta(hours=1),
            narrative="Presented the group's findings.",
        ),
        idempotency_key=f"sdk-{uuid.uuid4()}",
    )
    assert isinstance(recorded, models.EvidenceWithAwards), recorded
    created = [change for change in recorded.awards if change.achievement_id == achievement.id]
    assert len(created) == 1 and created[0].learner_id == learner.id

    # 4. Awards: the new award, then its credential once the issuance job has run.
    awards = _module(f"{api}.awards.list_awards_api_v1_awards_get").sync(
        client=sdk, learner_id=learner.id, achievement_id=achievement.id
    )
    assert isinstance(awards, models.PageAwardRead), awards
    assert [award.id for award in awards.items] == [created[0].award_id]
    get_award = _module(f"{api}.awards.get_award_api_v1_awards_award_id_get")
    deadline = time.monotonic() + 60
    award = get_award.sync(award_id=created[0].award_id, client=sdk)
    while str(award.issuance_status) != "issued":  # the issuance job runs after the commit
        assert time.monotonic() < deadline, f"the award's credential was not issued: {award}"
        time.sleep(0.1)
        award = get_award.sync(award_id=created[0].award_id, client=sdk)

    # 5. Credentials: listed, and the signed document behind it.
    credentials = _module(f"{api}.credentials.list_credentials_api_v1_credentials_get").sync(
        client=sdk, learner_id=learner.id, achievement_id=achievement.id
    )
    assert isinstance(credentials, models.PageCredentialRead), credentials
    assert len(credentials.items) == 1 and credentials.items[0].award_id == award.id
    detail = _module(f"{api}.credentials.get_credential_api_v1_credentials_credential_id_get").sync(
        credential_id=credentials.items[0].uuid, client=sdk
    )
    assert isinstance(detail, models.CredentialDetail), detail
    signed = detail.credential.to_dict()
    assert signed["id"] == credentials.items[0].id and signed["proof"]
    assert "OpenBadgeCredential" in signed["type"]
