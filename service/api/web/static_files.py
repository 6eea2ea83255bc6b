"""``/static/<name>``: the stylesheet, scripts and vendored assets under ``service/api/web/static``.

Files are read once and kept in memory (they are few and small); only names found at start-up are
served, so no request path can reach outside the folder. A request carrying the current content hash
(``?v=``, as :func:`service.api.web.templating.static_url` writes it) may be cached for a year.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import lru_cache

from fastapi import APIRouter, Request, Response

from service.api.web.templating import STATIC_DIR
from service.errors import NotFoundError

router = APIRouter(include_in_schema=False)

TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".map": "application/json",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    digest: str


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        name = path.relative_to(STATIC_DIR).as_posix()
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        media = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        found[name] = Asset(body, media, f'"{digest[:32]}"', digest[:12])
    return found


@router.get("/static/{name:path}")
async def static_asset(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise NotFoundError(f"no static file {name!r}")
    immutable = request.query_params.get("v") == asset.digest
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
