"""XML Schema dateTime helpers: credentials carry UTC timestamps ending in ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DATETIME = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$",
)


def format_datetime(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (microseconds dropped). A naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str) -> datetime:
    """Parse an XML Schema dateTime; a value without an offset is read as UTC.

    Raises ``ValueError`` when ``value`` is not a dateTime.
    """
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise ValueError(f"{value!r} is not an XML Schema dateTime")
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)  # datetime keeps microseconds only
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
