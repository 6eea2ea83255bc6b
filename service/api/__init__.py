"""Transports: REST (FastAPI) and GraphQL (strawberry) over the same domain services."""
