"""Independent check of what the service issues: Digital Bazaar's JS verifier (tests/credentials/node)
verifies a stored credential with the DID document and status list the service publishes."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from service.credentials import default_registry
from service.credentials.timeutil import format_datetime
from tests.badges.helpers import earn
from tests.credentials.test_node_verifier import NODE_DIR, node  # noqa: F401 - the fixture
from tests.factories import Actors


def _js_verify(executable: str, tmp_path: Path, credential: Any, documents: dict[str, Any]) -> dict[str, Any]:
    payload = {
        "credential": credential,
        "contexts": default_registry().contexts(),
        "documents": documents,
        "now": format_datetime(datetime.now(UTC)),
    }
    source = tmp_path / "input.json"
    source.write_text(json.dumps(payload))
    done = subprocess.run(  # noqa: S603 - fixed command, our own script
        [executable, str(NODE_DIR / "verify.mjs"), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_js_verifies_an_issued_credential_and_sees_its_revocation(
    node: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    settings: Settings,
) -> None:
    earned = await earn(session, actors.a.tenant.id)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    row_id, document = service.issued[0].id, json.loads(service.issued[0].document)
    await session.commit()

    async def published() -> dict[str, Any]:
        did = document["issuer"]["id"]
        list_url = document["credentialStatus"]["statusListCredential"]
        did_doc = (await http.get(f"/issuers/{actors.a.tenant.slug}/did.json")).json()
        status_list = (await http.get("/" + list_url.split("/", 3)[3])).json()
        return {did: did_doc, list_url: status_list}

    result = _js_verify(node, tmp_path, document, await published())
    assert result["verified"] is True, result
    assert result["status"][0]["set"] is False

    revoked = await http.post(
        f"/api/v1/credentials/{row_id}/revoke",
        json={"reason": "test"},
        headers=await actors.a.headers("credentials:write"),
    )
    assert revoked.status_code == 200
    after = _js_verify(node, tmp_path, document, await published())
    assert after["verified"] is False and after["status"][0]["set"] is True
