"""Deterministic master data, consistent with the Shopify sandbox (both seed from ``sandboxes.catalog``).

- one ``Part_Master``/``Part_Sales`` row per *mapped* catalogue product (PRTNUM = part number); unmapped
  products do not exist in MAX, on purpose;
- a part has one sales UOM in ``Part_Sales`` (``EA``, factor 1). The "case of 12" variant sells the same part
  in UOM ``CS``; its factor lives in the UOM code table (``Code_Master`` CDEKEY ``UOM``, ``CNVFCT_36`` = 12);
- two non-stock parts, ``FREIGHT`` and ``MISC``, for freight lines and custom items without SKU;
- ``Part_Stock`` rows for every stockroom of every mapped location (several stockrooms per location);
- tax codes, terms, ship-via, UOM and currency code tables; customers with terms, exemptions and ship-tos,
  including the ``WEB`` account for one-off web orders.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, func, select

from max_gateway.reference import schema as t
from max_gateway.reference.database import prepare_database
from sandboxes import catalog

TERMS = {"30": "Net 30", "10": "Net 10", "CC": "Credit card", "PP": "Prepaid"}
SHIP_VIA = {"UP": "UPS Ground", "U2": "UPS 2nd Day Air", "FX": "FedEx Ground", "US": "USPS Priority", "WC": "Will call"}
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
    """Load master data once; a database that already holds parts is left as it is (counters excepted)."""
    prepare_database(engine, ordnum_first=ordnum_first, ordnum_last=ordnum_last)
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(t.part_master)).scalar_one():
            return
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
        stockrooms = [stk for location in catalog.LOCATIONS for stk in location.max_stockrooms]
        parts, sales, stock = [], [], []
        for item in catalog.products(products):
            each = item.variants[0]
            if each.part_number is None:
                continue  # unmapped on purpose: exists in Shopify only
            quantities = [stock_quantity(item.index, position) for position in range(len(stockrooms))]
            parts.append({"PRTNUM_01": each.part_number, "PMDES1_01": item.title[:30], "PMDES2_01": item.vendor[:30],
                          "TYPE_01": "S", "BOMUOM_01": "EA", "COST_01": (each.price * Decimal("0.55")).quantize(
                              Decimal("0.01")), "ONHAND_01": sum(quantities), "DELSTK_01": stockrooms[0]})
            sales.append({"PRTNUM_29": each.part_number, "STK_29": stockrooms[0], "SLSUOM_29": "EA",
                          "SLSCNV_29": Decimal(1), "PRDLIN_29": item.vendor[:4].upper(), "PRICE_29": each.price})
            stock += [{"PRTNUM_06": each.part_number, "STK_06": stk, "QTYOH_06": qty}
                      for stk, qty in zip(stockrooms, quantities, strict=True)]
        for part_number, description in NON_STOCK_PARTS.items():
            parts.append({"PRTNUM_01": part_number, "PMDES1_01": description, "PMDES2_01": "", "TYPE_01": "N",
                          "BOMUOM_01": "EA", "COST_01": Decimal(0), "ONHAND_01": Decimal(0),
                          "DELSTK_01": stockrooms[0]})
            sales.append({"PRTNUM_29": part_number, "STK_29": stockrooms[0], "SLSUOM_29": "EA",
                          "SLSCNV_29": Decimal(1), "PRDLIN_29": "SVC", "PRICE_29": Decimal(0)})
        conn.execute(t.part_master.insert(), parts)
        conn.execute(t.part_sales.insert(), sales)
        conn.execute(t.part_stock.insert(), stock)
