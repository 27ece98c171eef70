"""The sandbox gateway's master data for go-live: the B2B accounts, the MAX-only parts and the price lists hold the
facts ``sandboxes.catalog`` and ``sandboxes.master_data_cases`` promise, and a database seeded before they existed
gains them. Read back over HTTP from a real gateway, or from the real database."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from max_gateway_helpers import PRODUCTS

from max_gateway.reference.database import SchemaUpgradeError, create_gateway_engine, prepare_database
from max_gateway.sql import tables as t
from sandboxes import catalog
from sandboxes.exactmax.seed import NON_STOCK_PARTS, seed_database, stockrooms
from sandboxes.master_data_cases import EXISTING_ACCOUNT_PHONES, NEW_ACCOUNTS, PRICE_LISTS

CENT = Decimal("0.01")


def _prices(client, code: str) -> dict[tuple[str, str], Decimal]:  # noqa: ANN001
    items, cursor = [], None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = client.http.get(f"{client.base_url}/price-lists/{code}/prices", params=params, timeout=10).json()
        items += page["items"]
        if not page["has_more"]:
            return {(i["PRTNUM"], i["SLSUOM"]): Decimal(i["PRICE"]) for i in items}
        cursor = page["next_cursor"]


def test_retail_prices_the_shop_price_except_where_the_catalogue_says_max_differs(shared_gateway) -> None:
    retail = _prices(shared_gateway, "RETAIL")
    differing = set()
    for item in catalog.products(PRODUCTS):
        for variant in item.variants:
            key = (variant.part_number, variant.sales_uom)
            if variant.part_number is None:
                assert not any(part == f"PRT-{item.index:05d}" for part, _uom in retail)  # unmapped: not in MAX
                continue
            difference = retail[key] - variant.price
            assert difference == (catalog.MAX_PRICE_DIFFERENCE if catalog.has_max_price_difference(item.index)
                                  else 0), key
            if difference:
                differing.add(item.index)
    assert differing == {i for i in range(1, PRODUCTS + 1) if i % 50 == 11} == {11}


def test_a_case_is_priced_under_the_uom_the_sku_mapping_names(shared_gateway) -> None:
    retail = _prices(shared_gateway, "RETAIL")
    mapped = {(part, price_uom or "EA") for _sku, part, _uom, _factor, price_uom in catalog.sku_mapping_rows(PRODUCTS)}
    max_only = {(part, "EA") for part, _description, _price in catalog.MAX_ONLY_PARTS}
    assert set(retail) == mapped | max_only
    case = catalog.product(10).variants[1]
    assert retail[("PRT-00010", "CS")] == case.price != 12 * catalog.product(10).variants[0].price


def test_wholesale_and_dealer_are_retail_times_their_factor_rounded_half_up_to_cents(shared_gateway) -> None:
    retail = _prices(shared_gateway, "RETAIL")
    halves = 0
    for code in ("WHOLESALE", "DEALER"):
        prices = _prices(shared_gateway, code)
        assert set(prices) == set(retail)
        for key, price in retail.items():
            exact = price * PRICE_LISTS[code]
            assert prices[key] == exact.quantize(CENT, rounding=ROUND_HALF_UP), (code, key)
            halves += exact.quantize(CENT, ROUND_HALF_UP) != exact.quantize(CENT, ROUND_HALF_EVEN)
    assert halves  # the data holds half-cent cases, so the rounding rule is really exercised


def test_max_only_parts_are_sold_stocked_and_priced_but_no_sku_maps_to_them(shared_gateway) -> None:
    http, base = shared_gateway.http, shared_gateway.base_url
    parts = {p["PRTNUM_01"]: p for p in http.get(f"{base}/parts", params={"limit": 1000}, timeout=10).json()["items"]}
    retail = _prices(shared_gateway, "RETAIL")
    mapped_parts = {part for _sku, part, *_rest in catalog.sku_mapping_rows(PRODUCTS)}
    for part_number, description, price in catalog.MAX_ONLY_PARTS:
        part = parts[part_number]
        assert (part["PMDES1_01"], part["TYPE_01"], part["SLSUOM_29"], part["TAXABL_29"]) == (description, "S", "EA",
                                                                                               "Y")
        assert Decimal(part["PRICE_29"]) == price == retail[(part_number, "EA")]
        stock = http.get(f"{base}/stock", params={"part": part_number}, timeout=10).json()["items"]
        assert sorted(s["STK"] for s in stock) == sorted(stockrooms()) and all(Decimal(s["on_hand"]) > 0 for s in stock)
        assert part_number not in mapped_parts


def test_the_new_accounts_are_customers_with_their_contact_details(shared_gateway) -> None:
    for account in NEW_ACCOUNTS:
        c = shared_gateway.http.get(f"{shared_gateway.base_url}/customers/{account.custid}", timeout=10).json()
        assert (c["NAME_23"], c["CITY_23"], c["STATE_23"], c["ZIPCD_23"], c["CNTRY_23"], c["PHONE_23"], c["TERMS_23"],
                c["SHPVIA_23"], c["TAXABL_23"], c["CURR_23"]) == (
            account.name, account.city, account.state, account.zip_code, account.country, account.phone,
            account.terms, account.ship_via, account.taxable, account.currency), account.custid
        assert (c["price_list"], c["credit_hold"], c["email"]) == (account.price_list, account.credit_hold,
                                                                   account.email)
    cascades = [a for a in NEW_ACCOUNTS if a.custid.startswith("CASCADE")]
    assert len({a.email for a in cascades}) == 1  # the duplicate in MAX: two accounts, one e-mail


# ---------------------------------------------------------------- a database seeded before price lists existed

NEW_TABLES = {"X_Customer_Account", "X_Price_List"}


def _old_schema(without_column: tuple[str, str] = ("Part_Sales", "TAXABL_29")) -> sa.MetaData:
    """The reference schema as it was before: no account or price-list tables, ``Part_Sales`` without TAXABL_29."""
    old = sa.MetaData()
    for table in t.metadata.sorted_tables:
        if table.name not in NEW_TABLES:
            sa.Table(table.name, old, *[column._copy() for column in table.columns
                                        if (table.name, column.name) != without_column])
    return old


def test_a_database_seeded_before_gains_the_new_tables_column_and_master_data_and_keeps_its_rows(
        database_url: str) -> None:
    engine = create_gateway_engine(database_url)
    try:
        _old_schema().create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text('INSERT INTO "Part_Master" ("PRTNUM_01", "PMDES1_01", "PMDES2_01", "TYPE_01", '
                                 '"BOMUOM_01", "COST_01", "ONHAND_01", "DELSTK_01") VALUES '
                                 "('PRT-00001', 'Old widget', '', 'S', 'EA', 1, 5, 'MAIN'), "
                                 "('FREIGHT', 'Freight charges', '', 'N', 'EA', 0, 0, 'MAIN')"))
            conn.execute(sa.text('INSERT INTO "Part_Sales" ("PRTNUM_29", "STK_29", "SLSUOM_29", "SLSCNV_29", '
                                 '"PRDLIN_29", "PRICE_29") VALUES '
                                 "('PRT-00001', 'MAIN', 'EA', 1, 'ACME', 4.56), ('FREIGHT', 'MAIN', 'EA', 1, 'SVC', 0)"))
            conn.execute(sa.text('INSERT INTO "Customer_Master" ("CUSTID_23", "NAME_23", "ADDR1_23", "ADDR2_23", '
                                 '"ADDR3_23", "ADDR4_23", "ADDR5_23", "ADDR6_23", "CITY_23", "STATE_23", "ZIPCD_23", '
                                 '"CNTRY_23", "PHONE_23", "CNTCT_23", "TERMS_23", "SHPVIA_23", "TXCDE1_23", '
                                 '"TXCDE2_23", "TXCDE3_23", "TAXABL_23", "CURR_23", "SLSREP_23") VALUES '
                                 "('NYC-DIST', 'Empire Distribution LLC', '', '', '', '', '', '', 'New York', 'NY', "
                                 "'10001', 'US', '555-0103', '', '10', 'U2', 'NY', 'NYC', '', 'Y', 'USD', '')"))

        seed_database(engine, products=3)

        with engine.connect() as conn:
            taxable = dict(conn.execute(sa.select(t.part_sales.c.PRTNUM_29, t.part_sales.c.TAXABL_29)).all())
            old_price = conn.execute(sa.select(t.part_sales.c.PRICE_29).where(
                t.part_sales.c.PRTNUM_29 == "PRT-00001")).scalar_one()
            parts = set(conn.execute(sa.select(t.part_master.c.PRTNUM_01)).scalars())
            prices = {(r.PRCLST_X, r.PRTNUM_X, r.SLSUOM_X) for r in conn.execute(sa.select(t.x_price_list))}
            accounts = dict(conn.execute(sa.select(t.x_customer_account.c.CUSTID_X,
                                                   t.x_customer_account.c.PRCLST_X)).all())
            phone = conn.execute(sa.select(t.customer_master.c.PHONE_23).where(
                t.customer_master.c.CUSTID_23 == "NYC-DIST")).scalar_one()
        assert (taxable["PRT-00001"], taxable["FREIGHT"]) == ("Y", "N")  # the column, added in place
        assert Decimal(old_price) == Decimal("4.56")  # its rows kept as they were
        assert "PRT-00002" not in parts  # the catalogue is not seeded again over existing parts
        assert {part for part, *_ in catalog.MAX_ONLY_PARTS} <= parts
        assert ("RETAIL", "PRT-00001", "EA") in prices and ("DEALER", "PRT-90002", "EA") in prices
        assert not any(part == "PRT-00002" for _code, part, _uom in prices)  # priced only what the database holds
        assert accounts["NYC-DIST"] == "WHOLESALE" and {a.custid for a in NEW_ACCOUNTS} <= set(accounts)
        assert phone == EXISTING_ACCOUNT_PHONES["NYC-DIST"]

        before = len(prices)
        seed_database(engine, products=3)  # once gained, a restart changes nothing
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.x_price_list)).scalar_one() == before
    finally:
        engine.dispose()


def test_a_missing_column_that_cannot_be_added_in_place_says_to_recreate_the_database(tmp_path) -> None:
    engine = create_gateway_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    _old_schema(without_column=("SO_Master", "CUSTID_27")).create_all(engine)  # NOT NULL, no server default
    with pytest.raises(SchemaUpgradeError, match="SO_Master.CUSTID_27"):
        prepare_database(engine)
    engine.dispose()


def test_non_stock_parts_are_sold_untaxed_and_every_stock_part_taxable(tmp_path) -> None:
    engine = create_gateway_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    seed_database(engine, products=5)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.part_master.c.PRTNUM_01, t.part_master.c.TYPE_01, t.part_sales.c.TAXABL_29)
                            .join(t.part_sales, t.part_sales.c.PRTNUM_29 == t.part_master.c.PRTNUM_01)).all()
    engine.dispose()
    assert {r.PRTNUM_01 for r in rows if r.TAXABL_29 == "N"} == set(NON_STOCK_PARTS)
    assert {r.TYPE_01 for r in rows if r.TAXABL_29 == "Y"} == {"S"}
