"""Public verification of credentials: input reading (JSON, JWS, baked images), guarded fetching of
other issuers' keys and status lists, and the per-client rate limit. No tables: nothing is stored."""
