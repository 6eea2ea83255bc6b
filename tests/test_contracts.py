"""The committed contracts under openapi/ are exactly what the code produces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from service import contracts


@pytest.mark.parametrize("name", sorted(contracts.CONTRACTS))
def test_committed_contract_matches_code(name: str) -> None:
    problem = contracts.drift(name, contracts.CONTRACTS[name]())
    if problem:
        pytest.fail(problem, pytrace=False)


def test_openapi_generation_ignores_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = contracts.openapi_json()
    monkeypatch.setenv("PORTRAIT_PUBLIC_URL", "https://elsewhere.example")
    monkeypatch.setenv("PORTRAIT_LIMITS__MAX_PAGE_SIZE", "7")
    monkeypatch.setenv("PORTRAIT_MODE", "production")
    assert contracts.openapi_json() == baseline


def test_openapi_is_stable_json() -> None:
    text = contracts.openapi_json()
    assert text.endswith("}\n")
    document = json.loads(text)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/learners" in document["paths"]


def test_check_command_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path)]
    assert contracts.main([*args, "--check"]) == 1
    assert "python3 dev.py contracts" in capsys.readouterr().err
    assert contracts.main(args) == 0
    assert contracts.main([*args, "--check"]) == 0
    (tmp_path / contracts.OPENAPI_FILE).write_text("{}\n")
    assert contracts.main([*args, "--check"]) == 1
    assert "differs from what the code produces" in capsys.readouterr().err


def test_openapi_document_is_valid_and_every_reference_resolves() -> None:
    """What SDK generators and Swagger UI read: a valid OpenAPI 3.1 document (openapi-spec-validator
    resolves every ``$ref``; an undefined component such as the bulk evidence body fails here)."""
    from openapi_spec_validator import validate

    document = json.loads(contracts.openapi_json())
    validate(document)
    text = json.dumps(document)
    schemas = document["components"]["schemas"]
    referenced = {ref.split("/")[-1] for ref in re.findall(r'"#/components/schemas/([^"]+)"', text)}
    assert referenced - set(schemas) == set()
    assert "EvidenceCreate" in schemas


def test_error_responses_carry_the_problem_schema() -> None:
    """The own API answers errors as problem documents (the 1EdTech /ims/ APIs use imsx_StatusInfo)."""
    document = json.loads(contracts.openapi_json())
    error_responses = [
        (path, method, status, response)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, response in operation.get("responses", {}).items()
        if status[0] in "45" and "content" in response and path.startswith("/api/")
    ]
    assert len(error_responses) > 100
    for path, method, status, response in error_responses:
        content = response["content"]
        where = f"{method.upper()} {path} {status}"
        assert "application/problem+json" in content, where
        assert content["application/problem+json"].get("schema"), where
        assert "application/json" not in content, where


def test_every_operation_has_a_summary_a_description_and_a_tag() -> None:
    """What generated SDKs and the reference pages show for each operation: checked over the whole
    document, so a new route without them fails here."""
    document = json.loads(contracts.openapi_json())
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 100
    lacking = {
        what: [name for name, operation in operations if not str(operation.get(what) or "").strip()]
        for what in ("summary", "description", "tags")
    }
    assert lacking == {"summary": [], "description": [], "tags": []}
    # A description says more than the summary it follows.
    same = [name for name, op in operations if op["description"].strip() == op["summary"].strip()]
    assert same == []


def test_reference_pages_cover_every_operation_and_schema() -> None:
    """The generated docs/reference pages list every operation and every schema of the document."""
    document = json.loads(contracts.openapi_json())
    page = contracts.CONTRACTS[contracts.REST_REFERENCE_FILE]()
    for path, methods in document["paths"].items():
        for method in methods:
            assert f"`{method.upper()} {path}`" in page, f"{method.upper()} {path}"
    for name in document["components"]["schemas"]:
        assert f"{{#schema-{re.sub(r'[^A-Za-z0-9_-]', '-', name)}}}" in page, name
    assert "type Query" in contracts.CONTRACTS[contracts.GRAPHQL_REFERENCE_FILE]()
