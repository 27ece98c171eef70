"""Pydantic models of the MAX-side documents (writes) and the gateway's JSON views (reads).

Field names are the MAX column names without their table suffix (``CUSTPO`` is ``CUSTPO_27`` on the header,
``PRTNUM`` is ``PRTNUM_28`` on a line); lengths are the MAXUpdate lengths in EXACTMAX.md. Amounts and
quantities are ``Decimal``; ids are strings. Models refuse values MAX would refuse (too long, too many lines):
shortening or transliterating is a mapping rule applied, and recorded, before a model is built.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_LINES = 99  # LINNUM is 2 digits (EXACTMAX.md); the LineNumber pattern enforces it

Text30 = Annotated[str, StringConstraints(max_length=30)]
Text20 = Annotated[str, StringConstraints(max_length=20)]
TaxCode = Annotated[str, StringConstraints(max_length=7)]
Code2 = Annotated[str, StringConstraints(max_length=2)]
YesNo = Literal["Y", "N"]
LineNumber = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|[1-9][0-9])$")]

_SUFFIX = re.compile(r"_\d\d$")


def strip_suffixes(row: dict) -> dict:
    """``{"CUSTPO_27": ...}`` -> ``{"CUSTPO": ...}``: gateway JSON uses MAX column names."""
    return {_SUFFIX.sub("", key): value for key, value in row.items()}


class MaxModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=False)


class Address(MaxModel):
    """NAME, ADDR1..6, CITY, STATE, ZIPCD, CNTRY (30 each); PHONE, CNTCT (20 each)."""

    NAME: Text30 | None = None
    ADDR1: Text30 | None = None
    ADDR2: Text30 | None = None
    ADDR3: Text30 | None = None
    ADDR4: Text30 | None = None
    ADDR5: Text30 | None = None
    ADDR6: Text30 | None = None
    CITY: Text30 | None = None
    STATE: Text30 | None = None
    ZIPCD: Text30 | None = None
    CNTRY: Text30 | None = None
    PHONE: Text20 | None = None
    CNTCT: Text20 | None = None


# ---------------------------------------------------------------- sales orders and credit memos


class SalesOrderLine(MaxModel):
    """One ``SO_Detail`` row. Read-only columns (shipped, due, invoiced, status) are filled on reads only."""

    LINNUM: LineNumber
    DELNUM: LineNumber = "01"
    PRTNUM: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    SLSUOM: Code2 | None = None  # None: the part's sales UOM (Part_Sales.SLSUOM_29)
    PRICE: Decimal
    ORGQTY: Decimal = Field(gt=0)
    ORGPRC: Decimal | None = None
    DISC: Decimal | None = None
    CURDUE: date | None = None
    STK: Annotated[str, StringConstraints(max_length=8)] | None = None  # None: Part_Sales.STK_29
    TAXABL: YesNo | None = None
    TAXCDE1: TaxCode | None = None
    TAXCDE2: TaxCode | None = None
    TAXCDE3: TaxCode | None = None
    TAX1: Decimal | None = None
    TAX2: Decimal | None = None
    TAX3: Decimal | None = None
    notes: list[Annotated[str, StringConstraints(max_length=50)]] = []  # SO_Note rows, 50 characters each
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
    CUSTID: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    STYPE: Literal["CU", "CR"] = "CU"
    STATUS: str = "3"
    CUSTPO: Annotated[str, StringConstraints(min_length=1, max_length=25)]  # the exactly-once lookup key
    ORDDTE: date
    SHPCDE: Annotated[str, StringConstraints(max_length=10)] | None = None
    TERMS: Code2 | None = None
    SHPVIA: Code2 | None = None
    FOB: Annotated[str, StringConstraints(max_length=15)] | None = None
    TAXCD1: TaxCode | None = None
    TAXCD2: TaxCode | None = None
    TAXCD3: TaxCode | None = None
    TTAX: Decimal | None = None
    TAXABL: YesNo | None = None
    CURR: Annotated[str, StringConstraints(max_length=3)] | None = None
    EXCRTE: Decimal | None = None
    COMNT1: Text30 | None = None
    COMNT2: Text30 | None = None
    COMNT3: Text30 | None = None
    APPINV: Annotated[str, StringConstraints(max_length=8)] | None = None  # credit memos: the invoice credited
    REASON: Code2 | None = None
    UDFKEY: Annotated[str, StringConstraints(max_length=15)] | None = None
    UDFREF: Annotated[str, StringConstraints(max_length=25)] | None = None
    # One SO_Detail row per line and delivery; LINNUM/DELNUM are 2 digits, so at most 99 lines of 99 deliveries.
    lines: list[SalesOrderLine] = Field(min_length=1)
    INVCE: str | None = None  # read-only: last invoice

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> SalesOrder:
        keys = [(line.LINNUM, line.DELNUM) for line in self.lines]
        if len(keys) != len(set(keys)):
            raise ValueError("LINNUM/DELNUM pairs must be unique within an order")
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
    APPINV: Annotated[str, StringConstraints(min_length=1, max_length=8)]


class Cancellation(MaxModel):
    """Cancel an open order (STATUS 3 -> 4) when nothing has shipped."""

    ORDNUM: Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
    REASON: Code2 | None = None


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

    SHPCDE: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    SHPVIA: Code2 | None = None
    TXCDE1: TaxCode | None = None
    TXCDE2: TaxCode | None = None
    TXCDE3: TaxCode | None = None
    TAXABL: YesNo | None = None
    TXEXEM: Annotated[str, StringConstraints(max_length=20)] | None = None  # exemption certificate


class Customer(Address):
    """A ``Customer_Master`` row with its ship-tos."""

    CUSTID: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    NAME: Text30
    TERMS: Code2 | None = None
    SHPVIA: Code2 | None = None
    TXCDE1: TaxCode | None = None
    TXCDE2: TaxCode | None = None
    TXCDE3: TaxCode | None = None
    TAXABL: YesNo | None = None
    CURR: Annotated[str, StringConstraints(max_length=3)] | None = None
    SLSREP: Annotated[str, StringConstraints(max_length=3)] | None = None
    ship_tos: list[ShipTo] = []


class CustomerResult(MaxModel):
    CUSTID: str
    ship_tos: list[str] = []
    recovered: bool = False  # an ambiguous send was settled by looking the CUSTID up
    transliterations: list[Transliteration] = []


class CustomerRecord(Customer):
    """A customer as read: plus tax codes, exemptions and the VAT id where MAX holds one (none in MAX)."""

    tax_codes: list[str] = []
    tax_exempt: bool = False
    exemptions: list[dict] = []
    vat_id: str | None = None

    @classmethod
    def from_gateway(cls, payload: dict) -> CustomerRecord:
        data = {k: v for k, v in strip_suffixes(payload).items() if v != ""}
        data["ship_tos"] = [{k: v for k, v in strip_suffixes(s).items() if v != ""} for s in payload["ship_tos"]]
        return cls.model_validate(data)


# ---------------------------------------------------------------- reads


class Part(MaxModel):
    """A part with its sales UOM and the sales-to-stocking factor (``SLSCNV_29``)."""

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
    PRICE: Decimal = Decimal(0)

    @classmethod
    def from_gateway(cls, payload: dict) -> Part:
        return cls.model_validate(strip_suffixes(payload))


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


class Shipment(MaxModel):
    """One ship operation. ``shipment_id`` is also the ``since`` cursor of the shipments read."""

    shipment_id: str
    ORDNUM: str
    CUSTID: str
    CUSTPO: str
    ship_date: date
    SHPVIA: str
    carrier: str = ""
    tracking_number: str = ""
    lines: list[ShipmentLine]


class InvoiceLine(MaxModel):
    LINNUM: str
    DELNUM: str
    PRTNUM: str
    INVQTY: Decimal
    PRICE: Decimal
    TAX1: Decimal = Decimal(0)
    TAXCDE1: str = ""


class Invoice(MaxModel):
    """An invoice, or a credit memo (``kind`` credit_memo, STYPE CR). ``INVCE`` is the ``since`` cursor."""

    INVCE: str
    ORDNUM: str
    CUSTID: str
    STYPE: str
    kind: Literal["invoice", "credit_memo"]
    INVDTE: date
    LNETOT: Decimal
    TAX1: Decimal
    ORDDSC: Decimal = Decimal(0)
    CUSTPO: str = ""
    APPINV: str = ""
    CURR: str = ""
    lines: list[InvoiceLine] = []

    @classmethod
    def from_gateway(cls, payload: dict) -> Invoice:
        data = strip_suffixes(payload)
        data["lines"] = [strip_suffixes(line) for line in payload["lines"]]
        return cls.model_validate(data)


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

    @field_validator("terms", "ship_via", "tax_codes", "uom", "currencies")
    @classmethod
    def _sorted(cls, codes: list[Code]) -> list[Code]:
        return sorted(codes, key=lambda c: c.code)
