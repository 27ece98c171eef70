"""The one clock. Everything that stores or compares a time asks this module."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware UTC now."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as a plain, aware UTC ``datetime``; a naive value is taken to be UTC already.

    Subclasses (Airflow hands tasks pendulum ``DateTime`` objects) come back as the standard type, so that
    arithmetic and comparisons behave the same everywhere.
    """
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(aware.year, aware.month, aware.day, aware.hour, aware.minute, aware.second, aware.microsecond,
                    tzinfo=UTC)
