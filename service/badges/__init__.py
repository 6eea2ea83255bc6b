"""Badges: issuer keys (did:web), issued Open Badges 3.0 credentials, status lists and revocation."""
