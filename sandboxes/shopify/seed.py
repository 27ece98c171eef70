"""A deterministic, realistic sandbox shop: the same arguments always build the same store.

Products, variants and locations come from :mod:`sandboxes.catalog` (shared with the MAX
sandbox, so SKUs line up). On top of that it builds customers and orders that cover what an ERP export
must handle: awkward names and addresses, companies, guest checkouts, every kind of discount, several
shipping and tax lines, taxes included and excluded, tax-exempt customers, foreign presentment currency,
gift cards, zero-price, custom and unknown-SKU lines, an order of more than 99 lines, cancelled, refunded
and partially fulfilled orders. Last come the B2B customers of :mod:`sandboxes.master_data_cases`.

Not part of the default seed: :func:`add_customers` adds many customers at once (a benchmark's 50,000).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandboxes import catalog, master_data_cases
from sandboxes.shopify.orders import LineSpec, OrderSpec
from sandboxes.shopify.store import SandboxStore
from shopify_max.clock import utcnow

_FIRST = ("Anna", "Bram", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ingrid", "José", "Kai", "Lotte")
_LAST = ("de Vries", "Smith", "Müller", "Okafor", "Nakamura", "García", "Jansen", "Kowalski", "Nguyen", "Brown")
_CITIES = (("Amsterdam", "NH", "1011AB", "NL"), ("Springfield", "IL", "62701", "US"), ("Toronto", "ON", "M5V2T6", "CA"),
           ("Berlin", "BE", "10115", "DE"), ("Austin", "TX", "78701", "US"))
_SPECIAL_CUSTOMERS = (
    # (first, last, company, street): long, Unicode and markup-special names an ERP must not mangle.
    ("Maximiliana-Alexandrina Konstantinopolitanischer", "Wolkenkratzerbewohnerin-von Hohenzollern-Sigmaringen",
     None, "Hauptstraße 1234, Hinterhaus, 3. Obergeschoss links, Wohnung 17b, c/o Familie Schmidt-Müller"),
    ("Zoë", "Þórsdóttir-Åberg", None, "Ørstedsvej 7"),
    ("小龍", "李", None, "中山路 88 号"),
    ("Ольга", "Иванова", None, "ул. Ленина, д. 5"),
    ("Seán", "O'Brien & Sons <\"Ltd\">", "O'Brien & Sons <\"Ltd\">", "1 \"Quote\" Lane & <Tag> Rd"),
)
_EXEMPTIONS = ["CA_STATUS_CARD_EXEMPTION"]


def level_count(product_count: int) -> int:
    """How many SKU × location inventory levels ``seed_store(product_count=…)`` builds."""
    variants = sum(len(p.variants) for p in catalog.products(product_count))
    duplicates = sum(1 for index in range(1, product_count + 1) if _has_duplicate_sku(index))
    not_stocked = sum(1 for index in range(1, product_count + 1) if _not_stocked_at_store(index))
    return variants * len(catalog.LOCATIONS) + duplicates - not_stocked


def products_for_levels(levels: int) -> int:
    """The product count whose store has about ``levels`` inventory levels (inverse of :func:`level_count`)."""
    estimate = max(1, int(levels / (1.1 * len(catalog.LOCATIONS) + 0.02)))
    while level_count(estimate) > levels and estimate > 1:
        estimate -= 1
    return estimate


def _has_duplicate_sku(index: int) -> bool:
    return index % 50 == 13


def _not_stocked_at_store(index: int) -> bool:
    """The each variant of every 40th product (index % 40 == 21) has no inventory level at the retail store."""
    return index % 40 == 21


def seed_store(store: SandboxStore, product_count: int = 40, order_count: int = 30, seed: int = 1,
               now: datetime | None = None) -> SandboxStore:
    """Fill ``store``. Webhooks are not announced for seeded orders unless a listener is registered first."""
    rng = random.Random(seed)
    now = now or utcnow().replace(microsecond=0)
    with store.lock:
        for location in catalog.LOCATIONS:
            store.add_location(location.name, location.shopify_location_id)
        location_gids = list(store.locations)
        for entry in catalog.products(product_count):
            product = store.add_product(entry.title, entry.vendor)
            for variant in entry.variants:
                quantities = {gid: rng.randint(0, 250) for gid in location_gids}
                if _not_stocked_at_store(entry.index) and variant.uom_factor == 1:
                    del quantities[location_gids[1]]  # sold online and in the warehouse, never in the shop
                store.add_variant(product, variant.sku, variant.title, variant.price, quantities, variant.taxable)
            if _has_duplicate_sku(entry.index):
                legacy = store.add_product(f"{entry.title} (legacy listing)", entry.vendor)
                store.add_variant(legacy, entry.variants[0].sku, "Each", entry.variants[0].price,
                                  {location_gids[0]: rng.randint(0, 20)}, entry.variants[0].taxable)
        customers = _seed_customers(store, rng, max(8, order_count // 3))
        _seed_orders(store, rng, order_count, customers, now)
        _seed_b2b_customers(store)  # last: no randomness, and every id made before stays what it was
    return store


def _seed_b2b_customers(store: SandboxStore) -> None:
    """The shop's side of the B2B companies the MAX sandbox also seeds (``sandboxes.master_data_cases``): no
    orders, a company address, and where the case says so a ``max.custid`` metafield."""
    for case in master_data_cases.SHOPIFY_CUSTOMERS:
        address = store.new_address({"firstName": case.first_name, "lastName": case.last_name,
                                     "company": case.company, "city": case.city, "provinceCode": case.province_code,
                                     "zip": case.zip_code, "countryCode": case.country_code, "phone": case.phone})
        customer = store.add_customer(case.first_name, case.last_name, case.email, address, phone=case.phone)
        if case.custid_metafield:
            _, errors = store.set_metafields([{"ownerId": customer["id"], "namespace": "max", "key": "custid",
                                               "type": "single_line_text_field", "value": case.custid_metafield}])
            if errors:
                raise ValueError(f"seed customer {case.key}: {errors}")


def add_customers(store: SandboxStore, cases: Iterable[master_data_cases.ShopifyCustomerCase]) -> int:
    """Add ``cases`` as customers, straight into ``store``: the fast way to build a shop of tens of thousands of
    customers (a benchmark's), where ``customerSet`` through the API scans every customer for a taken e-mail.

    Each becomes what the default seed makes of a B2B case (``_seed_b2b_customers``): no orders, a default address
    with the company, and a ``max.custid`` metafield where the case names one. The caller keeps e-mails and phones
    unique, as Shopify would. Deterministic (no randomness; ids continue the store's counter), and the default
    seed never calls it. Returns how many customers were added."""
    added = 0
    with store.lock:
        for case in cases:
            address = store.new_address({"firstName": case.first_name, "lastName": case.last_name,
                                         "company": case.company, "city": case.city,
                                         "provinceCode": case.province_code, "zip": case.zip_code,
                                         "countryCode": case.country_code, "phone": case.phone})
            customer = store.add_customer(case.first_name, case.last_name, case.email, address, phone=case.phone)
            if case.custid_metafield:
                _, errors = store.set_metafields([{"ownerId": customer["id"], "namespace": "max", "key": "custid",
                                                   "type": "single_line_text_field",
                                                   "value": case.custid_metafield}])
                if errors:
                    raise ValueError(f"customer {case.key}: {errors}")
            added += 1
    return added


def _address(rng: random.Random, first: str, last: str, company: str | None = None,
             street: str | None = None) -> dict[str, Any]:
    city, province, zip_code, country = rng.choice(_CITIES)
    return {"id": f"gid://shopify/MailingAddress/{rng.randint(10**9, 10**10)}", "firstName": first, "lastName": last,
            "name": f"{first} {last}", "company": company, "address1": street or f"{rng.randint(1, 999)} Main St",
            "address2": None, "city": city, "province": province, "provinceCode": province, "zip": zip_code,
            "country": country, "countryCodeV2": country, "phone": f"+1555{rng.randint(1000000, 9999999)}"}


def _seed_customers(store: SandboxStore, rng: random.Random, count: int) -> list[dict[str, Any]]:
    customers = []
    for first, last, company, street in _SPECIAL_CUSTOMERS:
        email = f"special{len(customers)}@example.com"
        customers.append(store.add_customer(first, last, email, _address(rng, first, last, company, street)))
    customers.append(store.add_customer("Tamsin", "Exempt", "exempt@example.com",
                                        _address(rng, "Tamsin", "Exempt"), tax_exempt=True,
                                        tax_exemptions=_EXEMPTIONS))
    while len(customers) < count:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first.lower()}.{len(customers)}@example.com".replace("é", "e")
        customers.append(store.add_customer(first, last, email, _address(rng, first, last)))
    return customers


def _catalog_line(store: SandboxStore, rng: random.Random, quantity: int | None = None, *,
                  mapped_only: bool = False) -> LineSpec:
    """A random catalogue line. ``mapped_only`` keeps to SKUs that have a MAX part, so a special-case order
    tests its own case and not, by chance, an unmapped SKU (those orders exist on purpose elsewhere)."""
    variants = list(store.variants.values())
    if mapped_only:
        variants = [v for v in variants if v["sku"] and v["sku"].startswith("SKU-")
                    and not catalog.is_unmapped(int(v["sku"][4:9]))]
    variant = rng.choice(variants)
    return LineSpec(variant["displayName"], quantity or rng.randint(1, 5), Decimal(variant["price"]),
                    sku=variant["sku"], variant_gid=variant["id"], vendor=variant["product"]["vendor"])


def _special_orders(store: SandboxStore, rng: random.Random,
                    customers: list[dict[str, Any]]) -> list[tuple[OrderSpec, str | None]]:
    """(spec, follow-up action) pairs that each cover one case an ERP export must handle."""
    us_tax = [("IL State Tax", Decimal("0.0625")), ("Cook County Tax", Decimal("0.0175"))]
    vat = [("NL BTW", Decimal("0.21"))]

    def spec(**kwargs: Any) -> OrderSpec:
        customer = kwargs.pop("customer", rng.choice(customers))
        address = customer["defaultAddress"] if customer else _address(rng, "Guest", "Buyer")
        kwargs.setdefault("lines", [_catalog_line(store, rng, mapped_only=True) for _ in range(2)])
        kwargs.setdefault("shipping", [("Standard Shipping", "STANDARD", Decimal("7.50"))])
        kwargs.setdefault("tax_rates", us_tax)
        return OrderSpec(customer_gid=customer["id"] if customer else None, billing_address=address,
                         shipping_address=address, **kwargs)

    company = {"id": "gid://shopify/Company/9007199254800001", "name": "Acme B2B Holdings & Co.",
               "externalId": "ACME-001"}
    exempt = next(c for c in customers if c["taxExempt"])
    return [
        (spec(customer=None, email="guest@example.com", discount_code=("WELCOME10", Decimal(10))), None),
        (spec(automatic_discount=("Spend more, save 5", Decimal("5.00")),
              lines=[_catalog_line(store, rng, mapped_only=True), LineSpec("Discounted widget", 2, Decimal("20.00"), sku="SKU-00002",
                                                         manual_discount=Decimal("3.00"))]), None),
        (spec(shipping=[("Express", "EXPRESS", Decimal("15.00")), ("Freight surcharge", "FREIGHT", Decimal("40.00"))]),
         None),
        (spec(tax_rates=vat, taxes_included=True, presentment_currency="EUR", presentment_rate=Decimal("0.92")), None),
        (spec(customer=exempt), None),
        (spec(presentment_currency="CAD", presentment_rate=Decimal("1.37")), None),
        (spec(lines=[LineSpec("Gift card $50", 1, Decimal("50.00"), gift_card=True),
                     LineSpec("Free sample", 1, Decimal("0.00"), sku="SKU-00003"), _catalog_line(store, rng, mapped_only=True)],
              gateways=["gift_card", "shopify_payments"]), None),
        (spec(lines=[LineSpec("Custom engraving", 1, Decimal("12.00"), requires_shipping=False),
                     LineSpec("Discontinued part", 1, Decimal("9.99"), sku="SKU-UNKNOWN-404"),
                     _catalog_line(store, rng, mapped_only=True)]), None),
        (spec(lines=[_catalog_line(store, rng, 1, mapped_only=True) for _ in range(120)], po_number="PO-BIG-120"), None),
        (spec(company=company, po_number="PO-ACME-77", gateways=["manual"]), None),
        (spec(), "cancel"),
        (spec(), "refund"),
        (spec(lines=[_catalog_line(store, rng, 3, mapped_only=True) for _ in range(3)]), "refund_partial"),
        (spec(lines=[_catalog_line(store, rng, 4, mapped_only=True) for _ in range(3)]), "fulfill_partial"),
        (spec(), "fulfill"),
    ] + [(spec(customer=c), None) for c in customers[: len(_SPECIAL_CUSTOMERS)]]


def _seed_orders(store: SandboxStore, rng: random.Random, count: int, customers: list[dict[str, Any]],
                 now: datetime) -> None:
    specials = _special_orders(store, rng, customers)
    plans: list[tuple[OrderSpec, str | None]] = specials[:count]
    while len(plans) < count:
        customer = rng.choice(customers + [None])
        address = customer["defaultAddress"] if customer else _address(rng, "Guest", "Buyer")
        plans.append((OrderSpec(lines=[_catalog_line(store, rng) for _ in range(rng.randint(1, 4))],
                                customer_gid=customer["id"] if customer else None, email="buyer@example.com",
                                billing_address=address, shipping_address=address,
                                shipping=[("Standard Shipping", "STANDARD", Decimal("7.50"))],
                                tax_rates=[("IL State Tax", Decimal("0.0625"))],
                                gateways=[rng.choice(["shopify_payments", "paypal", "manual"])]), None))
    for position, (spec, action) in enumerate(plans):
        spec.created_at = now - timedelta(minutes=10 * (len(plans) - position))
        order = store.add_order(spec)
        if action == "cancel":
            store.cancel_order(order["id"])
        elif action == "refund":
            store.refund_order(order["id"], note="Customer returned everything")
        elif action == "refund_partial":
            store.refund_order(order["id"], [(order["lineItems"][0]["id"], 1)], note="One damaged")
        elif action in ("fulfill", "fulfill_partial"):
            fulfillment_order = order["fulfillmentOrders"][0]
            items = None
            if action == "fulfill_partial":
                first = fulfillment_order["lineItems"][0]
                items = [{"id": first["id"], "quantity": 2}]
            store.create_fulfillment({
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fulfillment_order["id"],
                                                 "fulfillmentOrderLineItems": items}],
                "trackingInfo": {"company": "UPS", "number": f"1Z999AA1{position:08d}"}})
        if action:
            order["updatedAt"] = (spec.created_at + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _lay_out_fulfilment(store, [store.orders[gid] for gid in list(store.orders)[len(specials):]])


def _lay_out_fulfilment(store: SandboxStore, plain: list[dict[str, Any]]) -> None:
    """A realistic fulfilment mix on plain orders, after everything else (no randomness, ids come last):
    most stay single-location; every 7th with two or more lines ships from two locations; every 9th is
    ON_HOLD (awaiting payment), one of those with only one of its two fulfillment orders held."""
    locations = list(store.locations.values())
    for position, order in enumerate(plain):
        updated_at = order["updatedAt"]  # the layout is how the order already was, not a change made now
        shippable = [line for line in order["lineItems"] if line["requiresShipping"]]
        if position % 7 == 3 and len(shippable) >= 2 and len(locations) >= 2:
            for fulfillment_order in order["fulfillmentOrders"]:
                del store.fulfillment_orders[fulfillment_order["id"]]
            half = len(shippable) // 2
            order["fulfillmentOrders"] = store.add_fulfillment_orders(
                order, {line["id"]: locations[1]["id"] for line in shippable[half:]})
        if (position % 9 == 4 or position % 14 == 10) and order["fulfillmentOrders"]:
            store.hold_fulfillment_order(order["fulfillmentOrders"][-1]["id"], "AWAITING_PAYMENT",
                                         "Waiting for the bank transfer", "seed")
        order["updatedAt"] = updated_at
