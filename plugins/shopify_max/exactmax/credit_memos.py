"""Credit memos as MAX holds them, read back: ``CreditMemoRecord`` (with lines and stock moves) and
``CreditMemoReads``, the hook's reads of them, mixed into ``ExactMaxHook``.

A credit memo is an order with ``STYPE`` CR whose ``APPINV`` names the invoice it credits (EXACTMAX.md). Each line
may say whether its goods came back to stock (``RESTCK`` Y: the contract element ``RESTCK_28``, not a MAX column);
``stock_moves`` are the receipts the gateway wrote for those lines, in stocking units. One invoice
(:meth:`CreditMemoReads.get_invoice`, ``Invoice.total``) and every memo applied to it
(:meth:`CreditMemoReads.credit_memos_for_invoice`) can be read for reconciliation; the refunds flow's cap sums its own
exported memos against the MAX order. Contract: ``max_gateway/openapi.yaml``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from shopify_max.exactmax.errors import ExactMaxNotFound
from shopify_max.exactmax.models import Invoice, MaxModel, YesNo
from shopify_max.money import Amount


class StockMove(MaxModel):
    """A receipt a credit memo wrote (``Transaction_History`` R): ``quantity`` in stocking units into ``STK``."""

    PRTNUM: str
    STK: str
    quantity: Decimal
    LINNUM: str = ""  # the credit line that brought the goods back
    DELNUM: str = ""
    TNXCDE: Literal["R"] = "R"
    TNXDTE: date | None = None  # the receipt date: the memo's ORDDTE


class CreditMemoLineRecord(MaxModel):
    """One credit line as read: quantity in the line's sales UOM; ``RESTCK`` as sent (None when it was absent)."""

    LINNUM: str
    DELNUM: str
    PRTNUM: str
    SLSUOM: str
    ORGQTY: Decimal
    PRICE: Amount
    STK: str
    STATUS: str = ""
    INVQTY: Decimal = Decimal(0)
    TAXCDE1: str = ""
    TAX1: Amount = Decimal(0)
    TAXCDE2: str = ""
    TAX2: Amount = Decimal(0)
    TAXCDE3: str = ""
    TAX3: Amount = Decimal(0)
    RESTCK: YesNo | None = None


class CreditMemoRecord(MaxModel):
    """A credit memo as MAX holds it. ``INVCE`` is the memo's own credit invoice once invoiced (blank before);
    ``total`` = ``lines_total`` (ORGQTY x PRICE) + ``tax_total`` (TAX1..3): what invoicing the memo credits."""

    ORDNUM: str
    STYPE: Literal["CR"] = "CR"
    CUSTID: str
    CUSTPO: str
    APPINV: str
    ORDDTE: date
    STATUS: str  # 3 open, 4 closed (invoiced, or cancelled)
    REASON: str = ""
    INVCE: str = ""
    CURR: str = ""
    lines: list[CreditMemoLineRecord]
    stock_moves: list[StockMove] = []
    lines_total: Amount
    tax_total: Amount
    total: Amount

    @property
    def cancelled(self) -> bool:
        """Closed without a credit invoice: cancelled (it credits nothing; its receipts stay as they are)."""
        return self.STATUS == "4" and not self.INVCE


class CreditMemoReads:
    """Credit memos by ORDNUM, CUSTPO or the invoice they credit, and one invoice. Needs the hook's ``_read``."""

    if TYPE_CHECKING:
        def _read(self, path: str, params: dict | None = None) -> Any: ...

    def get_credit_memo(self, ordnum: str) -> CreditMemoRecord | None:
        """The credit memo with this ORDNUM, or None (also for a CU order)."""
        try:
            return CreditMemoRecord.model_validate(self._read(f"/credit-memos/{quote(ordnum, safe='')}"))
        except ExactMaxNotFound:
            return None

    def find_credit_memos_by_custpo(self, custpo: str) -> list[CreditMemoRecord]:
        """Credit memos whose CUSTPO is ``custpo`` (the gateway holds at most one per CUSTPO)."""
        return self._credit_memos({"custpo": custpo})

    def credit_memos_for_invoice(self, invce: str) -> list[CreditMemoRecord]:
        """Every credit memo applied to invoice ``invce`` (``APPINV``), in ORDNUM order, cancelled ones included."""
        return self._credit_memos({"appinv": invce})

    def get_invoice(self, invce: str) -> Invoice | None:
        """One invoice (or credit memo invoice) by INVCE, or None; ``Invoice.total`` is what was invoiced."""
        try:
            return Invoice.from_gateway(self._read(f"/invoices/{quote(invce, safe='')}"))
        except ExactMaxNotFound:
            return None

    def _credit_memos(self, params: dict) -> list[CreditMemoRecord]:
        return [CreditMemoRecord.model_validate(item) for item in self._read("/credit-memos", params)["items"]]
