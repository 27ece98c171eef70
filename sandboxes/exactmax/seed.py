"""Deterministic master data, consistent with the Shopify sandbox (both seed from ``sandboxes.catalog`` and
``sandboxes.master_data_cases``).

- one ``Part_Master``/``Part_Sales`` row per *mapped* catalogue product (PRTNUM = part number); unmapped
  products do not exist in MAX, on purpose;
- a part has one sales UOM in ``Part_Sales`` (``EA``, factor 1). The "case of 12" variant sells the same part
  in UOM ``CS``; its factor lives in the UOM code table (``Code_Master`` CDEKEY ``UOM``, ``CNVFCT_36`` = 12);
- two non-stock parts, ``FREIGHT`` and ``MISC``, for freight lines and custom items without SKU (``TAXABL_29`` N;
  every stock part is sold taxable, ``Y``);
- ``catalog.MAX_ONLY_PARTS``: parts MAX sells that have no Shopify variant, stocked like the others;
- ``Part_Stock`` rows for every stockroom of every mapped location (several stockrooms per location);
- tax codes, terms, ship-via, UOM and currency code tables; customers with terms, exemptions and ship-tos,
  including the ``WEB`` account for one-off web orders, and the B2B accounts of ``master_data_cases.NEW_ACCOUNTS``;
- account data (extension ``X_Customer_Account``: price list, credit hold, e-mail, VAT id) for every customer
  above, from ``master_data_cases``; ``PHONE_23`` as ``EXISTING_ACCOUNT_PHONES`` says where a matching rule needs it;
- price lists (extension ``X_Price_List``), keyed by list, part and price UOM: ``RETAIL`` prices every mapped
  catalogue variant as the shop does (each under ``EA``, a case under ``CS``), except the products
  ``catalog.has_max_price_difference`` names, which cost ``catalog.MAX_PRICE_DIFFERENCE`` more in MAX; plus the
  MAX-only parts. ``WHOLESALE`` and ``DEALER`` are ``RETAIL`` x their ``PRICE_LISTS`` factor, rounded half up to
  cents.

Seeding runs once per step: a database that holds parts keeps them, and one seeded before price lists existed
(a demo's SQLite file) gains the accounts, the MAX-only parts and the price lists on its next start.

Not part of the default seed: :func:`add_accounts` adds many B2B accounts at once (a benchmark's thousands).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, Engine, func, select, update

from max_gateway.reference.database import prepare_database
from max_gateway.sql import tables as t
from sandboxes import catalog
from sandboxes.master_data_cases import (
    EXISTING_ACCOUNT_DATA,
    EXISTING_ACCOUNT_PHONES,
    NEW_ACCOUNTS,
    PRICE_LISTS,
    MaxAccount,
)

TERMS = {"30": "Net 30", "10": "Net 10", "CC": "Credit card", "PP": "Prepaid"}
SHIP_VIA = {"UP": "UPS Ground", "U2": "UPS 2nd Day Air", "FX": "FedEx Ground", "US": "USPS Priority", "WC": "Will call",
            "LT": "LTL freight"}
UOMS = {"EA": ("Each", Decimal(1)), "CS": ("Case of 12", Decimal(12)), "DZ": ("Dozen", Decimal(12)),
        "UN": ("Unit", Decimal(1))}
CURRENCIES = {"USD": ("US dollar", Decimal("1")), "CAD": ("Canadian dollar", Decimal("1.36")),
              "EUR": ("Euro", Decimal("0.92"))}
TAX_CODES = {
    "CA": ("California state", Decimal("0.0725")),
    "CALA": ("Los Angeles county", Decimal("0.0225")),
    "CALACTY": ("Los Angeles city", Decimal("0.0000")),
    "NY": ("New York state", Decimal("0.04")),
    "NYC": ("New York City", Decimal("0.045")),
    "TXAUS": ("Austin, TX", Decimal("0.0825")),
    "IL": ("Illinois state", Decimal("0.0625")),
    "ILCOOK": ("Cook county, IL", Decimal("0.0175")),
    "NLBTW": ("Netherlands VAT (BTW)", Decimal("0.21")),
    "EXEMPT": ("Tax exempt", Decimal("0")),
}

CENT = Decimal("0.01")
# Non-stock parts the order mapping uses (include/mappings/order_rules.yaml): freight lines and custom items.
NON_STOCK_PARTS = {"FREIGHT": "Freight charges", "MISC": "Custom item (no SKU)"}

CUSTOMERS = [
    # CUSTID, name, city, state, zip, country, terms, ship via, tax codes, taxable, currency
    ("WEB", "Web Orders", "Los Angeles", "CA", "90012", "US", "CC", "UP", ("CA", "CALA", ""), "Y", "USD"),
    ("ACME-001", "Acme Hardware Co", "Los Angeles", "CA", "90021", "US", "30", "UP", ("CA", "CALA", "CALACTY"),
     "Y", "USD"),
    ("GLOBEX", "Globex Industrial Supply", "Austin", "TX", "78701", "US", "30", "FX", ("EXEMPT", "", ""), "N", "USD"),
    ("NYC-DIST", "Empire Distribution LLC", "New York", "NY", "10001", "US", "10", "U2", ("NY", "NYC", ""), "Y",
     "USD"),
    ("NORTHWIND-CA", "Northwind Canada", "Toronto", "ON", "M5H 2N2", "CA", "PP", "FX", ("", "", ""), "N", "CAD"),
]

SHIP_TOS = [
    # CUSTID, SHPCDE, name, city, state, zip, tax codes, taxable, exemption certificate
    ("ACME-001", "MAIN", "Acme Hardware Warehouse", "Vernon", "CA", "90058", ("CA", "CALA", ""), "Y", ""),
    ("GLOBEX", "AUSTIN", "Globex Austin Plant", "Austin", "TX", "78744", ("EXEMPT", "", ""), "N", "TX-EX-0042177"),
    ("GLOBEX", "DALLAS", "Globex Dallas Depot", "Dallas", "TX", "75201", ("EXEMPT", "", ""), "N", "TX-EX-0042178"),
]


def stock_quantity(index: int, stockroom_position: int) -> Decimal:
    """Deterministic on-hand per part x stockroom; every 13th part is out of stock in its first stockroom."""
    if index % 13 == 0 and stockroom_position == 0:
        return Decimal(0)
    return Decimal(10 + (index * 7 + stockroom_position * 31) % 190)


def seed_database(engine: Engine, products: int = 200, ordnum_first: int = 100001, ordnum_last: int = 99999999) -> None:
    """Load master data once. A database that already holds parts is left as it is (counters excepted), except that
    one without price lists gains the account data, the MAX-only parts and the price lists."""
    prepare_database(engine, ordnum_first=ordnum_first, ordnum_last=ordnum_last)
    with engine.begin() as conn:
        if not conn.execute(select(func.count()).select_from(t.part_master)).scalar_one():
            _seed_codes_customers_and_parts(conn, products)
        if not conn.execute(select(func.count()).select_from(t.x_price_list)).scalar_one():
            _seed_accounts_and_price_lists(conn, products)


def stockrooms() -> list[str]:
    """Every MAX stockroom a Shopify location maps to, in catalogue order (the first is each part's default)."""
    return [stk for location in catalog.LOCATIONS for stk in location.max_stockrooms]


def _part_rows(part_number: str, description: str, vendor: str, price: Decimal, product_line: str,
               quantities: list[Decimal]) -> tuple[dict, dict, list[dict]]:
    """``Part_Master``, ``Part_Sales`` and ``Part_Stock`` rows of a stock part sold by the each."""
    rooms = stockrooms()
    master = {"PRTNUM_01": part_number, "PMDES1_01": description[:30], "PMDES2_01": vendor[:30], "TYPE_01": "S",
              "BOMUOM_01": "EA", "COST_01": (price * Decimal("0.55")).quantize(Decimal("0.01")),
              "ONHAND_01": sum(quantities), "DELSTK_01": rooms[0]}
    sales = {"PRTNUM_29": part_number, "STK_29": rooms[0], "SLSUOM_29": "EA", "SLSCNV_29": Decimal(1),
             "PRDLIN_29": product_line, "PRICE_29": price, "TAXABL_29": "Y"}
    stock = [{"PRTNUM_06": part_number, "STK_06": stk, "QTYOH_06": qty}
             for stk, qty in zip(rooms, quantities, strict=True)]
    return master, sales, stock


def _seed_codes_customers_and_parts(conn: Connection, products: int) -> None:
    code_rows = [
        *(("TERMS", code, desc, None, None) for code, desc in TERMS.items()),
        *(("SHPVIA", code, desc, None, None) for code, desc in SHIP_VIA.items()),
        *(("UOM", code, desc, None, factor) for code, (desc, factor) in UOMS.items()),
        *(("CURR", code, desc, rate, None) for code, (desc, rate) in CURRENCIES.items()),
    ]
    # executemany takes its columns from the first row, so every row names every column.
    conn.execute(t.code_master.insert(), [
        {"CDEKEY_36": key, "CODE_36": code, "DESC_36": desc, "EXCRTE_36": rate, "CNVFCT_36": factor}
        for key, code, desc, rate, factor in code_rows
    ])
    conn.execute(t.tax_master.insert(), [
        {"TAXCDE_25": code, "TAXDES_25": desc, "TAXRTE_25": rate} for code, (desc, rate) in TAX_CODES.items()
    ])
    conn.execute(t.customer_master.insert(), [
        {"CUSTID_23": custid, "NAME_23": name, "ADDR1_23": f"{100 + i} Industrial Way", "CITY_23": city,
         "STATE_23": state, "ZIPCD_23": zipcd, "CNTRY_23": country, "PHONE_23": f"555-010{i}",
         "CNTCT_23": "Accounts Payable", "TERMS_23": terms, "SHPVIA_23": shpvia, "TXCDE1_23": taxes[0],
         "TXCDE2_23": taxes[1], "TXCDE3_23": taxes[2], "TAXABL_23": taxable, "CURR_23": currency}
        for i, (custid, name, city, state, zipcd, country, terms, shpvia, taxes, taxable, currency)
        in enumerate(CUSTOMERS)
    ])
    conn.execute(t.shipping_master.insert(), [
        {"CUSTID_24": custid, "SHPCDE_24": code, "NAME_24": name, "ADDR1_24": "1 Dock Road", "CITY_24": city,
         "STATE_24": state, "ZIPCD_24": zipcd, "CNTRY_24": "US", "TXCDE1_24": taxes[0], "TXCDE2_24": taxes[1],
         "TXCDE3_24": taxes[2], "TAXABL_24": taxable, "TXEXEM_24": exemption}
        for custid, code, name, city, state, zipcd, taxes, taxable, exemption in SHIP_TOS
    ])
    rooms = stockrooms()
    parts, sales, stock = [], [], []
    for item in catalog.products(products):
        each = item.variants[0]
        if each.part_number is None:
            continue  # unmapped on purpose: exists in Shopify only
        quantities = [stock_quantity(item.index, position) for position in range(len(rooms))]
        master, part_sales, part_stock = _part_rows(each.part_number, item.title, item.vendor, each.price,
                                                    item.vendor[:4].upper(), quantities)
        parts.append(master)
        sales.append(part_sales)
        stock += part_stock
    for part_number, description in NON_STOCK_PARTS.items():
        parts.append({"PRTNUM_01": part_number, "PMDES1_01": description, "PMDES2_01": "", "TYPE_01": "N",
                      "BOMUOM_01": "EA", "COST_01": Decimal(0), "ONHAND_01": Decimal(0), "DELSTK_01": rooms[0]})
        sales.append({"PRTNUM_29": part_number, "STK_29": rooms[0], "SLSUOM_29": "EA", "SLSCNV_29": Decimal(1),
                      "PRDLIN_29": "SVC", "PRICE_29": Decimal(0), "TAXABL_29": "N"})
    conn.execute(t.part_master.insert(), parts)
    conn.execute(t.part_sales.insert(), sales)
    conn.execute(t.part_stock.insert(), stock)


def _seed_accounts_and_price_lists(conn: Connection, products: int) -> None:
    """The B2B master data: account data, the new accounts, the MAX-only parts and the price lists. Adds only what
    is missing, so it also completes a database seeded before these existed."""
    # Non-stock parts are sold untaxed (a database from before has them at the column default Y).
    conn.execute(update(t.part_sales).where(t.part_sales.c.PRTNUM_29.in_(list(NON_STOCK_PARTS))).values(TAXABL_29="N"))
    customers = set(conn.execute(select(t.customer_master.c.CUSTID_23)).scalars())
    new_customers = [account for account in NEW_ACCOUNTS if account.custid not in customers]
    if new_customers:
        conn.execute(t.customer_master.insert(), [
            {"CUSTID_23": a.custid, "NAME_23": a.name, "ADDR1_23": f"{200 + i} Commerce Street", "CITY_23": a.city,
             "STATE_23": a.state, "ZIPCD_23": a.zip_code, "CNTRY_23": a.country, "PHONE_23": a.phone,
             "CNTCT_23": "Purchasing", "TERMS_23": a.terms, "SHPVIA_23": a.ship_via, "TXCDE1_23": a.tax_codes[0],
             "TXCDE2_23": a.tax_codes[1], "TXCDE3_23": a.tax_codes[2], "TAXABL_23": a.taxable, "CURR_23": a.currency}
            for i, a in enumerate(new_customers)
        ])
        customers |= {a.custid for a in new_customers}
    for custid, phone in EXISTING_ACCOUNT_PHONES.items():
        conn.execute(update(t.customer_master).where(t.customer_master.c.CUSTID_23 == custid).values(PHONE_23=phone))

    account_data = dict(EXISTING_ACCOUNT_DATA)
    account_data.update({a.custid: (a.price_list, a.credit_hold, a.email, a.vat_id) for a in NEW_ACCOUNTS})
    with_account = set(conn.execute(select(t.x_customer_account.c.CUSTID_X)).scalars())
    accounts = [{"CUSTID_X": custid, "PRCLST_X": price_list, "CRHOLD_X": "Y" if credit_hold else "N",
                 "EMAIL_X": email or "", "VATID_X": vat_id or ""}
                for custid, (price_list, credit_hold, email, vat_id) in account_data.items()
                if custid in customers and custid not in with_account]
    if accounts:
        conn.execute(t.x_customer_account.insert(), accounts)

    known_parts = set(conn.execute(select(t.part_master.c.PRTNUM_01)).scalars())
    rooms = stockrooms()
    for part_number, description, price in catalog.MAX_ONLY_PARTS:
        if part_number in known_parts:
            continue
        index = int(part_number.rsplit("-", 1)[1])
        master, part_sales, part_stock = _part_rows(part_number, description, "", price, "SPAR",
                                                    [stock_quantity(index, n) for n in range(len(rooms))])
        conn.execute(t.part_master.insert().values(**master))
        conn.execute(t.part_sales.insert().values(**part_sales))
        conn.execute(t.part_stock.insert(), part_stock)
        known_parts.add(part_number)

    conn.execute(t.x_price_list.insert(), [
        {"PRCLST_X": code, "PRTNUM_X": part, "SLSUOM_X": uom, "PRICE_X": price}
        for (code, part, uom), price in price_list_prices(products, known_parts).items()
    ])


def add_accounts(engine: Engine, accounts: Iterable[MaxAccount], batch: int = 5_000) -> int:
    """Add ``accounts`` to a seeded database: a ``Customer_Master`` row and its account data (``X_Customer_Account``:
    price list, credit hold, e-mail, VAT id) each, in batches of ``batch`` rows. For a benchmark that needs thousands
    of B2B accounts; the default seed never calls it. The caller keeps CUSTIDs new (a CUSTID already in the database
    fails the insert). Returns how many accounts were added."""
    added = 0
    rows: list[MaxAccount] = []

    def flush(conn: Connection) -> None:
        conn.execute(t.customer_master.insert(), [
            {"CUSTID_23": a.custid, "NAME_23": a.name, "ADDR1_23": "1 Commerce Street", "CITY_23": a.city,
             "STATE_23": a.state, "ZIPCD_23": a.zip_code, "CNTRY_23": a.country, "PHONE_23": a.phone,
             "CNTCT_23": "Purchasing", "TERMS_23": a.terms, "SHPVIA_23": a.ship_via, "TXCDE1_23": a.tax_codes[0],
             "TXCDE2_23": a.tax_codes[1], "TXCDE3_23": a.tax_codes[2], "TAXABL_23": a.taxable, "CURR_23": a.currency}
            for a in rows])
        conn.execute(t.x_customer_account.insert(), [
            {"CUSTID_X": a.custid, "PRCLST_X": a.price_list, "CRHOLD_X": "Y" if a.credit_hold else "N",
             "EMAIL_X": a.email or "", "VATID_X": a.vat_id or ""} for a in rows])
        rows.clear()

    with engine.begin() as conn:
        for account in accounts:
            rows.append(account)
            added += 1
            if len(rows) >= batch:
                flush(conn)
        if rows:
            flush(conn)
    return added


def retail_prices(products: int) -> dict[tuple[str, str], Decimal]:
    """(part, price UOM) -> price on MAX's ``RETAIL`` list: every mapped catalogue variant (a case under ``CS``, as
    ``sku_to_part.csv``'s ``price_uom`` says) at ``catalog.max_retail_price``, and the MAX-only parts by the each."""
    prices = {}
    for item in catalog.products(products):
        for variant in item.variants:
            if variant.part_number is not None:
                prices[(variant.part_number, variant.sales_uom)] = catalog.max_retail_price(variant, item.index)
    for part_number, _description, price in catalog.MAX_ONLY_PARTS:
        prices[(part_number, "EA")] = price
    return prices


def price_list_prices(products: int, parts: set[str] | None = None) -> dict[tuple[str, str, str], Decimal]:
    """(price list, part, price UOM) -> price for every list of ``PRICE_LISTS``: ``RETAIL`` x the list's factor,
    rounded half up to cents. ``parts``: only these parts (the ones the database holds)."""
    retail = {key: price for key, price in retail_prices(products).items() if parts is None or key[0] in parts}
    return {(code, part, uom): (price * factor).quantize(CENT, rounding=ROUND_HALF_UP)
            for code, factor in PRICE_LISTS.items() for (part, uom), price in retail.items()}
