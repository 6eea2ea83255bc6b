"""The staff console under ``/console/``: HTML pages for counselors, educators and district leads.

Sessions are server-side (service.identity); the cookie holds a random token only. Every form carries a
CSRF token (an HMAC of the browser's session or pre-session cookie). Refusals are pages that say why,
and the request's transaction is rolled back so that a refused request writes nothing.
"""
