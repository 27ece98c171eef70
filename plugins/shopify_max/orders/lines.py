"""Order lines: SKU → MAX part and UOM, net price to the cent, line taxes → up to three MAX tax codes.

Rules (each application recorded):
- quantity and unit price convert by the SKU's UOM factor (a "case of 12" sold as 2 → 24 each);
- PRICE is the net unit price after every discount (ORGPRC keeps the list price); when the net amount does
  not divide into whole cents per unit, the line is sent as two deliveries (DELNUM 01/02) whose prices
  differ by one cent, so the extended amounts add up to the Shopify amount exactly;
- with ``taxes_included`` the line's tax is taken out of its amount, since MAX prices exclude tax;
- lines without SKU use the custom-line part; gift cards and zero-price lines follow their rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shopify_max.exactmax.models import SalesOrderLine
from shopify_max.exactmax_limits import TAX_CODE_SLOTS
from shopify_max.mappings.loader import Mappings
from shopify_max.money import CENT
from shopify_max.orders.allocation import allocate_to_cents, split_to_cents
from shopify_max.orders.outcome import MappingError, RuleApplied
from shopify_max.shopify.models import TaxLine


@dataclass
class LineAmounts:
    """One priced line before it becomes MAX rows: amounts in shop currency, excluding tax."""

    source: str  # e.g. "line_items[3]" or "shipping_lines[0]"
    part_number: str
    sales_uom: str | None
    quantity: int  # MAX units (after the UOM factor)
    list_unit_price: Decimal  # per MAX unit, before discounts
    net_amount: Decimal  # after discounts, excluding tax
    tax_lines: list[TaxLine] = field(default_factory=list)
    taxable: bool = True
    ships_from_stock: bool = True  # freight and custom lines are non-stock parts: no stockroom is sent
    # Where the line came from, for the line map recorded at export (sync_store/order_line_map.py):
    line_item_gid: str | None = None  # None: a shipping line
    sku: str | None = None
    uom_factor: int = 1  # MAX quantity = Shopify quantity x uom_factor

    def line_source(self, linnum: int) -> dict:
        """What the line map records for this line's LINNUM (the same for each of its deliveries)."""
        return {"LINNUM": f"{linnum:02d}", "source": self.source, "line_kind": "line_item" if self.line_item_gid
                else "shipping", "line_item_gid": self.line_item_gid, "sku": self.sku, "uom_factor": self.uom_factor}


def map_tax_codes(source: str, tax_lines: list[TaxLine], mappings: Mappings,
                  errors: list[MappingError]) -> list[tuple[str, Decimal]]:
    """(MAX tax code, amount) per distinct code, in order; at most three (TAXCDE1..3)."""
    by_code: dict[str, Decimal] = {}
    for index, tax_line in enumerate(tax_lines):
        code = mappings.tax_code_for(tax_line.title, tax_line.rate)
        if code is None:
            errors.append(MappingError(f"{source}.tax_lines[{index}]", "unmapped_tax",
                                       f"tax {tax_line.title!r} at rate {tax_line.rate} has no MAX tax code in "
                                       "include/mappings/tax_codes.csv", tax_line.title))
            continue
        by_code[code] = by_code.get(code, Decimal(0)) + tax_line.price_set.shop_money.amount
    if len(by_code) > TAX_CODE_SLOTS:
        errors.append(MappingError(f"{source}.tax_lines", "too_many_tax_codes",
                                   f"{len(by_code)} MAX tax codes ({', '.join(by_code)}); MAX holds {TAX_CODE_SLOTS} per line",
                                   ", ".join(by_code)))
    return list(by_code.items())


def to_rows(line: LineAmounts, linnum: int, mappings: Mappings, stockroom: str, applied: list[RuleApplied],
            errors: list[MappingError]) -> list[SalesOrderLine]:
    """MAX ``SO_Detail`` rows for one line: one, or two deliveries when cents do not divide evenly."""
    taxes = map_tax_codes(line.source, line.tax_lines, mappings, errors)
    linnum_text = f"{linnum:02d}"
    if line.quantity <= 0:
        errors.append(MappingError(f"{line.source}.quantity", "not_positive", "quantity must be above 0",
                                   str(line.quantity)))
        return []
    cents = int(line.net_amount / CENT)
    if Decimal(cents) * CENT != line.net_amount or cents < 0:
        errors.append(MappingError(f"{line.source}.amount", "bad_money", "net amount is not whole cents ≥ 0",
                                   str(line.net_amount)))
        return []
    deliveries = split_to_cents(line.quantity, line.net_amount)
    if len(deliveries) == 2:
        applied.append(RuleApplied(f"line {linnum_text}.PRICE", "price_split_to_cents",
                                   f"{line.net_amount} / {line.quantity}",
                                   " + ".join(f"{qty} x {price}" for qty, price in deliveries)))
    extended = [price * qty for qty, price in deliveries]
    tax_shares = {code: allocate_to_cents(amount, extended) for code, amount in taxes}
    rows = []
    for index, (qty, price) in enumerate(deliveries):
        values: dict = {
            "LINNUM": linnum_text, "DELNUM": f"{index + 1:02d}", "PRTNUM": line.part_number,
            "SLSUOM": line.sales_uom, "PRICE": price, "ORGPRC": line.list_unit_price, "ORGQTY": Decimal(qty),
            "STK": stockroom if line.ships_from_stock else None, "TAXABL": "Y" if line.taxable and taxes else "N",
        }
        for slot, (code, _amount) in enumerate(taxes[:TAX_CODE_SLOTS], start=1):
            values[f"TAXCDE{slot}"] = code
            values[f"TAX{slot}"] = tax_shares[code][index]
        rows.append(SalesOrderLine(**values))
    return rows
