"""The human page of a credential (``text/html``), rendered from the stored credential (pure).

Everything that comes from data is HTML-escaped; image sources are limited to https/http URLs and
``data:image/`` URIs so that a crafted ``javascript:`` URL cannot run. The status shown is the live one
(the credential row), so a revocation shows at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any


@dataclass(frozen=True)
class PageStatus:
    revoked_at: datetime | None
    reason: str | None


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _safe_src(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    lowered = value.strip().lower()
    if lowered.startswith(("https://", "http://", "data:image/png", "data:image/svg+xml", "data:image/jpeg")):
        return value.strip()
    return None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def render(
    credential: Mapping[str, Any],
    *,
    url: str,
    learner_display: str | None,
    status: PageStatus,
) -> str:
    subject = _first(credential.get("credentialSubject")) or {}
    achievement = subject.get("achievement") or {}
    issuer = credential.get("issuer") or {}
    issuer_name = issuer.get("name") if isinstance(issuer, Mapping) else issuer
    image = credential.get("image") or achievement.get("image") or {}
    src = _safe_src(image.get("id") if isinstance(image, Mapping) else image)
    criteria = (achievement.get("criteria") or {}).get("narrative")
    alignments = achievement.get("alignment") or []
    evidence = credential.get("evidence") or []
    if status.revoked_at is not None:
        status_html = (
            f'<p class="status revoked" id="status">Revoked on {_e(status.revoked_at.date().isoformat())}'
            + (f": {_e(status.reason)}" if status.reason else "")
            + "</p>"
        )
    else:
        status_html = '<p class="status valid" id="status">Valid: not revoked</p>'
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(credential.get('name'))}</title>",
        "<style>body{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "img.badge{width:160px;height:160px;float:right;margin-left:1rem}"
        ".status{padding:.5rem 1rem;border-radius:.3rem;font-weight:bold}"
        ".valid{background:#e3f6e3}.revoked{background:#fde2e2}dt{font-weight:bold}</style>",
        "</head><body><main>",
    ]
    if src:
        parts.append(f'<img class="badge" src="{_e(src)}" alt="{_e(credential.get("name"))}">')
    parts += [
        f"<h1>{_e(credential.get('name'))}</h1>",
        status_html,
        f"<p>{_e(credential.get('description') or achievement.get('description'))}</p>",
        "<dl>",
        f"<dt>Earned by</dt><dd>{_e(learner_display or 'a learner')}</dd>",
        f"<dt>Issued by</dt><dd>{_e(issuer_name)}</dd>",
        f"<dt>Awarded</dt><dd>{_e(credential.get('awardedDate') or credential.get('validFrom'))}</dd>",
        f"<dt>Valid from</dt><dd>{_e(credential.get('validFrom'))}</dd>",
    ]
    if credential.get("validUntil"):
        parts.append(f"<dt>Valid until</dt><dd>{_e(credential.get('validUntil'))}</dd>")
    parts.append("</dl>")
    if criteria:
        parts += ["<h2>Criteria</h2>", f'<p class="criteria">{_e(criteria)}</p>']
    if alignments:
        parts.append("<h2>Competencies</h2><ul>")
        for item in alignments:
            if isinstance(item, Mapping):
                parts.append(
                    f"<li>{_e(item.get('targetName'))}"
                    + (f": {_e(item.get('targetDescription'))}" if item.get("targetDescription") else "")
                    + "</li>"
                )
        parts.append("</ul>")
    if evidence:
        parts.append("<h2>Evidence</h2><ul>")
        for item in evidence:
            if isinstance(item, Mapping):
                parts.append(
                    f"<li><strong>{_e(item.get('name'))}</strong>"
                    + (f" ({_e(item.get('description'))})" if item.get("description") else "")
                    + (f"<br>{_e(item.get('narrative'))}" if item.get("narrative") else "")
                    + "</li>"
                )
        parts.append("</ul>")
    parts += [
        "<h2>Verify</h2><ul>",
        f'<li><a href="{_e(url)}.json">Signed credential (JSON, eddsa-rdfc-2022)</a></li>',
        f'<li><a href="{_e(url)}.jwt">Signed credential (VC-JWT)</a></li>',
        f'<li><a href="{_e(url)}/badge.png">Baked badge (PNG)</a> · '
        f'<a href="{_e(url)}/badge.svg">Baked badge (SVG)</a></li>',
        "</ul></main></body></html>",
    ]
    return "\n".join(parts)
