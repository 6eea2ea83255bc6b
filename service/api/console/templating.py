"""The console's Jinja2 environment (autoescaped)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent / "templates"


def human_date(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value.day} {value.strftime('%B %Y')}"
    return "" if value is None else str(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["human_date"] = human_date
    env.globals["service_name"] = "Portrait"
    return env


def render(
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    html = environment().get_template(name).render(**(context or {}))
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
