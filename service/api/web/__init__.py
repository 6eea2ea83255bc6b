"""HTML for people: Jinja2 templates (autoescaped) on one base layout, one hand-written stylesheet and
the few scripts the pages use, all served by the service itself (no CDN, no build step).

Add a page: put ``<name>.html`` under ``templates/`` with ``{% extends "base.html" %}`` and fill its
blocks, then return :func:`render` from the route. Headers (CSP, frame-ancestors, nosniff, Referrer-Policy)
come from :mod:`service.api.web.headers` (applied by the request middleware) for every ``text/html``
answer.
"""

from service.api.web.templating import STATIC_DIR, TEMPLATE_DIR, environment, render, render_fragment

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "environment", "render", "render_fragment"]
