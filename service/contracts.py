"""Generated API contracts: the OpenAPI document and the GraphQL SDL, committed under ``openapi/``, and the
API reference pages of the docs site generated from them (``docs/reference/``, see ``service.api_reference``).

``python -m service.contracts`` rewrites the files from the code; ``--check`` only compares and exits
with status 1 when a file is missing or differs (``tests/test_contracts.py`` does the same in the suite).
The output must not depend on the machine: the app is built from fixed settings that ignore the
environment, and the JSON is serialized with a fixed indentation and a trailing newline.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent
#: Where the generated files live; their names below are relative to it.
CONTRACTS_DIR = ROOT
OPENAPI_FILE = "openapi/openapi.json"
GRAPHQL_FILE = "openapi/schema.graphql"
REST_REFERENCE_FILE = "docs/reference/rest-api.md"
GRAPHQL_REFERENCE_FILE = "docs/reference/graphql.md"
REGENERATE_HINT = "run `python3 dev.py contracts` and commit the result"


class _ContractSettings(Settings):
    """Settings from explicit values only: ``PORTRAIT_*`` variables must not leak into the contracts."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def contract_settings() -> Settings:
    # Fixed secrets so that building the app never touches var/secrets.json.
    return _ContractSettings(
        mode="embedded",
        var_dir=Path("var"),
        database_url="sqlite+aiosqlite://",
        public_url="http://127.0.0.1:8000",
        token_secret=SecretStr("contract-generation-token-secret-0000000000"),
        key_encryption_key=SecretStr("contract-generation-key-encryption-key-00000"),
        auto_migrate=False,
    )


def openapi_document() -> dict[str, Any]:
    from service.app import create_app

    return create_app(contract_settings()).openapi()


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def graphql_sdl() -> str:
    from service.api.graphql.schema import schema

    sdl: str = schema.as_str()
    return sdl.rstrip("\n") + "\n"


def rest_reference_md() -> str:
    from service.api_reference import rest_reference

    return rest_reference(json.loads(openapi_json()))


def graphql_reference_md() -> str:
    from service.api_reference import graphql_reference

    return graphql_reference(graphql_sdl())


#: File name (relative to the repository root) -> producer of its expected content.
CONTRACTS: dict[str, Callable[[], str]] = {
    OPENAPI_FILE: openapi_json,
    GRAPHQL_FILE: graphql_sdl,
    REST_REFERENCE_FILE: rest_reference_md,
    GRAPHQL_REFERENCE_FILE: graphql_reference_md,
}


def drift(name: str, expected: str, directory: Path = CONTRACTS_DIR) -> str | None:
    """``None`` when ``directory/name`` holds ``expected``, else a short explanation with a diff."""
    path = directory / name
    if not path.exists():
        return f"{path} is missing; {REGENERATE_HINT}"
    actual = path.read_text(encoding="utf-8")
    if actual == expected:
        return None
    diff = list(
        difflib.unified_diff(
            actual.splitlines(), expected.splitlines(), f"{name} (committed)", f"{name} (code)", lineterm=""
        )
    )
    shown = "\n".join(diff[:60]) + (f"\n... {len(diff) - 60} more diff lines" if len(diff) > 60 else "")
    return f"{path} differs from what the code produces; {REGENERATE_HINT}\n{shown}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.contracts", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    parser.add_argument("--out", type=Path, default=CONTRACTS_DIR, help="root of the generated files")
    args = parser.parse_args(argv)
    out: Path = args.out
    failed = False
    produced: dict[str, str] = {}
    for name, produce in CONTRACTS.items():
        # The reference pages are rendered from the contracts just produced (one app build, not three).
        if name == REST_REFERENCE_FILE:
            from service.api_reference import rest_reference

            expected = rest_reference(json.loads(produced[OPENAPI_FILE]))
        elif name == GRAPHQL_REFERENCE_FILE:
            from service.api_reference import graphql_reference

            expected = graphql_reference(produced[GRAPHQL_FILE])
        else:
            expected = produce()
        produced[name] = expected
        if args.check:
            problem = drift(name, expected, out)
            if problem:
                failed = True
                sys.stderr.write(problem + "\n")
            else:
                sys.stdout.write(f"{out / name}: up to date\n")
            continue
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_text(encoding="utf-8") == expected:
            sys.stdout.write(f"{path}: unchanged\n")
        else:
            path.write_text(expected, encoding="utf-8")
            sys.stdout.write(f"{path}: written\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
