"""Airflow Variables the flows read, checked where they are read: a bad value fails the task at once with a
message naming the Variable (:class:`InvalidVariableError`, never retried)."""

from __future__ import annotations

from datetime import timedelta


class InvalidVariableError(ValueError):
    """An Airflow Variable holds a value the flow cannot use; the message names it and the value."""


def _read(name: str) -> str | None:
    from airflow.sdk import Variable

    value = Variable.get(name, default=None)
    return None if value in (None, "") else str(value)


def seconds_variable(name: str, default: timedelta) -> timedelta:
    """A positive number of seconds; ``default`` when the Variable is unset or empty."""
    value = _read(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidVariableError(f"Airflow Variable {name} must be a number of seconds, got {value!r}") from None
    if seconds <= 0:
        raise InvalidVariableError(f"Airflow Variable {name} must be above 0 seconds, got {value!r}")
    return timedelta(seconds=seconds)


def whole_number_variable(name: str, default: int, low: int, high: int | None = None) -> int:
    """A whole number in ``low..high``; ``default`` when the Variable is unset or empty."""
    value = _read(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidVariableError(f"Airflow Variable {name} must be a whole number, got {value!r}") from None
    if number < low or (high is not None and number > high):
        limits = f"{low}..{high}" if high is not None else f"at least {low}"
        raise InvalidVariableError(f"Airflow Variable {name} must be {limits}, got {value!r}")
    return number
