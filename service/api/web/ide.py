"""The interactive API pages, /docs (Swagger UI) and GET /graphql (GraphiQL), with every asset served
by the service from ``static/vendor`` (see SOURCES.txt there): they work with no network beyond it.

Both pages carry one inline bootstrap script; their CSP allows exactly that script by its hash, plus
scripts, styles and fetches from the service itself ('unsafe-inline' styles: both UIs set style
attributes from script)."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from service.api.web.templating import static_url

router = APIRouter(include_in_schema=False)

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
#: strawberry's GraphiQL page names these unpkg URLs; the same files are vendored under static/vendor.
GRAPHIQL_ASSETS = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "vendor/graphiql/react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
        "vendor/graphiql/react-dom.production.min.js"
    ),
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "vendor/graphiql/js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "vendor/graphiql/graphiql.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "vendor/graphiql/graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "vendor/graphiql/plugin-explorer.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
        "vendor/graphiql/plugin-explorer.umd.js"
    ),
}


def policy_for(html: str) -> str:
    """A CSP that allows the page's own inline scripts (by hash) and nothing from elsewhere."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def html_page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": policy_for(html)})


def offline_graphiql(html: str) -> str:
    """strawberry's GraphiQL page with its CDN URLs pointed at our copies (integrity kept)."""
    for remote, local in GRAPHIQL_ASSETS.items():
        html = html.replace(remote, static_url(local))
    return html.replace("crossorigin\n", "\n")


@router.get(DOCS_PATH)
async def swagger_ui() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Portrait - API documentation",
        swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
        swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
        swagger_favicon_url=static_url("favicon.svg"),
        oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
    )
    return html_page(bytes(page.body).decode())


@router.get(OAUTH2_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    return html_page(bytes(get_swagger_ui_oauth2_redirect_html().body).decode())
