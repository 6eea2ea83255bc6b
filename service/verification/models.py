"""The shared rate-limit buckets (PostgreSQL): one row per limiter scope and client key.

Not a tenant's data: the key is a client address or an OAuth client id, the same for every district.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class RateBucket(SQLModel, table=True):
    """A token bucket: ``tokens`` left at ``seen`` (the database clock, epoch seconds); ``allowed``
    is the outcome of the last take (read back in the same statement that took it)."""

    __tablename__ = "rate_limit_buckets"

    scope: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    tokens: float
    seen: float = Field(index=True)
    allowed: bool
