"""Pydantic models of the MAX-side documents (writes) and the gateway's JSON views (reads).

Field names are the MAX column names without their table suffix (``CUSTPO`` is ``CUSTPO_27`` on the header,
``PRTNUM`` is ``PRTNUM_28`` on a line); lengths come from ``exactmax_limits.FIELD_LENGTHS`` (EXACTMAX.md). Amounts
are ``money.Amount`` (floats refused), quantities ``Decimal``; ids are strings. Models refuse values MAX would refuse (too long, too many lines):
shortening or transliterating is a mapping rule applied, and recorded, before a model is built.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.money import Amount


def max_text(column: str, *, required: bool = False) -> Any:
    """Text as long as MAX's ``column`` holds (``FIELD_LENGTHS``); ``required``: not empty either."""
    return Annotated[str, StringConstraints(min_length=1 if required else None, max_length=FIELD_LENGTHS[column])]


def max_line_number(column: str) -> Any:
    """LINNUM / DELNUM: exactly as many digits as the column holds, not all zeros (``01``..``99`` for 2)."""
    digits = FIELD_LENGTHS[column]
    return Annotated[str, StringConstraints(min_length=digits, max_length=digits, pattern=r"^[0-9]*[1-9][0-9]*$")]


YesNo = Literal["Y", "N"]

_SUFFIX = re.compile(r"_\d\d$")


def strip_suffixes(row: dict) -> dict:
    """``{"CUSTPO_27": ...}`` -> ``{"CUSTPO": ...}``: gateway JSON uses MAX column names."""
    return {_SUFFIX.sub("", key): value for key, value in row.items()}


class MaxModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=False)


class Address(MaxModel):
    """NAME, ADDR1..6, CITY, STATE, ZIPCD, CNTRY, PHONE, CNTCT, each as long as MAX holds."""

    NAME: max_text("NAME") | None = None
    ADDR1: max_text("ADDR") | None = None
    ADDR2: max_text("ADDR") | None = None
    ADDR3: max_text("ADDR") | None = None
    ADDR4: max_text("ADDR") | None = None
    ADDR5: max_text("ADDR") | None = None
    ADDR6: max_text("ADDR") | None = None
    CITY: max_text("CITY") | None = None
    STATE: max_text("STATE") | None = None
    ZIPCD: max_text("ZIPCD") | None = None
    CNTRY: max_text("CNTRY") | None = None
    PHONE: max_text("PHONE") | None = None
    CNTCT: max_text("CNTCT") | None = None


# ---------------------------------------------------------------- sales orders and credit memos


class SalesOrderLine(MaxModel):
    """One ``SO_Detail`` row. Read-only columns (shipped, due, invoiced, status) are filled on reads only."""

    LINNUM: max_line_number("LINNUM")
    DELNUM: max_line_number("DELNUM") = "01"
    PRTNUM: max_text("PRTNUM", required=True)
    SLSUOM: max_text("SLSUOM") | None = None  # None: the part's sales UOM (Part_Sales.SLSUOM_29)
    PRICE: Amount
    ORGQTY: Decimal = Field(gt=0)
    ORGPRC: Amount | None = None
    DISC: Amount | None = None
    CURDUE: date | None = None
    STK: max_text("STK") | None = None  # None: Part_Sales.STK_29
    TAXABL: YesNo | None = None
    TAXCDE1: max_text("TAXCD") | None = None
    TAXCDE2: max_text("TAXCD") | None = None
    TAXCDE3: max_text("TAXCD") | None = None
    TAX1: Amount | None = None
    TAX2: Amount | None = None
    TAX3: Amount | None = None
    notes: list[max_text("SO_NOTE")] = []  # SO_Note rows
    # Credit memos only: Y = the goods come back to stock (contract element RESTCK_28, not a MAX column).
    RESTCK: YesNo | None = None
    # read-only, from the gateway
    STATUS: str | None = None
    CURQTY: Decimal | None = None
    SHPQTY: Decimal | None = None
    DUEQTY: Decimal | None = None
    INVQTY: Decimal | None = None
    SHPDTE: date | None = None


class SalesOrder(Address):
    """An ``SO_Master`` header with its ``SO_Detail`` lines. ``ORDNUM`` is None until MAX assigns it.

    Blank codes (terms, ship via, tax codes, currency) default from the customer in MAX; a missing ``NAME``
    means "ship to the ship-to (``SHPCDE``) or the customer's address on file".
    """

    ORDNUM: str | None = None
    CUSTID: max_text("CUSTID", required=True)
    STYPE: Literal["CU", "CR"] = "CU"
    STATUS: str = "3"
    CUSTPO: max_text("CUSTPO", required=True)  # the exactly-once lookup key
    ORDDTE: date
    SHPCDE: max_text("SHPCDE") | None = None
    TERMS: max_text("TERMS") | None = None
    SHPVIA: max_text("SHPVIA") | None = None
    FOB: max_text("FOB") | None = None
    TAXCD1: max_text("TAXCD") | None = None
    TAXCD2: max_text("TAXCD") | None = None
    TAXCD3: max_text("TAXCD") | None = None
    TTAX: Amount | None = None
    TAXABL: YesNo | None = None
    CURR: max_text("CURR") | None = None
    EXCRTE: Decimal | None = None
    COMNT1: max_text("COMNT") | None = None
    COMNT2: max_text("COMNT") | None = None
    COMNT3: max_text("COMNT") | None = None
    APPINV: max_text("APPINV") | None = None  # credit memos: the invoice credited
    REASON: max_text("REASON") | None = None
    UDFKEY: max_text("UDFKEY") | None = None
    UDFREF: max_text("UDFREF") | None = None
    # One SO_Detail row per line and delivery; LINNUM/DELNUM bound them (exactmax_limits.MAX_LINES_PER_ORDER).
    lines: list[SalesOrderLine] = Field(min_length=1)
    INVCE: str | None = None  # read-only: last invoice

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> SalesOrder:
        keys = [(line.LINNUM, line.DELNUM) for line in self.lines]
        if len(keys) != len(set(keys)):
            raise ValueError("LINNUM/DELNUM pairs must be unique within an order")
        if self.STYPE != "CR" and any(line.RESTCK is not None for line in self.lines):
            raise ValueError("RESTCK (goods back to stock) is valid only on credit memo lines (STYPE CR)")
        return self

    @classmethod
    def from_gateway(cls, payload: dict) -> SalesOrder:
        """Build from the gateway's JSON (MAX column names with suffixes; blank strings mean "not set")."""
        header = {k: v for k, v in strip_suffixes(payload).items() if v != ""}
        header["lines"] = [{k: v for k, v in strip_suffixes(line).items() if v != ""} for line in payload["lines"]]
        return cls.model_validate(header)


class CreditMemo(SalesOrder):
    """A credit memo: an order with ``STYPE`` CR whose ``APPINV`` names the invoice it credits."""

    STYPE: Literal["CR"] = "CR"
    APPINV: max_text("APPINV", required=True)


class Cancellation(MaxModel):
    """Cancel an open order (STATUS 3 -> 4) when nothing has shipped."""

    ORDNUM: Annotated[str, StringConstraints(pattern=rf"^\d{{{FIELD_LENGTHS['ORDNUM']}}}$")]
    REASON: max_text("REASON") | None = None


class CreatedLine(MaxModel):
    LINNUM: str
    DELNUM: str
    PRTNUM: str
    SLSUOM: str
    STK: str


class Transliteration(MaxModel):
    """A recorded character-set rule application: which element changed, from what, to what, by which rule."""

    element: str
    line: str | None = None
    original: str
    replaced: str
    rule: str = "unidecode-ascii"


class SalesOrderResult(MaxModel):
    """The assigned ORDNUM. ``recovered`` is True when an ambiguous send was settled by the CUSTPO lookup
    (the order existed already: nothing was sent twice); ``already_existed`` when the gateway refused the send
    because an order for the CUSTPO exists (409): another writer's send landed first."""

    ORDNUM: str
    CUSTPO: str
    STYPE: str = "CU"
    lines: list[CreatedLine] = []
    recovered: bool = False
    already_existed: bool = False
    attempts: int = 1
    transliterations: list[Transliteration] = []


# ---------------------------------------------------------------- customers


class ShipTo(Address):
    """A ``Shipping_Master`` row: a ship-to address of a customer."""

    SHPCDE: max_text("SHPCDE", required=True)
    SHPVIA: max_text("SHPVIA") | None = None
    TXCDE1: max_text("TAXCD") | None = None
    TXCDE2: max_text("TAXCD") | None = None
    TXCDE3: max_text("TAXCD") | None = None
    TAXABL: YesNo | None = None
    TXEXEM: max_text("TXEXEM") | None = None  # exemption certificate


class Customer(Address):
    """A ``Customer_Master`` row with its ship-tos."""

    CUSTID: max_text("CUSTID", required=True)
    NAME: max_text("NAME")
    TERMS: max_text("TERMS") | None = None
    SHPVIA: max_text("SHPVIA") | None = None
    TXCDE1: max_text("TAXCD") | None = None
    TXCDE2: max_text("TAXCD") | None = None
    TXCDE3: max_text("TAXCD") | None = None
    TAXABL: YesNo | None = None
    CURR: max_text("CURR") | None = None
    SLSREP: max_text("SLSREP") | None = None
    ship_tos: list[ShipTo] = []


class CustomerResult(MaxModel):
    CUSTID: str
    ship_tos: list[str] = []
    recovered: bool = False  # an ambiguous send was settled by looking the CUSTID up
    transliterations: list[Transliteration] = []


class CustomerRecord(Customer):
    """A customer as read: plus tax codes, exemptions, and the account data MAX documents no column for (the
    gateway's extension ``X_Customer_Account``): price list, credit hold, contact e-mail and VAT id. None (False)
    when the site holds none."""

    tax_codes: list[str] = []
    tax_exempt: bool = False
    exemptions: list[dict] = []
    price_list: str | None = None  # a price list code (``CodeTables.price_lists``)
    credit_hold: bool = False
    email: str | None = None
    vat_id: str | None = None

    @classmethod
    def from_gateway(cls, payload: dict) -> CustomerRecord:
        data = {k: v for k, v in strip_suffixes(payload).items() if v != ""}
        data["ship_tos"] = [{k: v for k, v in strip_suffixes(s).items() if v != ""} for s in payload["ship_tos"]]
        return cls.model_validate(data)


# ---------------------------------------------------------------- reads


class Part(MaxModel):
    """A part with its sales UOM, the sales-to-stocking factor (``SLSCNV_29``) and whether MAX sells it taxable
    (``taxable``, from ``TAXABL_29`` Y/N; True when the gateway does not say)."""

    PRTNUM: str
    PMDES1: str = ""
    PMDES2: str = ""
    TYPE: str = ""
    BOMUOM: str = ""
    ONHAND: Decimal = Decimal(0)
    STK: str = ""
    SLSUOM: str
    SLSCNV: Decimal
    PRDLIN: str = ""
    PRICE: Amount = Decimal(0)
    taxable: bool = Field(True, validation_alias=AliasChoices("taxable", "TAXABL"))  # TAXABL Y/N

    @classmethod
    def from_gateway(cls, payload: dict) -> Part:
        return cls.model_validate(strip_suffixes(payload))


class PriceListEntry(MaxModel):
    """One price on a MAX price list (the gateway's extension ``X_Price_List``), per part and UOM (a case is priced
    under ``CS``, not as 12 eaches). Read from the gateway's ``PRCLST``, ``PRTNUM``, ``SLSUOM``, ``PRICE``."""

    price_list: str = Field(validation_alias=AliasChoices("price_list", "PRCLST"))
    part_number: str = Field(validation_alias=AliasChoices("part_number", "PRTNUM"))
    uom: str = Field(validation_alias=AliasChoices("uom", "SLSUOM"))
    price: Amount = Field(validation_alias=AliasChoices("price", "PRICE"))


class StockLevel(MaxModel):
    """Per part x stockroom, in stocking units. ``available`` = on_hand - open_demand (the gateway's formula)."""

    PRTNUM: str
    STK: str
    on_hand: Decimal
    open_demand: Decimal
    available: Decimal


class ShipmentLine(MaxModel):
    LINNUM: str
    DELNUM: str
    PRTNUM: str
    STK: str
    SLSUOM: str
    quantity: Decimal  # sales units
    stock_quantity: Decimal  # stocking units


class TrackingNumber(MaxModel):
    carrier: str = ""
    tracking_number: str


class Shipment(MaxModel):
    """One ship operation. ``shipment_id`` is also the ``since`` cursor of the shipments read. ``tracking`` holds
    every tracking number (several packages); ``carrier``/``tracking_number`` repeat the first. ``change_seq`` is
    set only by the tracking-changes read: the ``since`` cursor of that read."""

    shipment_id: str
    ORDNUM: str
    CUSTID: str
    CUSTPO: str
    order_status: str = ""  # STATUS_27 when read: 3 open, 4 closed
    ship_date: date
    SHPVIA: str
    carrier: str = ""
    tracking_number: str = ""
    tracking: list[TrackingNumber] = []
    lines: list[ShipmentLine]
    change_seq: str = ""


class InvoiceLine(MaxModel):
    LINNUM: str
    DELNUM: str
    PRTNUM: str
    INVQTY: Decimal
    PRICE: Amount
    TAX1: Amount = Decimal(0)
    TAXCDE1: str = ""


class Invoice(MaxModel):
    """An invoice, or a credit memo (``kind`` credit_memo, STYPE CR). ``INVCE`` is the ``since`` cursor."""

    INVCE: str
    ORDNUM: str
    CUSTID: str
    STYPE: str
    kind: Literal["invoice", "credit_memo"]
    INVDTE: date
    LNETOT: Amount
    TAX1: Amount
    ORDDSC: Amount = Decimal(0)
    CUSTPO: str = ""
    APPINV: str = ""
    CURR: str = ""
    TERMS: str = ""  # the order's terms: the due date follows from them
    lines: list[InvoiceLine] = []

    @property
    def total(self) -> Decimal:
        """What the customer was invoiced: lines net plus tax minus the order discount."""
        return self.LNETOT + self.TAX1 - self.ORDDSC

    @classmethod
    def from_gateway(cls, payload: dict) -> Invoice:
        data = strip_suffixes(payload)
        data["lines"] = [strip_suffixes(line) for line in payload["lines"]]
        return cls.model_validate(data)


class MaxOrderStatusLine(MaxModel):
    """One ``SO_Detail`` row's status and quantities, in the line's sales UOM. ``BCKQTY`` is as MAX stores it."""

    LINNUM: str
    DELNUM: str
    PRTNUM: str
    STATUS: str  # 3 open, 4 closed
    ORGQTY: Decimal
    SHPQTY: Decimal
    BCKQTY: Decimal
    INVQTY: Decimal


class MaxOrderStatus(MaxModel):
    """An order's status as MAX holds it now (``SO_Master`` + ``SO_Detail``), read by ORDNUM.

    MAX has no cancel flag: a cancellation is status 4 with nothing shipped or invoiced (``REASON`` holds the
    reason when one was given); an order closed after shipping or invoicing is status 4 with quantities."""

    ORDNUM: str
    CUSTPO: str
    STYPE: str
    STATUS: str  # 3 open, 4 closed
    REASON: str = ""
    INVCE: str = ""  # the last invoice, blank when none
    lines: list[MaxOrderStatusLine] = []

    @property
    def cancelled(self) -> bool:
        """Status 4 with nothing shipped or invoiced: cancelled (or closed by hand before anything shipped)."""
        return self.STATUS == "4" and not self.INVCE and all(
            line.SHPQTY == 0 and line.INVQTY == 0 for line in self.lines)


class Payment(MaxModel):
    """A payment received against an invoice (the gateway's extension ``X_Invoice_Payment``; MAX records none).
    ``payment_id`` is the ``since`` cursor; ``paid_total`` sums this and every earlier payment of the invoice."""

    payment_id: str
    INVCE: str
    ORDNUM: str
    CUSTPO: str = ""
    amount: Amount
    paid_date: date
    invoice_total: Amount  # LNETOT + TAX1 - ORDDSC
    paid_total: Amount

    @property
    def paid_in_full(self) -> bool:
        return self.paid_total >= self.invoice_total


class Code(MaxModel):
    code: str
    description: str = ""
    factor: Decimal | None = None  # UOM: sales-to-stocking factor
    rate: Decimal | None = None  # tax codes
    exchange_rate: Decimal | None = None  # currencies


class CodeTables(MaxModel):
    terms: list[Code]
    ship_via: list[Code]
    tax_codes: list[Code]
    uom: list[Code]
    currencies: list[Code]
    price_lists: list[Code] = []  # the price list codes (``ExactMaxHook.iter_prices``)

    @field_validator("terms", "ship_via", "tax_codes", "uom", "currencies", "price_lists")
    @classmethod
    def _sorted(cls, codes: list[Code]) -> list[Code]:
        return sorted(codes, key=lambda c: c.code)
