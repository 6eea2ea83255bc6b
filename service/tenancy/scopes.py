"""Scope names: ``<area>:read`` and ``<area>:write`` per domain, plus ``admin``.

``write`` implies ``read`` of the same area. ``admin`` is platform administration (every tenant and
every API client); domain data stays scoped to the token's own tenant even for ``admin``.
"""

from __future__ import annotations

from collections.abc import Iterable

AREAS: tuple[str, ...] = (
    "tenants",
    "frameworks",
    "roster",
    "evidence",
    "awards",
    "credentials",
    "transcripts",
    "sync",
    "webhooks",
)
ADMIN = "admin"
ALL_SCOPES: tuple[str, ...] = (
    *(f"{area}:{mode}" for area in AREAS for mode in ("read", "write")),
    ADMIN,
)
_KNOWN = frozenset(ALL_SCOPES)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted({s for s in scopes if s not in _KNOWN})


def normalize(scopes: Iterable[str]) -> list[str]:
    """Deduplicated, in the canonical order of ALL_SCOPES."""
    wanted = set(scopes)
    return [s for s in ALL_SCOPES if s in wanted]


def parse(value: str) -> list[str]:
    return [s for s in value.split() if s]


def grants(held: Iterable[str], required: str) -> bool:
    """Whether ``held`` satisfies ``required`` (write implies read)."""
    held_set = set(held)
    if required in held_set:
        return True
    if required.endswith(":read"):
        return required.removesuffix(":read") + ":write" in held_set
    return False
