"""How long a Shopify order field may be before the order is refused at capture, per kind of field.

A webhook body may be up to 2 MiB (the receiver's limit), so one field can hold megabytes. No real order
comes near these limits: Shopify itself keeps names, address parts, titles, SKUs and tags to a few hundred
characters. They are chosen, not documented by Shopify, with a wide margin, so that only absurd values are
refused, and refused with a reason naming the order and the field before any work is spent on them.
"""

from __future__ import annotations

MAX_IDENTIFIER_CHARS = 255  # ids and gids, the order name, codes (currency, country, province), SKUs, tags
MAX_TEXT_CHARS = 1_000  # names, company, address parts, city, phone, e-mail, titles, vendor
MAX_LONG_TEXT_CHARS = 10_000  # the order and customer notes, discount descriptions
MAX_NUMBER_CHARS = 64  # an amount, rate or quantity written as text
MAX_NUMBER_DIGITS = 100  # digits before the point of any amount: past this, Decimal arithmetic can overflow

LONG_TEXT_FIELDS = frozenset({"note", "description"})
NUMBER_FIELDS = frozenset({"amount", "rate", "rate_percentage", "value_amount", "value_percentage", "quantity",
                           "current_quantity", "number", "index", "discount_application_index"})
IDENTIFIER_FIELDS = frozenset({
    "id", "admin_graphql_api_id", "legacy_resource_id", "variant_id", "name", "currency", "currency_code",
    "presentment_currency", "financial_status", "fulfillment_status", "type", "presentment_currency_code",
    "province_code", "country_code", "zip", "sku", "code", "kind", "tags", "discount_codes", "payment_gateway_names",
    "tax_exemptions", "source_name", "display_financial_status", "display_fulfillment_status", "allocation_method",
    "target_selection", "target_type", "cancel_reason", "po_number", "carrier_identifier", "source",
})
# ``name`` is an identifier on the order (``#1001``) but a person's name on an address or a line item's title.
TEXT_FIELDS_NAMED_LIKE_IDENTIFIERS = frozenset({"name"})


def limit_for(field: str, nested: bool) -> tuple[str, int]:
    """(kind, longest allowed text) for a field called ``field``; ``nested`` is False on the order itself."""
    if field in LONG_TEXT_FIELDS:
        return "long text", MAX_LONG_TEXT_CHARS
    if field in NUMBER_FIELDS:
        return "number", MAX_NUMBER_CHARS
    if field in IDENTIFIER_FIELDS and not (nested and field in TEXT_FIELDS_NAMED_LIKE_IDENTIFIERS):
        return "identifier", MAX_IDENTIFIER_CHARS
    return "text", MAX_TEXT_CHARS
