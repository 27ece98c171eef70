"""B2B customers both sandboxes seed, so MAX accounts and Shopify customers line up (or collide) on purpose.

Each MAX account below carries its account data (terms, price list, credit hold, tax exemption, VAT id) and
the contact details the matching rules use. The Shopify customers are the shop's side of the same companies.
The cases the master-data flow must handle, one per rule and one per failure:

- ``GLOBEX`` is matched by the stored ``max.custid`` metafield (rule 1), and is tax exempt in Texas;
- ``ACME-001`` is matched by e-mail (rule 2);
- ``NYC-DIST`` is matched by phone (rule 3). A second Empire Distribution contact shares company and postal
  code, so putting rule 4 first matches that one instead: the configured order decides;
- ``NORTHWIND-CA`` is matched by company name + postal code (rule 4), and has a VAT (GST/HST) id;
- ``PIONEER`` finds two Shopify customers by company + postal code: ambiguous, never guessed;
- ``CASCADE-01`` and ``CASCADE-02`` are a duplicate in MAX (same e-mail): both claim one Shopify customer;
- ``BOLT-002`` (credit hold) has no Shopify customer at all: reported, or created with ``customerSet`` by e-mail.

Price lists (the gateway's ``X_Price_List`` extension): ``RETAIL`` is what the shop charges (``sandboxes.catalog``),
``WHOLESALE`` and ``DEALER`` are B2B lists at a discount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PRICE_LISTS = {"RETAIL": Decimal("1.00"), "WHOLESALE": Decimal("0.80"), "DEALER": Decimal("0.85")}


@dataclass(frozen=True)
class MaxAccount:
    custid: str
    name: str
    city: str
    state: str
    zip_code: str
    country: str
    phone: str  # PHONE_23, as MAX users type it
    terms: str
    ship_via: str
    tax_codes: tuple[str, str, str]
    taxable: str  # TAXABL_23: Y or N
    currency: str
    price_list: str
    credit_hold: bool
    email: str | None  # the contact e-mail the site keeps (gateway extension: MAX has no e-mail column)
    vat_id: str | None


@dataclass(frozen=True)
class ShopifyCustomerCase:
    key: str  # stable handle for tests
    first_name: str
    last_name: str
    email: str | None
    phone: str | None  # E.164, as Shopify stores it
    company: str | None
    city: str
    province_code: str
    zip_code: str
    country_code: str
    custid_metafield: str | None = None  # a ``max.custid`` metafield already on the customer


# Account data for the accounts the gateway already seeds (sandboxes.exactmax.seed.CUSTOMERS), by CUSTID:
# (price list, credit hold, e-mail, VAT id).
EXISTING_ACCOUNT_DATA: dict[str, tuple[str, bool, str | None, str | None]] = {
    "WEB": ("RETAIL", False, None, None),
    "ACME-001": ("WHOLESALE", False, "ap@acmehardware.example", None),
    "GLOBEX": ("DEALER", False, "purchasing@globex.example", None),
    "NYC-DIST": ("WHOLESALE", False, None, None),
    "NORTHWIND-CA": ("DEALER", False, None, "CA123456789RT0001"),
}
# PHONE_23 overrides for existing accounts whose phone a rule matches on.
EXISTING_ACCOUNT_PHONES = {"NYC-DIST": "(212) 555-0143"}

NEW_ACCOUNTS: tuple[MaxAccount, ...] = (
    MaxAccount("PIONEER", "Pioneer Machining", "Portland", "OR", "97204", "US", "503-555-0188", "30", "UP",
               ("", "", ""), "Y", "USD", "WHOLESALE", False, None, None),
    MaxAccount("CASCADE-01", "Cascade Tool Supply", "Seattle", "WA", "98104", "US", "206-555-0110", "30", "UP",
               ("", "", ""), "Y", "USD", "WHOLESALE", False, "buyer@cascadetool.example", None),
    MaxAccount("CASCADE-02", "Cascade Tool Supply Inc", "Seattle", "WA", "98104", "US", "206-555-0111", "10", "FX",
               ("", "", ""), "Y", "USD", "DEALER", False, "buyer@cascadetool.example", None),
    MaxAccount("BOLT-002", "Bolt Fasteners Inc", "Denver", "CO", "80202", "US", "303-555-0175", "10", "UP",
               ("", "", ""), "Y", "USD", "DEALER", True, "orders@boltfasteners.example", None),
)

SHOPIFY_CUSTOMERS: tuple[ShopifyCustomerCase, ...] = (
    ShopifyCustomerCase("globex", "Gina", "Ortiz", "gina.ortiz@globex.example", None, "Globex Industrial Supply",
                        "Austin", "TX", "78701", "US", custid_metafield="GLOBEX"),
    ShopifyCustomerCase("acme", "Arthur", "Cole", "ap@acmehardware.example", None, "Acme Hardware",
                        "Vernon", "CA", "90058", "US"),
    ShopifyCustomerCase("empire_phone", "Eva", "Lindqvist", "eva@empiredist.example", "+12125550143", None,
                        "Brooklyn", "NY", "11201", "US"),
    ShopifyCustomerCase("empire_company", "Marcus", "Bell", "marcus@empiredist.example", None,
                        "Empire Distribution LLC", "New York", "NY", "10001", "US"),
    ShopifyCustomerCase("northwind", "Priya", "Nair", "priya@northwind.example", None, "Northwind Canada",
                        "Toronto", "ON", "M5H 2N2", "CA"),
    ShopifyCustomerCase("pioneer_a", "Dan", "Reyes", "dan@pioneermachining.example", None, "Pioneer Machining",
                        "Portland", "OR", "97204", "US"),
    ShopifyCustomerCase("pioneer_b", "Lee", "Park", "lee@pioneermachining.example", None, "Pioneer Machining",
                        "Portland", "OR", "97204", "US"),
    ShopifyCustomerCase("cascade", "Sam", "Wu", "buyer@cascadetool.example", None, "Cascade Tool Supply",
                        "Seattle", "WA", "98104", "US"),
)

# What the flow is expected to decide with the default rule order (metafield, email, phone, company + postal code).
EXPECTED_MATCHES = {
    "GLOBEX": ("custid_metafield", "globex"),
    "ACME-001": ("email", "acme"),
    "NYC-DIST": ("phone", "empire_phone"),
    "NORTHWIND-CA": ("company_postal_code", "northwind"),
}
EXPECTED_AMBIGUOUS = {"PIONEER", "CASCADE-01", "CASCADE-02"}
EXPECTED_UNMATCHED = {"BOLT-002"}
