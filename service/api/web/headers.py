"""The security headers of every HTML answer of the service (put on by the request middleware,
:class:`service.api.middleware.RequestMiddleware`).

A page may send its own ``Content-Security-Policy`` (the API docs and the GraphQL IDE need scripts of
their own); it then keeps it, with ``frame-ancestors 'none'`` added when it does not say otherwise.
Everything else on an HTML answer gets :data:`DEFAULT_CSP`: scripts and styles from the service
itself only, images from the service, ``data:`` URIs and https URLs (the pages themselves show an
image URL only when it is https on a public host, see :func:`safe_image_src`).
"""

from __future__ import annotations

DEFAULT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: Sent with every HTML page (names in lower case, as ASGI carries them).
HTML_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.split(b";")[0].strip().lower() in (b"text/html", b"application/xhtml+xml")
    return False


def secure_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` of an HTML answer with the security headers set (a page's own CSP kept)."""
    present = {name.lower() for name, _ in headers}
    out = list(headers)
    for name, value in HTML_HEADERS:
        if name not in present:
            out.append((name, value))
    for position, (name, value) in enumerate(out):
        if name.lower() == b"content-security-policy":
            if b"frame-ancestors" not in value:
                out[position] = (name, value.rstrip(b"; ") + b"; frame-ancestors 'none'")
            break
    else:
        out.append((b"content-security-policy", DEFAULT_CSP.encode()))
    return out
