"""The master-data checks work on small facts; these build them from what the gateway and Shopify return."""

from __future__ import annotations

from typing import Any

from shopify_max.master_data.coverage import PartFacts, PriceEntry, VariantFacts
from shopify_max.master_data.customers import MaxAccount, ShopifyCustomer


def max_account(record: Any) -> MaxAccount:
    """A ``CustomerRecord`` (gateway) as the customer match and push see it."""
    exempt_states = {record.STATE} if record.STATE else set()
    exempt_states |= {ship_to.STATE for ship_to in record.ship_tos if ship_to.TXEXEM and ship_to.STATE}
    return MaxAccount(
        custid=record.CUSTID.strip(), name=(record.NAME or "").strip(), email=getattr(record, "email", None),
        phone=record.PHONE, zip_code=record.ZIPCD, country=record.CNTRY, terms=record.TERMS,
        price_list=getattr(record, "price_list", None), credit_hold=bool(getattr(record, "credit_hold", False)),
        taxable=record.TAXABL != "N", tax_codes=tuple(record.tax_codes), exempt_states=tuple(sorted(exempt_states)),
        vat_id=record.vat_id, currency=record.CURR)


def shopify_customer(record: Any) -> ShopifyCustomer:
    """A ``ShopifyCustomerRecord`` (bulk or paged read) as the customer match and push see it."""
    return ShopifyCustomer(
        gid=record.id, email=record.email, phone=record.phone, company=record.company, zip_code=record.zip,
        country_code=record.country_code, number_of_orders=int(record.number_of_orders or 0),
        tax_exempt=bool(record.tax_exempt), tax_exemptions=tuple(record.tax_exemptions or ()),
        tags=tuple(record.tags or ()), metafields=dict(record.metafields or {}), display_name=record.display_name)


def part_facts(part: Any) -> PartFacts:
    return PartFacts(part_number=part.PRTNUM.strip(), description=part.PMDES1, part_type=part.TYPE,
                     sales_uom=part.SLSUOM, sales_factor=part.SLSCNV, product_line=part.PRDLIN,
                     taxable=bool(getattr(part, "taxable", True)))


def variant_facts(variant: Any) -> VariantFacts:
    return VariantFacts(variant_id=variant.id, sku=variant.sku or None, title=variant.title, price=variant.price,
                        taxable=bool(variant.taxable),
                        option_values=tuple(value for _name, value in (variant.selected_options or ())),
                        product_id=variant.product_id, product_title=variant.product_title)


def price_entry(entry: Any) -> PriceEntry:
    return PriceEntry(price_list=entry.price_list, part_number=entry.part_number, uom=entry.uom, price=entry.price)
