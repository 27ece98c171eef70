"""What mapping one Shopify order produced, and the rules applied on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopify_max.exactmax.models import Customer, SalesOrder


@dataclass(frozen=True)
class RuleApplied:
    """A value the mapping changed by a configured rule (never silently): recorded on the audit entry."""

    field: str  # e.g. "ship_to.ADDR1", "line 03.PRICE"
    rule: str  # e.g. "abbreviate", "continue_into_next_line", "transliterate", "price_split_to_cents"
    before: str
    after: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class MappingError:
    """Why an order cannot be exported, naming the record and the field a person should fix."""

    field: str  # e.g. "line_items[3].sku"
    rule: str  # e.g. "unmapped_sku", "too_long", "totals_mismatch"
    message: str
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "message": self.message, "value": self.value}


@dataclass
class MappedOrder:
    """The result for one order: exactly one of ``sales_order``, ``skip_reason`` or ``errors``."""

    order_gid: str
    order_name: str
    custpo: str
    sales_order: SalesOrder | None = None
    new_customer: Customer | None = None  # per-customer strategy: the MAX account to create first
    customer_gid: str | None = None
    skip_reason: str | None = None
    errors: list[MappingError] = field(default_factory=list)
    rules_applied: list[RuleApplied] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.errors:
            return "failed"
        if self.skip_reason:
            return "skipped"
        return "mapped"

    def error_reason(self) -> str:
        """One sentence a person can act on: the order, then each field and rule."""
        details = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        return f"order {self.order_name} ({self.order_gid}) cannot be exported: {details}"
