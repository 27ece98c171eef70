"""The shared reads on MAX-shaped data padded as MAX pads it: every text column ``CHAR(n)``
(``max_gateway.sql.padded``), on PostgreSQL, whose ``character(n)`` pads and compares like SQL Server's.

One seed (``seed_database``) and one realistic history (orders entered, shipped, re-tracked, invoiced, paid,
cancelled, a credit memo restocking) go into two fresh schemas: one padded, one plain (``VARCHAR``, the reference
database). Keys read back trimmed, lookups find a key given with trailing spaces, keyset paging over padded keys
sees every row once, and every read answers the very same JSON on both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from max_gateway_helpers import PG_URL, make_order

from max_gateway.reference.writes import cancel_sales_order, create_sales_order
from max_gateway.sql import credit_memo_reads, fulfilment_reads, reads, write_checks
from max_gateway.sql import tables as t
from max_gateway.sql.padded import create_padded_tables, padded_metadata
from max_gateway.sql.types import MaxText
from sandboxes.exactmax import operations
from sandboxes.exactmax.seed import seed_database
from sandboxes.master_data_cases import PRICE_LISTS
from shopify_max.exactmax.models import Cancellation, CreditMemo, SalesOrder, SalesOrderLine
from shopify_max.exactmax.xml_builder import build_cancellation_xml, build_sales_order_xml

pytestmark = pytest.mark.postgresql  # PostgreSQL only: left out of `make test-fast` like every PostgreSQL half

PRODUCTS = 60
ORDER_DATE, SHIP_DATE, INVOICE_DATE, PAID_DATE, MEMO_DATE = (date(2026, 11, 27), date(2026, 11, 30),
                                                              date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 20))


@dataclass
class History:
    shipped: str  # ORDNUM: shipped whole (two packages, then re-tracked), invoiced, paid in two payments
    open: str  # ORDNUM: partly shipped, still open (open demand)
    cancelled: str  # ORDNUM
    memo: str  # ORDNUM of the credit memo (STYPE CR) on the shipped order's invoice, invoiced itself
    invce: str  # the shipped order's invoice
    memo_invce: str
    shipment: str
    custpo: str  # the shipped order's CUSTPO


def write_history(engine: sa.Engine) -> History:
    """The same orders, shipments, invoices and payments, with the same dates, in whichever database."""
    order = SalesOrder(CUSTID="ACME-001", CUSTPO="PAD shipped 1", ORDDTE=ORDER_DATE, SHPCDE="MAIN", lines=[
        SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001", PRICE=Decimal("12.50"), ORGQTY=Decimal(3),
                       notes=["gift wrap", "leave at dock 4"]),
        SalesOrderLine(LINNUM="02", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal(90), ORGQTY=Decimal(2)),
        SalesOrderLine(LINNUM="03", PRTNUM="FREIGHT", PRICE=Decimal("9.95"), ORGQTY=Decimal(1)),
    ])
    shipped = create_sales_order(engine, build_sales_order_xml(order).xml, "CU")["ORDNUM"]
    shipment = operations.ship_order(engine, shipped, carrier="UPS", tracking_number="1ZPAD0000000001",
                                     tracking=[{"tracking_number": "1ZPAD0000000002"}], ship_date=SHIP_DATE)
    operations.retrack_shipment(engine, shipment["shipment_id"], [
        {"carrier": "FedEx", "tracking_number": "781200000001"}, {"carrier": "FedEx", "tracking_number": "781200000002"}])
    invce = operations.invoice_order(engine, shipped, invoice_date=INVOICE_DATE)["INVCE"]
    operations.pay_invoice(engine, invce, Decimal("10.00"), PAID_DATE)
    operations.pay_invoice(engine, invce, None, PAID_DATE)

    open_order = create_sales_order(engine, build_sales_order_xml(make_order("PAD open 1", lines=3)).xml)["ORDNUM"]
    operations.ship_order(engine, open_order, lines=[{"LINNUM": "02", "quantity": "1"}], ship_date=SHIP_DATE)
    cancelled = create_sales_order(engine, build_sales_order_xml(make_order("PAD cancelled 1", lines=1)).xml)["ORDNUM"]
    cancel_sales_order(engine, build_cancellation_xml(Cancellation(ORDNUM=cancelled, REASON="CX")).xml)

    memo = CreditMemo(CUSTID="ACME-001", CUSTPO="PAD return 1", ORDDTE=MEMO_DATE, APPINV=invce, REASON="RT", lines=[
        SalesOrderLine(LINNUM="01", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal(90), ORGQTY=Decimal(1),
                       STK="OVERFLOW", RESTCK="Y"),
        SalesOrderLine(LINNUM="02", PRTNUM="PRT-00001", PRICE=Decimal("12.50"), ORGQTY=Decimal(1), RESTCK="N"),
        SalesOrderLine(LINNUM="03", PRTNUM="FREIGHT", PRICE=Decimal("9.95"), ORGQTY=Decimal(1)),
    ])
    memo_ordnum = create_sales_order(engine, build_sales_order_xml(memo).xml, "CR")["ORDNUM"]
    memo_invce = operations.invoice_order(engine, memo_ordnum, invoice_date=MEMO_DATE)["INVCE"]
    return History(shipped, open_order, cancelled, memo_ordnum, invce, memo_invce, shipment["shipment_id"],
                   order.CUSTPO)


@dataclass
class Databases:
    padded: sa.Engine
    plain: sa.Engine
    history: History


@pytest.fixture(scope="module")
def databases(postgres_available: bool) -> Iterator[Databases]:
    """Two fresh schemas with the same seed and history: text as ``CHAR(n)`` (padded) and as ``VARCHAR(n)``."""
    if not postgres_available:
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable (set CI=true to make this a failure)")
    admin = sa.create_engine(PG_URL)
    schemas = {kind: f"maxpad_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("padded", "plain")}
    with admin.begin() as conn:
        for schema in schemas.values():
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"
    engines = {kind: sa.create_engine(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
               for kind, schema in schemas.items()}
    try:
        create_padded_tables(engines["padded"])
        histories = []
        for engine in engines.values():
            seed_database(engine, products=PRODUCTS)  # create_all keeps the padded tables
            histories.append(write_history(engine))
        assert histories[0] == histories[1]  # same numbers in both: their reads can be compared whole
        yield Databases(engines["padded"], engines["plain"], histories[0])
    finally:
        for engine in engines.values():
            engine.dispose()
        with admin.begin() as conn:
            for schema in schemas.values():
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def read(engine: sa.Engine, function: Callable, *args: object, **kwargs: object) -> object:
    with engine.connect() as conn:
        return function(conn, *args, **kwargs)


def plain(value: object) -> object:
    """JSON-ready: tuple keys joined with ``|``, sets sorted, Decimals and dates as the reads format them."""
    if isinstance(value, dict):
        return {"|".join(key) if isinstance(key, tuple) else key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if hasattr(value, "__dataclass_fields__"):
        return plain(vars(value))
    return reads.jsonable(value)


def strings(value: object) -> Iterator[str]:
    """Every string in a read's answer, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings(item)


ALL = 1000
# Every read, as the gateway calls it: (id, call(conn, history)).
READS: list[tuple[str, Callable[[sa.Connection, History], object]]] = [
    ("uom_factors", lambda c, h: reads.uom_factors(c)),
    ("list_parts", lambda c, h: reads.list_parts(c, None, ALL)),
    ("list_stock", lambda c, h: reads.list_stock(c, None, ALL)),
    ("list_stock-filtered", lambda c, h: reads.list_stock(c, None, ALL, ["PRT-00001", "PRT-00002", "PRT-00010"],
                                                          ["MAIN", "OVERFLOW"])),
    ("open_demand", lambda c, h: reads.open_demand(c, [("PRT-00001", "MAIN"), ("PRT-00003", "MAIN")])),
    ("list_customers", lambda c, h: reads.list_customers(c, None, ALL)),
    ("get_customer", lambda c, h: [reads.get_customer(c, custid) for custid in ("WEB", "ACME-001", "GLOBEX")]),
    *((f"list_prices-{code}", lambda c, h, code=code: reads.list_prices(c, code, None, ALL)) for code in PRICE_LISTS),
    ("price_list_exists", lambda c, h: [reads.price_list_exists(c, code) for code in (*PRICE_LISTS, "NONE")]),
    ("get_orders-ordnum", lambda c, h: [reads.get_orders(c, ordnum=o) for o in (h.shipped, h.open, h.cancelled,
                                                                                h.memo)]),
    ("get_orders-custpo", lambda c, h: reads.get_orders(c, custpo=h.custpo)),
    ("list_shipments", lambda c, h: reads.list_shipments(c, 0, ALL)),
    ("shipments_by_id", lambda c, h: reads.shipments_by_id(c, [int(h.shipment)])),
    ("list_invoices", lambda c, h: reads.list_invoices(c, "", ALL)),
    ("get_invoice", lambda c, h: [reads.get_invoice(c, h.invce), reads.get_invoice(c, h.memo_invce)]),
    ("code_tables", lambda c, h: reads.code_tables(c)),
    ("list_tracking_changes", lambda c, h: fulfilment_reads.list_tracking_changes(c, 0, ALL)),
    ("order_statuses", lambda c, h: fulfilment_reads.order_statuses(c, [h.shipped, h.open, h.cancelled, h.memo])),
    ("list_payments", lambda c, h: fulfilment_reads.list_payments(c, 0, ALL)),
    ("credit_memos", lambda c, h: credit_memo_reads.credit_memos(c, appinv=h.invce)),
    ("credit_memos-restock_from_receipts", lambda c, h: credit_memo_reads.credit_memos(
        c, ordnum=h.memo, restock_from_extension=False)),
    ("CodeTables.load", lambda c, h: write_checks.CodeTables.load(c)),
    ("find_order_by_custpo", lambda c, h: write_checks.find_order_by_custpo(c, h.custpo, "CU")),
]
READ_IDS = [pytest.param(call, id=name) for name, call in READS]


# ---------------------------------------------------------------- the data really is padded


def test_the_padded_database_stores_text_space_padded_to_the_column_length(databases):
    sql = ('SELECT "PRTNUM_01", octet_length("PRTNUM_01"), char_length("PRTNUM_01"::text), '
           'pg_typeof("PRTNUM_01")::text FROM "Part_Master" WHERE "PRTNUM_01" = %(part)s')
    with databases.padded.connect() as conn:
        padded = conn.exec_driver_sql(sql, {"part": "PRT-00001"}).one()
        custid = conn.exec_driver_sql('SELECT "CUSTID_23" FROM "Customer_Master" WHERE "CUSTID_23" = \'WEB\'').scalar()
    assert tuple(padded) == ("PRT-00001".ljust(30), 30, 9, "character")
    assert custid == "WEB".ljust(20)
    with databases.plain.connect() as conn:
        assert tuple(conn.exec_driver_sql(sql, {"part": "PRT-00001"}).one()) == ("PRT-00001", 9, 9, "character varying")


def test_padded_tables_are_a_copy_of_the_max_metadata_with_char_text_columns():
    copy = padded_metadata(["Part_Master", "SO_Master"])
    assert set(copy.tables) == {"Part_Master", "SO_Master"}
    master = copy.tables["SO_Master"]
    assert (type(master.c.CUSTPO_27.type), master.c.CUSTPO_27.type.length) == (sa.CHAR, 25)
    assert isinstance(master.c.ORDDTE_27.type, sa.Date) and master.primary_key.columns.keys() == ["ORDNUM_27"]
    assert [index.name for index in master.indexes] == ["ix_SO_Master_CUSTPO_27"]
    assert isinstance(t.so_master.c.CUSTPO_27.type, MaxText)  # the shared metadata is untouched


# ---------------------------------------------------------------- trimmed on read


def test_keys_read_back_trimmed_as_the_reference_values(databases):
    h, engine = databases.history, databases.padded
    assert read(engine, reads.list_parts, None, 2)["items"][0]["PRTNUM_01"] == "FREIGHT"
    assert "PRT-00001" in [p["PRTNUM_01"] for p in read(engine, reads.list_parts, None, ALL)["items"]]
    # seeded 17 in MAIN, 3 shipped; the open order still owes 1 (its demand matched on the padded STK_28 too)
    assert read(engine, reads.list_stock, None, 1, ["PRT-00001"])["items"] == [
        {"PRTNUM": "PRT-00001", "STK": "MAIN", "on_hand": "14", "open_demand": "1", "available": "13"}]
    assert "WEB" in [c["CUSTID_23"] for c in read(engine, reads.list_customers, None, ALL)["items"]]
    acme = read(engine, reads.get_customer, "ACME-001")
    assert (acme["CUSTID_23"], acme["TERMS_23"], acme["tax_codes"], acme["ship_tos"][0]["SHPCDE_24"]) == (
        "ACME-001", "30", ["CA", "CALA", "CALACTY"], "MAIN")
    [order] = read(engine, reads.get_orders, h.shipped)
    assert (order["ORDNUM_27"], order["CUSTPO_27"], order["SHPCDE_27"], order["STATUS_27"]) == (
        h.shipped, "PAD shipped 1", "MAIN", "4")
    assert [(line["LINNUM_28"], line["PRTNUM_28"], line["SLSUOM_28"], line["notes"]) for line in order["lines"]] == [
        ("01", "PRT-00001", "EA", ["gift wrap", "leave at dock 4"]), ("02", "PRT-00010", "CS", []),
        ("03", "FREIGHT", "EA", [])]
    prices = read(engine, reads.list_prices, "RETAIL", None, 1)["items"][0]
    assert (prices["PRCLST"], prices["SLSUOM"]) == ("RETAIL", "EA")
    assert {"code": "CC", "description": "Credit card"} in read(engine, reads.code_tables)["terms"]


@pytest.mark.parametrize("call", READ_IDS)
def test_no_string_in_any_answer_keeps_trailing_spaces(databases, call):
    answer = read(databases.padded, call, databases.history)
    assert answer not in (None, [], {}, {"items": [], "next_cursor": None, "has_more": False})
    padded = [value for value in strings(plain(answer)) if value != value.rstrip()]
    assert not padded, f"padding read back: {padded[:5]}"


# ---------------------------------------------------------------- trimmed on bind


@pytest.mark.parametrize("kind", ["padded", "plain"])
def test_a_key_with_or_without_trailing_spaces_finds_the_row(databases, kind):
    """Padded ``CHAR`` compares blank-insensitively anyway; in the plain database only the bound key's trim does."""
    h, engine = databases.history, getattr(databases, kind)
    assert read(engine, reads.get_customer, "WEB")["CUSTID_23"] == "WEB"
    assert read(engine, reads.get_customer, "WEB   ") == read(engine, reads.get_customer, "WEB")
    for ordnum in (h.shipped, f"{h.shipped}  "):
        assert [o["ORDNUM_27"] for o in read(engine, reads.get_orders, ordnum)] == [h.shipped]
    assert [o["ORDNUM_27"] for o in read(engine, reads.get_orders, custpo=f"{h.custpo}   ")] == [h.shipped]
    assert read(engine, write_checks.find_order_by_custpo, f"{h.custpo} ", "CU") == h.shipped
    assert read(engine, reads.get_invoice, f"{h.invce} ")["INVCE_31"] == h.invce
    assert read(engine, reads.list_prices, "RETAIL  ", None, 5) == read(engine, reads.list_prices, "RETAIL", None, 5)
    assert [o["ORDNUM"] for o in read(engine, fulfilment_reads.order_statuses, [f"{h.open} "])["items"]] == [h.open]
    assert [m["ORDNUM"] for m in read(engine, credit_memo_reads.credit_memos, appinv=f"{h.invce} ")] == [h.memo]
    assert read(engine, reads.list_parts, "PRT-00001    ", 3) == read(engine, reads.list_parts, "PRT-00001", 3)


# ---------------------------------------------------------------- keyset paging over padded keys


@pytest.mark.parametrize(("name", "page", "limit"), [
    ("parts", lambda c, cursor, limit: reads.list_parts(c, cursor, limit), 7),
    ("stock", lambda c, cursor, limit: reads.list_stock(c, cursor, limit), 17),
    ("customers", lambda c, cursor, limit: reads.list_customers(c, cursor, limit), 2),
    ("prices", lambda c, cursor, limit: reads.list_prices(c, "WHOLESALE", cursor, limit), 9),
])
def test_keyset_paging_over_padded_keys_returns_every_row_once(databases, name, page, limit):
    with databases.padded.connect() as conn:
        everything = page(conn, None, ALL)["items"]
        paged, cursor, pages = [], None, 0
        while True:
            answer = page(conn, cursor, limit)
            paged += answer["items"]
            pages += 1
            if not answer["has_more"]:
                break
            cursor = answer["next_cursor"]
    assert pages > 2 and len(everything) > limit * 2
    assert paged == everything


# ---------------------------------------------------------------- padded and plain agree


@pytest.mark.parametrize("call", READ_IDS)
def test_padded_and_unpadded_databases_answer_identical_json(databases, call):
    padded, unpadded = (json.dumps(plain(read(engine, call, databases.history)), sort_keys=True)
                        for engine in (databases.padded, databases.plain))
    assert padded == unpadded
