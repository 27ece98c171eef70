"""Split an amount across lines to the cent: the largest-remainder method.

The parts always add up to the amount exactly; each part is as close to its proportional share as
cents allow, and ties go to the earlier line, so the result is deterministic.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from shopify_max.money import CENT


def allocate_to_cents(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Shares of ``amount`` (a whole number of cents) in proportion to ``weights`` (all ≥ 0)."""
    if amount != amount.quantize(CENT):
        raise ValueError(f"amount {amount} is not a whole number of cents")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    if not weights:
        if amount:
            raise ValueError(f"cannot allocate {amount} across no lines")
        return []
    total_weight = sum(weights, Decimal(0))
    if total_weight == 0:
        weights, total_weight = [Decimal(1)] * len(weights), Decimal(len(weights))
    cents = int(amount / CENT)
    exact = [Decimal(cents) * weight / total_weight for weight in weights]
    floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]
    remaining = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in order[:remaining]:
        floors[index] += 1
    return [Decimal(share) * CENT for share in floors]


def split_to_cents(quantity: int, net: Decimal) -> list[tuple[int, Decimal]]:
    """(quantity, unit price) deliveries whose extended amounts add up to ``net`` (whole cents) exactly: one
    delivery, or two whose prices are a cent apart."""
    low = (net / quantity).quantize(CENT, rounding=ROUND_FLOOR)
    extra = int((net - low * quantity) / CENT)  # units that cost one cent more
    rows = [(quantity - extra, low), (extra, low + CENT)] if extra else [(quantity, low)]
    return [(qty, price) for qty, price in rows if qty > 0]
