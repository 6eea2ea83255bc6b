"""The vendored conformance data (tests/conformance) is complete and unchanged.

The suite's ground truth must not drift silently: every file listed in MANIFEST.sha256 exists with its
recorded hash, and no unlisted file hides among them. Where the collection it was copied from sits beside
the repository (../shared/conformance, as in CI), the copy must equal it file for file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import CONFORMANCE

UNLISTED = {"MANIFEST.sha256", "README.md"}


def manifest() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (CONFORMANCE / "MANIFEST.sha256").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        entries[name.removeprefix("./")] = digest
    return entries


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - UNLISTED


def test_every_vendored_file_matches_the_manifest() -> None:
    listed = manifest()
    assert len(listed) > 100  # schemas, contexts, vectors, samples: a truncated manifest fails here
    assert files_under(CONFORMANCE) == set(listed)
    changed = [
        name
        for name, digest in listed.items()
        if hashlib.sha256((CONFORMANCE / name).read_bytes()).hexdigest() != digest
    ]
    assert changed == []


def test_copy_equals_the_collection_beside_the_repository_when_present() -> None:
    upstream = CONFORMANCE.parents[2] / "shared" / "conformance"
    listed = manifest()
    if upstream.is_dir():
        # The upstream README.md is vendored as README-upstream.md (README.md here is our provenance note).
        assert files_under(upstream) == set(listed) - {"README-upstream.md"}
        renamed = {"README-upstream.md": "README.md"}
        differing = [
            name
            for name, digest in listed.items()
            if hashlib.sha256((upstream / renamed.get(name, name)).read_bytes()).hexdigest() != digest
        ]
        assert differing == []
    # Standing alone is the other half of the contract: the test modules read only the vendored copy.
    tests_dir = CONFORMANCE.parent
    offenders = [
        p.relative_to(tests_dir).as_posix()
        for p in tests_dir.rglob("*.py")
        if p.name != Path(__file__).name and '"shared"' in p.read_text()
    ]
    assert offenders == []
