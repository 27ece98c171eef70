"""What mapping one Shopify order produced, and the rules applied on the way.

Rule records and error items are stored (audit log, error queue) and shown in the UI, so what they hold is
bounded: each text is cut to :data:`RECORDED_TEXT_CHARS` characters, the cut marked with the full length, and
characters that no database column or XML document holds (NUL and other C0 controls, lone surrogates,
U+FFFE/U+FFFF) are shown as escapes (``\\x00``, ``\\ud800``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shopify_max.exactmax.models import Customer, SalesOrder
from shopify_max.sync_store.states import OrderStageStatus, RunOutcomeCode

RECORDED_TEXT_CHARS = 1_000  # the longest before/after/value/message a rule record or error item keeps
EXCERPT_CHARS = 60  # a value quoted inside a message

# Characters XML 1.0 cannot carry (tab, newline and carriage return excepted), lone surrogates included.
XML_ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def recordable_text(value: str | None, limit: int = RECORDED_TEXT_CHARS) -> str | None:
    """``value`` as a rule record or error item stores it: at most ``limit`` characters, safe to store."""
    if value is None:
        return None
    text = XML_ILLEGAL_CHARACTERS.sub(_escape, value[: limit + 1])
    if len(value) <= limit and len(text) <= limit:
        return text
    marker = f"… [{len(value):,} characters]"
    return text[: max(limit - len(marker), 0)] + marker


def excerpt(value: str | None) -> str:
    """A short, quoted, safe excerpt of ``value`` for a message (``'12345 North Mart… [1,000 characters]'``)."""
    return repr(recordable_text(value, EXCERPT_CHARS))


@dataclass(frozen=True)
class RuleApplied:
    """A value the mapping changed by a configured rule (never silently): recorded on the audit entry."""

    field: str  # e.g. "ship_to.ADDR1", "line 03.PRICE"
    rule: str  # e.g. "abbreviate", "continue_into_next_line", "transliterate", "price_split_to_cents"
    before: str
    after: str

    def __post_init__(self) -> None:
        for name in ("field", "before", "after"):
            object.__setattr__(self, name, recordable_text(getattr(self, name)))

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class MappingError:
    """Why an order cannot be exported, naming the record and the field a person should fix."""

    field: str  # e.g. "line_items[3].sku"
    rule: str  # e.g. "unmapped_sku", "too_long", "totals_mismatch"
    message: str
    value: str | None = None

    def __post_init__(self) -> None:
        for name in ("field", "message", "value"):
            object.__setattr__(self, name, recordable_text(getattr(self, name)))

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "message": self.message, "value": self.value}


class MappingRefused(ValueError):
    """Raised where one value makes part of an order unmappable; the mapper records ``error`` and goes on."""

    def __init__(self, error: MappingError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class MappedOrder:
    """The result for one order: exactly one of ``sales_order``, ``skip_reason`` (with its ``skip_code``) or
    ``errors``."""

    order_gid: str
    order_name: str
    custpo: str
    sales_order: SalesOrder | None = None
    new_customer: Customer | None = None  # per-customer strategy: the MAX account to create first
    customer_gid: str | None = None
    skip_reason: str | None = None
    skip_code: RunOutcomeCode | None = None
    errors: list[MappingError] = field(default_factory=list)
    rules_applied: list[RuleApplied] = field(default_factory=list)
    # Per LINNUM: the Shopify line it came from and the UOM factor (LineAmounts.line_source), for the line map.
    line_sources: list[dict] = field(default_factory=list)

    def skip(self, code: RunOutcomeCode, reason: str) -> MappedOrder:
        """The order needs no export: why (``reason``, for a person) and what kind of skip (``code``)."""
        self.skip_code, self.skip_reason = code, reason
        return self

    @property
    def outcome(self) -> OrderStageStatus:
        if self.errors:
            return OrderStageStatus.FAILED
        if self.skip_reason:
            return OrderStageStatus.SKIPPED
        return OrderStageStatus.MAPPED

    def error_reason(self) -> str:
        """One sentence a person can act on: the order, then each field and rule."""
        details = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        order = f"{recordable_text(self.order_name, EXCERPT_CHARS)} ({recordable_text(self.order_gid, EXCERPT_CHARS)})"
        return f"order {order} cannot be exported: {details}"
