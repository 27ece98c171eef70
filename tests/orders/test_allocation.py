"""Amounts split across lines always add up to the cent, and each share is within a cent of exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopify_max.orders.allocation import allocate_to_cents

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
weights = st.lists(st.integers(min_value=0, max_value=1_000_000).map(lambda c: Decimal(c) / 100),
                   min_size=1, max_size=60)


@given(amount=cents, line_weights=weights)
def test_shares_add_up_exactly_and_stay_within_a_cent_of_proportional(amount, line_weights):
    shares = allocate_to_cents(amount, line_weights)
    assert sum(shares, Decimal(0)) == amount
    assert all(share == share.quantize(Decimal("0.01")) and share >= 0 for share in shares)
    total = sum(line_weights, Decimal(0))
    if total:
        for share, weight in zip(shares, line_weights, strict=True):
            assert abs(share - amount * weight / total) < Decimal("0.01")


def test_ties_go_to_the_earlier_line_so_the_split_is_deterministic():
    assert allocate_to_cents(Decimal("0.02"), [Decimal(1)] * 3) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]


def test_an_amount_that_is_not_whole_cents_is_refused():
    with pytest.raises(ValueError, match="whole number of cents"):
        allocate_to_cents(Decimal("0.005"), [Decimal(1)])
