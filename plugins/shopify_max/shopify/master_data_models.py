"""Typed results of the master-data reads and writes (:mod:`.master_data_api`): customers, variants, order codes.

Fields are snake_case, so ``model_dump(mode="json")`` and ``model_validate`` round-trip. Ids are gids (strings),
money is ``money.Amount`` (Decimal; floats refused). Importable from :mod:`.models`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from shopify_max.money import Amount
from shopify_max.shopify.model_base import ShopifyModel


class FieldError(NamedTuple):
    """One ``userErrors`` entry as a plain tuple: (field path, message, code)."""

    field: list[str] | None
    message: str
    code: str | None = None


class ShopifyCustomerRecord(ShopifyModel):
    """A Shopify customer as master data sees it: contact data, the company address, account data, metafields."""

    id: str  # gid://shopify/Customer/…
    legacy_id: str
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    email: str | None = None  # defaultEmailAddress.emailAddress
    phone: str | None = None  # defaultPhoneNumber.phoneNumber, E.164
    company: str | None = None  # defaultAddress.company
    zip: str | None = None
    city: str | None = None
    province_code: str | None = None
    country_code: str | None = None  # defaultAddress.countryCodeV2
    number_of_orders: int = 0
    tax_exempt: bool = False
    tax_exemptions: list[str] = []  # TaxExemption values
    tags: list[str] = []
    metafields: dict[str, str] = {}  # "namespace.key" -> value
    updated_at: datetime


class CustomerSetOutcome(ShopifyModel):
    """``customerSet`` (plus ``metafieldsSet`` for metafields): the customer as Shopify holds it now, or userErrors."""

    customer: ShopifyCustomerRecord | None = None
    user_errors: list[FieldError] = []

    @property
    def ok(self) -> bool:
        return not self.user_errors and self.customer is not None


class ShopifyVariantRecord(ShopifyModel):
    id: str  # gid://shopify/ProductVariant/…
    legacy_id: str
    sku: str | None = None  # not unique in Shopify: two variants may share one
    title: str
    price: Amount
    taxable: bool
    selected_options: list[tuple[str, str]] = []  # (option name, value)
    product_id: str
    product_title: str
    product_status: str  # ProductStatus: ACTIVE, ARCHIVED, DRAFT, UNLISTED


class TaxRateCode(NamedTuple):
    title: str
    rate: Decimal | None  # 0.0625 for 6.25 %; exact (read from the JSON number's text)


class OrderCodesRecord(ShopifyModel):
    """The codes one order carries that must map to MAX codes (the go-live "codes seen lately" check)."""

    id: str  # gid://shopify/Order/…
    name: str
    created_at: datetime
    test: bool = False  # Shopify's test orders (bogus gateway) never reach MAX under test_orders: skip
    tax_lines: list[TaxRateCode] = []  # distinct (title, rate) of the order, its lines and its shipping lines
    gateways: list[str] = []  # Order.paymentGatewayNames
    shipping_titles: list[str] = []
    shipping_codes: list[str] = []


# The TaxExemption enum of the 2026-07 schema (tests/shopify/test_master_data_api.py checks it against the schema).
# A value outside it fails the whole request as a GraphQL error, so customerSet input is checked before it is sent.
_US_RESELLER_STATES = ("AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH "
                       "NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY")
TAX_EXEMPTIONS = frozenset({
    "CA_BC_COMMERCIAL_FISHERY_EXEMPTION", "CA_BC_CONTRACTOR_EXEMPTION", "CA_BC_PRODUCTION_AND_MACHINERY_EXEMPTION",
    "CA_BC_RESELLER_EXEMPTION", "CA_BC_SUB_CONTRACTOR_EXEMPTION", "CA_DIPLOMAT_EXEMPTION",
    "CA_MB_COMMERCIAL_FISHERY_EXEMPTION", "CA_MB_FARMER_EXEMPTION", "CA_MB_RESELLER_EXEMPTION",
    "CA_NL_VPT_RESELLER_EXEMPTION", "CA_NS_COMMERCIAL_FISHERY_EXEMPTION", "CA_NS_FARMER_EXEMPTION",
    "CA_ON_PURCHASE_EXEMPTION", "CA_PE_COMMERCIAL_FISHERY_EXEMPTION", "CA_SK_COMMERCIAL_FISHERY_EXEMPTION",
    "CA_SK_CONTRACTOR_EXEMPTION", "CA_SK_FARMER_EXEMPTION", "CA_SK_PRODUCTION_AND_MACHINERY_EXEMPTION",
    "CA_SK_RESELLER_EXEMPTION", "CA_SK_SUB_CONTRACTOR_EXEMPTION", "CA_SK_VPT_RESELLER_EXEMPTION",
    "CA_STATUS_CARD_EXEMPTION", "EU_REVERSE_CHARGE_EXEMPTION_RULE",
    *(f"US_{state}_RESELLER_EXEMPTION" for state in _US_RESELLER_STATES.split()),
})
