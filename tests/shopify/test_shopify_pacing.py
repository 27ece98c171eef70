"""The pacer's arithmetic, with a fake clock: it reads the bucket from responses and never overdraws it."""

from __future__ import annotations

import pytest

from shopify_max.shopify.pacing import CostPacer, throttle_wait_seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _cost(requested: float, available: float, maximum: float = 2000, rate: float = 100) -> dict:
    return {"requestedQueryCost": requested, "actualQueryCost": requested,
            "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate}}


def test_first_request_is_sent_at_once_because_nothing_is_known_yet():
    assert CostPacer(clock=FakeClock()).reserve("Orders") == (0.0, 0.0)


def test_waits_until_the_expected_cost_fits_using_the_reported_restore_rate():
    clock = FakeClock()
    pacer = CostPacer(clock=clock)
    pacer.observe(0.0, _cost(requested=300, available=100, rate=50), "Orders")
    wait, reserved = pacer.reserve("Orders")
    assert reserved == 300 and wait == pytest.approx((300 - 100) / 50)
    pacer.observe(reserved, _cost(requested=300, available=0, rate=50), "Orders")
    clock.now += 2.0  # 100 points restored
    wait, _ = pacer.reserve("Orders")
    assert wait == pytest.approx((300 - 100) / 50)


def test_no_wait_when_the_bucket_has_room():
    pacer = CostPacer(clock=FakeClock())
    pacer.observe(0.0, _cost(requested=10, available=1500), "Set")
    assert pacer.reserve("Set")[0] == 0.0


def test_concurrent_reservations_count_against_the_bucket():
    pacer = CostPacer(clock=FakeClock())
    pacer.observe(0.0, _cost(requested=40, available=100, rate=10), "Q")
    assert pacer.reserve("Q")[0] == 0.0  # 100 − 40 left
    assert pacer.reserve("Q")[0] == 0.0  # 20 left
    assert pacer.reserve("Q")[0] == pytest.approx((40 - 20) / 10)


def test_bucket_numbers_come_from_responses_and_overrides_win():
    pacer = CostPacer(clock=FakeClock())
    pacer.observe(0.0, _cost(requested=50, available=0, maximum=20000, rate=1000), "Q")
    assert pacer.reserve("Q")[0] == pytest.approx(50 / 1000)
    slower = CostPacer(clock=FakeClock(), max_cost_per_second=100)
    slower.observe(0.0, _cost(requested=50, available=0, maximum=20000, rate=1000), "Q")
    assert slower.reserve("Q")[0] == pytest.approx(50 / 100)


def test_a_cost_larger_than_the_bucket_waits_for_a_full_bucket_only():
    pacer = CostPacer(clock=FakeClock())
    pacer.observe(0.0, _cost(requested=5000, available=0, maximum=1000, rate=100), "Huge")
    assert pacer.reserve("Huge")[0] == pytest.approx(1000 / 100)


def test_throttle_wait_is_exactly_missing_points_over_restore_rate():
    status = {"maximumAvailable": 1000.0, "currentlyAvailable": 252, "restoreRate": 50.0}
    assert throttle_wait_seconds(752, status) == 10.0
    assert throttle_wait_seconds(100, status) == 0.0


def test_with_requests_in_flight_an_older_report_arriving_late_does_not_raise_the_estimate():
    clock = FakeClock()
    pacer = CostPacer(clock=clock)
    pacer.observe(0.0, _cost(requested=10, available=1, maximum=40), "Set")  # the fourth of four answered first
    pacer.observe(0.0, _cost(requested=10, available=30, maximum=40), "Set")  # the first, delivered late
    assert pacer.state.currently_available == 1
    wait, _ = pacer.reserve("Set")
    assert wait == pytest.approx((10 - 1) / 100)
    clock.now += 1.0  # restored to the top: a fresh, higher report is believed again
    pacer.observe(0.0, _cost(requested=10, available=35, maximum=40), "Set")
    assert pacer.state.available_at(clock.now) == 35
