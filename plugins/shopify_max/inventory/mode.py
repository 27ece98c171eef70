"""Delta or full reconcile: which kind of run this is.

``auto`` (the schedule) runs a full reconcile when the nightly one is due: none has completed since the most
recent reconcile hour (UTC), or none ever has (the shadow cannot be trusted yet). A reconcile that failed or
was killed is therefore picked up by the next run. ``delta`` and ``full`` (trigger params) are obeyed as given.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shopify_max.clock import as_utc

FULL_RECONCILE_WATERMARK = "inventory_full_reconcile"  # completion time of the last full reconcile
DEFAULT_RECONCILE_HOUR_UTC = 2
MODES = ("auto", "delta", "full")


def choose_mode(requested: str, now: datetime, last_full_reconcile: datetime | None,
                reconcile_hour_utc: int = DEFAULT_RECONCILE_HOUR_UTC) -> dict[str, str]:
    if requested not in MODES:
        raise ValueError(f"param mode must be one of {MODES}, got {requested!r}")
    if not 0 <= reconcile_hour_utc <= 23:
        raise ValueError(f"inventory_full_reconcile_hour_utc must be 0..23, got {reconcile_hour_utc}")
    if requested != "auto":
        return {"mode": requested, "reason": f"requested by the run's mode param ({requested})"}
    if last_full_reconcile is None:
        return {"mode": "full", "reason": "no full reconcile has completed yet, so the shadow cannot be trusted"}
    now = as_utc(now)
    due = now.replace(hour=reconcile_hour_utc, minute=0, second=0, microsecond=0)
    if due > now:
        due -= timedelta(days=1)
    if as_utc(last_full_reconcile) < due:
        return {"mode": "full", "reason": f"the nightly reconcile is due since {due.isoformat()} "
                                          f"(last completed {as_utc(last_full_reconcile).isoformat()})"}
    return {"mode": "delta", "reason": f"last full reconcile completed {as_utc(last_full_reconcile).isoformat()}"}
