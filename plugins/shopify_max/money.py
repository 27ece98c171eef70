"""The one money type: ``decimal.Decimal``, never float (DESIGN.md, correctness rules).

Every amount that crosses a boundary is parsed by :func:`to_money`: Shopify's (``shopify/models.py``, the
webhook reader) and MAX's, both ways (``exactmax/models.py``). In a pydantic model an amount field is typed
:data:`Amount`. A float is a bug upstream, not an amount: it raises :class:`FloatAmountError` naming the field.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

CENT = Decimal("0.01")  # amounts sent to MAX are whole cents


class MoneyFormatError(ValueError):
    """A value that should be an amount of money is not one."""


class FloatAmountError(TypeError):
    """A float where an amount of money belongs. Floats cannot hold cents exactly, so whatever produced it is
    wrong: this is not a data error to queue but a bug to fix, and the message names the field."""

    def __init__(self, field: str, value: float) -> None:
        self.field, self.value = field, value
        super().__init__(f"{field}: money must be a decimal string or Decimal, got the float {value!r}")


def to_money(value: object, field: str = "amount") -> Decimal:
    """Parse an amount (a decimal string such as ``"19.99"``, an int or a ``Decimal``) into a ``Decimal``.

    Raises :class:`FloatAmountError` for a float and :class:`MoneyFormatError` for anything else that is not a
    finite amount; ``field`` names the value in both.
    """
    if isinstance(value, float):
        raise FloatAmountError(field, value)
    if isinstance(value, bool):
        raise MoneyFormatError(f"{field}: money must be a decimal string or Decimal, got {value!r}")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyFormatError(f"{field}: not an amount of money: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyFormatError(f"{field}: not an amount of money: {value!r}")
    return amount


def _amount_field(value: Any, info: ValidationInfo) -> Any:
    """Amounts go through :func:`to_money`; other types are left to pydantic, which names their type."""
    if isinstance(value, (float, str, int, Decimal)) and not isinstance(value, bool):
        model = (info.config or {}).get("title", "")
        try:
            return to_money(value, f"{model}.{info.field_name}" if model else str(info.field_name))
        except MoneyFormatError:
            raise PydanticCustomError("money_parsing", "Input should be a finite decimal amount") from None
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount_field)]
"""A pydantic field holding money: parsed by :func:`to_money`, so a float raises :class:`FloatAmountError`."""
