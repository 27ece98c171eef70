"""The one money type: ``decimal.Decimal``, never float (DESIGN.md, correctness rules)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")


class MoneyFormatError(ValueError):
    """A value that should be an amount of money is not one."""


def to_money(value: object) -> Decimal:
    """Parse a Shopify amount (a decimal string such as ``"19.99"``) into a ``Decimal``.

    Floats are refused: they cannot hold cents exactly.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError(f"money must be a decimal string or Decimal, got {type(value).__name__} {value!r}")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyFormatError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyFormatError(f"not an amount of money: {value!r}")
    return amount


def round_cents(amount: Decimal) -> Decimal:
    """Round to whole cents with banker's rounding (the rule is recorded where it is applied)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
