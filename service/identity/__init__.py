"""Identity: people signing in (staff sessions, one-time links, OpenID Connect, staff roles)."""
