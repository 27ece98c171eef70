"""Master-data reads: customers carry their account data, parts say whether they are taxable, price lists page by
part and UOM; the hook reads each as its model. Real gateway over HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
import yaml
from max_gateway_helpers import PRODUCTS, unique_custpo

from max_gateway.app import OPENAPI_PATH
from max_gateway.sql import tables as t
from sandboxes import catalog
from sandboxes.exactmax.seed import NON_STOCK_PARTS, price_list_prices
from sandboxes.master_data_cases import EXISTING_ACCOUNT_DATA, EXISTING_ACCOUNT_PHONES, NEW_ACCOUNTS, PRICE_LISTS
from shopify_max.exactmax.errors import ExactMaxNotFound
from shopify_max.exactmax.models import Part, PriceListEntry

ACCOUNT_DATA = {**EXISTING_ACCOUNT_DATA,
                **{a.custid: (a.price_list, a.credit_hold, a.email, a.vat_id) for a in NEW_ACCOUNTS}}


def _get(client, path: str, **params):  # noqa: ANN001, ANN202
    return client.http.get(client.base_url + path, params=params, timeout=10)


def _all_pages(client, path: str, limit: int) -> list[dict]:  # noqa: ANN001
    items, cursor = [], None
    while True:
        page = _get(client, path, limit=limit, **({"cursor": cursor} if cursor else {})).json()
        assert len(page["items"]) <= limit
        items += page["items"]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return items
        cursor = page["next_cursor"]


def _schema(name: str) -> dict:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))["components"]["schemas"][name]


def test_customers_carry_price_list_credit_hold_email_and_vat_id_from_the_account_extension(shared_gateway) -> None:
    customers = {c["CUSTID_23"]: c for c in _all_pages(shared_gateway, "/customers", limit=3)}
    assert set(ACCOUNT_DATA) <= set(customers)
    for custid, (price_list, credit_hold, email, vat_id) in ACCOUNT_DATA.items():
        c = customers[custid]
        assert (c["price_list"], c["credit_hold"], c["email"], c["vat_id"]) == (price_list, credit_hold, email,
                                                                                vat_id), custid
    assert _get(shared_gateway, "/customers/BOLT-002").json()["credit_hold"] is True
    # Everything the read carried before is still there.
    globex = customers["GLOBEX"]
    assert globex["tax_exempt"] and [e["SHPCDE"] for e in globex["exemptions"]] == ["AUSTIN", "DALLAS"]
    assert customers["ACME-001"]["tax_codes"] == ["CA", "CALA", "CALACTY"]
    assert customers["NYC-DIST"]["PHONE_23"] == EXISTING_ACCOUNT_PHONES["NYC-DIST"]


def test_a_customer_the_site_keeps_no_account_data_for_reads_null_and_not_on_hold(shared_gateway) -> None:
    custid = unique_custpo("N")[:20]
    with shared_gateway.engine.begin() as conn:  # entered in MAX (the max backend cannot add customers)
        conn.execute(t.customer_master.insert().values(CUSTID_23=custid, NAME_23="No Account Data Co"))
    customer = _get(shared_gateway, f"/customers/{custid}").json()
    assert (customer["price_list"], customer["credit_hold"], customer["email"], customer["vat_id"]) == (
        None, False, None, None)


def test_new_reads_answer_exactly_the_documented_properties(shared_gateway) -> None:
    """Customer, Part and PriceListEntry: every documented property, nothing undocumented."""
    answers = {"Customer": _get(shared_gateway, "/customers/NORTHWIND-CA").json(),
               "Part": _get(shared_gateway, "/parts", limit=1).json()["items"][0],
               "PriceListEntry": _get(shared_gateway, "/price-lists/RETAIL/prices", limit=1).json()["items"][0]}
    for name, item in answers.items():
        schema = _schema(name)
        assert set(schema["required"]) == set(item) == set(schema["properties"]), name


def test_parts_say_whether_max_sells_them_taxable(shared_gateway) -> None:
    taxable = {p["PRTNUM_01"]: p["TAXABL_29"] for p in _all_pages(shared_gateway, "/parts", limit=50)}
    assert {part: taxable[part] for part in NON_STOCK_PARTS} == {"FREIGHT": "N", "MISC": "N"}
    stock_parts = set(taxable) - set(NON_STOCK_PARTS)
    assert stock_parts and {taxable[part] for part in stock_parts} == {"Y"}


def test_price_list_pages_visit_every_price_once_in_part_then_uom_order(shared_gateway) -> None:
    items = _all_pages(shared_gateway, "/price-lists/RETAIL/prices", limit=7)
    keys = [(i["PRTNUM"], i["SLSUOM"]) for i in items]
    assert keys == sorted(set(keys))
    expected = {(part, uom): price for (code, part, uom), price in price_list_prices(PRODUCTS).items()
                if code == "RETAIL"}
    assert {(i["PRTNUM"], i["SLSUOM"]): Decimal(i["PRICE"]) for i in items} == expected
    assert {i["PRCLST"] for i in items} == {"RETAIL"}
    # The cursor is PRTNUM|SLSUOM: a page may end between two UOMs of one part (CS sorts before EA).
    after_case = _get(shared_gateway, "/price-lists/RETAIL/prices", cursor="PRT-00010|CS", limit=2).json()
    assert [(i["PRTNUM"], i["SLSUOM"]) for i in after_case["items"]] == [("PRT-00010", "EA"), ("PRT-00011", "EA")]
    assert after_case["next_cursor"] == "PRT-00011|EA" and after_case["has_more"]


def test_an_unknown_price_list_is_not_found_and_the_code_is_trimmed(shared_gateway) -> None:
    assert _get(shared_gateway, "/price-lists/NOPE/prices").status_code == 404
    padded = _get(shared_gateway, "/price-lists/%20DEALER%20%20/prices", limit=3)
    assert padded.status_code == 200
    assert padded.json()["items"] == _get(shared_gateway, "/price-lists/DEALER/prices", limit=3).json()["items"]
    assert {i["PRCLST"] for i in padded.json()["items"]} == {"DEALER"}


def test_code_tables_list_the_price_list_codes(shared_gateway) -> None:
    codes = _get(shared_gateway, "/code-tables").json()["price_lists"]
    assert [c["code"] for c in codes] == sorted(PRICE_LISTS)


def test_space_padded_keys_and_blank_account_values_are_read_trimmed(gateway) -> None:
    """MAX pads CHAR columns with spaces: keys read trimmed, and a blank value reads as none."""
    with gateway.engine.begin() as conn:
        conn.execute(t.x_price_list.insert(), [{"PRCLST_X": "PADDED", "PRTNUM_X": "PRT-00001    ", "SLSUOM_X": "EA",
                                                "PRICE_X": Decimal("3.5")}])
        conn.execute(sa.update(t.x_customer_account).where(t.x_customer_account.c.CUSTID_X == "ACME-001").values(
            PRCLST_X="WHOLESALE ", EMAIL_X="ap@acmehardware.example   ", VATID_X="    ", CRHOLD_X="N"))
    prices = _get(gateway, "/price-lists/PADDED/prices").json()["items"]
    assert prices == [{"PRCLST": "PADDED", "PRTNUM": "PRT-00001", "SLSUOM": "EA", "PRICE": "3.5"}]
    acme = _get(gateway, "/customers/ACME-001").json()
    assert (acme["price_list"], acme["email"], acme["vat_id"]) == ("WHOLESALE", "ap@acmehardware.example", None)


# ---------------------------------------------------------------- the hook over HTTP


def test_hook_reads_a_price_list_as_entries_page_by_page(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    entries = list(hook.iter_prices("WHOLESALE", page_size=9))
    assert entries and all(isinstance(e, PriceListEntry) for e in entries)
    assert {(e.price_list, e.part_number, e.uom): e.price for e in entries} == {
        key: price for key, price in price_list_prices(PRODUCTS).items() if key[0] == "WHOLESALE"}
    case = next(e for e in entries if (e.part_number, e.uom) == ("PRT-00010", "CS"))
    assert isinstance(case.price, Decimal)
    assert [c.code for c in hook.code_tables().price_lists] == ["DEALER", "RETAIL", "WHOLESALE"]


def test_hook_raises_not_found_for_an_unknown_price_list_at_the_call(shared_gateway, make_hook) -> None:
    with pytest.raises(ExactMaxNotFound):
        make_hook(shared_gateway).iter_prices("NOPE")  # no iteration needed: the first page is read at the call


def test_hook_reads_customer_account_data_and_whether_parts_are_taxable(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    bolt = hook.get_customer("BOLT-002")
    assert (bolt.price_list, bolt.credit_hold, bolt.email, bolt.vat_id) == (
        "DEALER", True, "orders@boltfasteners.example", None)
    assert hook.get_customer("NORTHWIND-CA").vat_id == "CA123456789RT0001"
    records = {c.CUSTID: c for c in hook.iter_customers(page_size=4)}
    assert {custid: (c.price_list, c.credit_hold, c.email, c.vat_id) for custid, c in records.items()
            if custid in ACCOUNT_DATA} == ACCOUNT_DATA
    assert records["NYC-DIST"].PHONE == "(212) 555-0143" and records["GLOBEX"].tax_exempt
    taxable = {p.PRTNUM: p.taxable for p in hook.iter_parts(page_size=50)}
    assert (taxable["FREIGHT"], taxable["MISC"], taxable["PRT-00001"], taxable["PRT-90001"]) == (
        False, False, True, True)
    untaxed_in_shopify = next(p.index for p in catalog.products(PRODUCTS) if catalog.is_untaxed_in_shopify(p.index))
    assert taxable[f"PRT-{untaxed_in_shopify:05d}"] is True  # MAX sells it taxable; Shopify does not


def test_a_part_read_from_a_gateway_that_omits_the_taxable_flag_is_taxable() -> None:
    base = {"PRTNUM_01": "P1", "SLSUOM_29": "EA", "SLSCNV_29": "1"}
    assert Part.from_gateway(base).taxable is True
    assert Part.from_gateway({**base, "TAXABL_29": "N"}).taxable is False
    with pytest.raises(ValueError):
        Part.from_gateway({**base, "TAXABL_29": "X"})

