"""Delta or full reconcile: the nightly reconcile is due once per day, and a failed one is run again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopify_max.inventory.mode import choose_mode

NOW = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)


def test_the_first_run_ever_is_a_full_reconcile():
    decision = choose_mode("auto", NOW, None)
    assert decision["mode"] == "full" and "no full reconcile has completed" in decision["reason"]


def test_after_tonights_reconcile_the_quarter_hours_are_deltas():
    assert choose_mode("auto", NOW, datetime(2026, 11, 27, 2, 3, tzinfo=UTC))["mode"] == "delta"


def test_a_reconcile_is_due_once_the_hour_has_passed_and_stays_due_until_one_completes():
    yesterday = datetime(2026, 11, 26, 2, 4, tzinfo=UTC)
    assert choose_mode("auto", datetime(2026, 11, 27, 1, 59, tzinfo=UTC), yesterday)["mode"] == "delta"
    due = choose_mode("auto", datetime(2026, 11, 27, 2, 0, tzinfo=UTC), yesterday)
    assert due["mode"] == "full" and "2026-11-27T02:00:00+00:00" in due["reason"]
    # Tonight's failed or was killed: every run until one completes is a full reconcile.
    assert choose_mode("auto", NOW, yesterday)["mode"] == "full"


def test_the_reconcile_hour_is_configurable():
    last = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert choose_mode("auto", NOW, last, reconcile_hour_utc=9)["mode"] == "full"
    assert choose_mode("auto", NOW, last, reconcile_hour_utc=10)["mode"] == "delta"


def test_a_requested_mode_is_obeyed():
    assert choose_mode("delta", NOW, None)["mode"] == "delta"
    assert choose_mode("full", NOW, NOW)["mode"] == "full"


@pytest.mark.parametrize(("mode", "hour", "message"), [("sometimes", 2, "param mode"), ("auto", 24, "0..23")])
def test_bad_settings_are_refused_by_name(mode, hour, message):
    with pytest.raises(ValueError, match=message):
        choose_mode(mode, NOW, None, hour)
