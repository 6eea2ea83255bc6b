"""The Jinja2 environment of every page: autoescape on, a few formatting filters, ``static()``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
SERVICE_NAME = "Portrait"


def _parse_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def human_date(value: Any) -> str:
    """``2026-03-12T10:00:00Z`` -> ``12 March 2026`` (GOV.UK style); unreadable values as they are."""
    parsed = _parse_datetime(value)
    if parsed is None:
        return "" if value is None else str(value)
    return f"{parsed.day} {parsed.strftime('%B %Y')}"


def human_datetime(value: Any) -> str:
    """``12 March 2026, 10:00 UTC`` when a time is known, else the date alone."""
    parsed = _parse_datetime(value)
    if not isinstance(parsed, datetime):
        return human_date(value)
    suffix = " UTC" if parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0 else ""  # type: ignore[union-attr]
    return f"{human_date(parsed)}, {parsed.strftime('%H:%M')}{suffix}"


@lru_cache(maxsize=64)
def static_digest(name: str) -> str:
    """A short content hash of a static file (cache busting: ``/static/x.css?v=<hash>``)."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_digest(name)}"


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
    env.filters["human_datetime"] = human_datetime
    env.globals["static"] = static_url
    env.globals["service_name"] = SERVICE_NAME
    return env


def render_fragment(name: str, context: Mapping[str, Any] | None = None) -> str:
    """A template rendered to a string (a page or a partial such as a verification result)."""
    return environment().get_template(name).render(**(context or {}))


def render(
    request: Request | None,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """An HTML response from ``templates/<name>``. ``request`` (when given) is in the context, and its
    path marks the current page in the header navigation."""
    values: dict[str, Any] = {"request": request, "current_path": request.url.path if request else ""}
    values.update(context or {})
    return HTMLResponse(render_fragment(name, values), status_code=status_code, headers=dict(headers or {}))
