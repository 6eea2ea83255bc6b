"""The core flow's operations carry a description and examples, and every example is valid against the
operation's own schemas (so examples cannot drift from the API)."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

CORE = [
    ("post", "/oauth/token", "200"),
    ("get", "/api/v1/learners", "200"),
    ("post", "/api/v1/learners", "201"),
    ("post", "/api/v1/achievements", "201"),
    ("post", "/api/v1/evidence", "201"),
    ("get", "/api/v1/awards", "200"),
    ("get", "/api/v1/credentials", "200"),
    ("post", "/api/v1/credentials/batch", "202"),
    ("get", "/api/v1/jobs/{job_id}", "200"),
    ("post", "/api/v1/awards/{award_id}/decision", "200"),
    ("post", "/api/v1/webhooks", "201"),
    ("post", "/api/v1/oneroster/connections/{connection_id}/sync", "202"),
]


def _check(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    # The document's $refs (#/components/schemas/...) resolve against the document itself.
    root = {**schema, "components": document["components"]}
    validator = jsonschema.Draft202012Validator(root)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]


@pytest.fixture
async def document(http: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await http.get("/openapi.json")).json())


@pytest.mark.parametrize(("method", "path", "status"), CORE)
async def test_core_operations_are_described_with_valid_examples(
    document: dict[str, Any], method: str, path: str, status: str
) -> None:
    operation = document["paths"][path][method]
    assert operation["summary"] and len(operation["description"]) > 40, operation.get("description")
    response = operation["responses"][status]["content"]["application/json"]
    assert "example" in response, f"{method} {path}: no response example"
    assert _check(document, response["schema"], response["example"]) == []
    body = operation.get("requestBody")
    if body is not None:
        media, content = next((m, c) for m, c in body["content"].items() if "example" in c)
        if media == "application/json":
            assert _check(document, content["schema"], content["example"]) == []
        else:
            assert (
                isinstance(content["example"], str) and "grant_type=client_credentials" in content["example"]
            )


async def test_a_broken_example_would_be_caught(document: dict[str, Any]) -> None:
    """The check itself can fail: an example missing a required field is reported."""
    response = document["paths"]["/api/v1/learners"]["post"]["responses"]["201"]["content"][
        "application/json"
    ]
    broken = {k: v for k, v in response["example"].items() if k != "family_name"}
    assert any("family_name" in e for e in _check(document, response["schema"], broken))


async def test_every_operation_has_a_summary(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and not operation.get("summary")
    ]
    assert missing == []
