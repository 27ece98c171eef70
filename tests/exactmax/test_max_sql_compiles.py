"""Every read the gateway runs compiles for SQL Server (the ``max`` backend's ``mssql+mssqlpython`` dialect), binds
its values as parameters, casts every MAX text comparison to ``VARCHAR(8000)``, pages with ``TOP`` and writes nothing.

No database: each read runs against a recording connection that compiles every statement with SQLAlchemy's real
SQL Server compiler and answers a canned result. Each read runs twice, once answered with no rows (the "nothing
found" paths, e.g. ``list_prices`` asking whether the list exists) and once with one synthetic row per statement (so
the follow-up queries run: ship-tos, order lines and notes, invoice details, packages, credit-memo lines and moves).
The synthetic row has every text column ``'3'`` (an open status, and one key that joins everything; a restock
receipt's ``REFDES_15`` names that line), every number 1 and every date 2026-01-02.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

import pytest
from sqlalchemy import Connection, Date, DateTime, Integer, Numeric, and_, func, or_, select, tuple_
from sqlalchemy.dialects.mssql.mssqlpython import MSDialect_mssqlpython
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData

from max_gateway.max import backend as max_backend
from max_gateway.sql import credit_memo_reads, fulfilment_reads, reads, write_checks
from max_gateway.sql import tables as t
from max_gateway.sql.tables import metadata
from max_gateway.sql.types import MSSQL_PARAMETER_LENGTH, MaxText
from max_gateway.xml_rules import TransactionRejected
from shopify_max.exactmax.models import Cancellation, CreditMemo, Customer, SalesOrder, SalesOrderLine, ShipTo
from shopify_max.exactmax.xml_builder import build_cancellation_xml, build_customer_xml, build_sales_order_xml

# Distinctive test values: none of them may ever appear in SQL text, only among the bound parameters.
PART_CURSOR = "PRT-CURSOR-ZZ"
STOCK_CURSOR = ("PRT-STKCUR-ZZ", "STKCUR9")  # "PRTNUM|STK"
PRICE_CURSOR = ("PRT-PRCCUR-ZZ", "QZ")  # "PRTNUM|SLSUOM"
CUSTID_CURSOR = "CUST-CURSOR-ZZ"
CUSTID = "CUST-7Q-ZZ"
CUSTPO = "PO-7f3a 'quoted'"
SHPCDE = "SHP-ZZ9"
ORDNUM = "73510429"
ORDNUMS = [ORDNUM, "73510437"]
INVCE = "INV-7Z01"
INVCE_SINCE = "INV-7Z00"
PRICE_LIST = "PL-ZZ9"
PARTS = ["PRT-LIST-A1", "PRT-LIST-B2"]
STOCKROOMS = ["STK-ZZ1", "STK-ZZ2"]
SINCE = 987654
SHIPID = 876543
LIMIT = 100
SYNTHETIC_TEXT = "3"

MAX_TEXT_LENGTHS = {column.name: column.type.impl.length for table in metadata.tables.values()
                    for column in table.columns if isinstance(column.type, MaxText)}
DIALECT = MSDialect_mssqlpython()  # named parameters (":name") without the driver installed
QMARK_DIALECT = MSDialect_mssqlpython(paramstyle="qmark")  # positional, as an ODBC-style driver binds


@dataclass
class Statement:
    sql: str  # as compiled, expanding IN lists and TOP still post-compile placeholders
    expanded: str  # render_postcompile: IN lists expanded, TOP rendered
    params: dict  # the parameters of ``expanded``


def _synthetic_value(name: str, sql_type: object) -> object:
    if name == "REFDES_15":  # a restock receipt's reference names its credit-memo line
        return write_checks.restock_reference(SYNTHETIC_TEXT, SYNTHETIC_TEXT, SYNTHETIC_TEXT)
    if isinstance(sql_type, Integer):
        return 1
    if isinstance(sql_type, Numeric):
        return Decimal(1)
    if isinstance(sql_type, DateTime):
        return datetime(2026, 1, 2, 3, 4, 5)
    if isinstance(sql_type, Date):
        return date(2026, 1, 2)
    return SYNTHETIC_TEXT


class RecordingConnection:
    """Compiles each statement for SQL Server and records it; answers no rows, or one synthetic row."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.statements: list[Statement] = []

    def execute(self, statement, params=None):  # noqa: ANN001, ANN201 - Connection.execute's signature
        assert params is None, "the reads bind their values in the statement"
        expanded = statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
        statement.compile(dialect=QMARK_DIALECT, compile_kwargs={"render_postcompile": True})
        self.statements.append(Statement(str(statement.compile(dialect=DIALECT)), str(expanded),
                                         dict(expanded.params)))
        columns = list(statement.selected_columns)
        keys = [column.key for column in columns]
        rows = [tuple(_synthetic_value(column.key, column.type) for column in columns)] * self.rows
        return IteratorResult(SimpleResultMetaData(keys), iter(rows))


def _order(stype: str = "CU") -> SalesOrder:
    lines = [SalesOrderLine(LINNUM=f"{n:02d}", PRTNUM=part, STK=stk, PRICE=Decimal("12.50"), ORGQTY=Decimal(n),
                            **({"RESTCK": "Y"} if stype == "CR" else {}))
             for n, (part, stk) in enumerate(zip(PARTS, STOCKROOMS, strict=True), start=1)]
    if stype == "CR":
        return CreditMemo(CUSTID=CUSTID, CUSTPO=CUSTPO, ORDDTE=date(2026, 11, 27), APPINV=INVCE, lines=lines)
    return SalesOrder(CUSTID=CUSTID, CUSTPO=CUSTPO, ORDDTE=date(2026, 11, 27), SHPCDE=SHPCDE, lines=lines)


def _checked(check: Callable[..., object]) -> Callable[..., object]:
    """A write check run to its end: a rejection (the canned rows never satisfy every rule) is an answer too."""
    def run(conn: Connection) -> object:
        try:
            return check(conn)
        except TransactionRejected as rejected:
            return rejected
    return run


@dataclass(frozen=True)
class ReadCall:
    id: str
    function: Callable
    call: Callable[[Connection], object]
    values: tuple = ()  # test values the call binds (each must be a parameter, never SQL text)
    page_limit: int | None = None  # a page read: TOP page_limit + 1
    keyset: tuple[str, ...] = ()  # key columns the cursor compares with ">"


CALLS = [
    ReadCall("uom_factors", reads.uom_factors, reads.uom_factors),
    ReadCall("list_parts", reads.list_parts, lambda c: reads.list_parts(c, PART_CURSOR, LIMIT),
             (PART_CURSOR,), LIMIT, ("PRTNUM_01",)),
    ReadCall("list_parts-first_page", reads.list_parts, lambda c: reads.list_parts(c, None, LIMIT), (), LIMIT),
    ReadCall("list_stock", reads.list_stock,
             lambda c: reads.list_stock(c, "|".join(STOCK_CURSOR), LIMIT, PARTS, STOCKROOMS),
             (*STOCK_CURSOR, *PARTS, *STOCKROOMS), LIMIT, ("PRTNUM_06", "STK_06")),
    ReadCall("open_demand", reads.open_demand, lambda c: reads.open_demand(c, [(PARTS[0], STOCKROOMS[0])]),
             (PARTS[0],)),
    ReadCall("get_customer", reads.get_customer, lambda c: reads.get_customer(c, CUSTID), (CUSTID,)),
    ReadCall("list_customers", reads.list_customers, lambda c: reads.list_customers(c, CUSTID_CURSOR, LIMIT),
             (CUSTID_CURSOR,), LIMIT, ("CUSTID_23",)),
    ReadCall("price_list_exists", reads.price_list_exists, lambda c: reads.price_list_exists(c, PRICE_LIST),
             (PRICE_LIST,)),
    ReadCall("list_prices", reads.list_prices,
             lambda c: reads.list_prices(c, PRICE_LIST, "|".join(PRICE_CURSOR), LIMIT),
             (PRICE_LIST, *PRICE_CURSOR), LIMIT, ("PRTNUM_X", "SLSUOM_X")),
    ReadCall("get_orders-ordnum", reads.get_orders, lambda c: reads.get_orders(c, ordnum=ORDNUM), (ORDNUM,)),
    ReadCall("get_orders-custpo", reads.get_orders, lambda c: reads.get_orders(c, custpo=CUSTPO), (CUSTPO,)),
    ReadCall("list_shipments", reads.list_shipments, lambda c: reads.list_shipments(c, SINCE, LIMIT),
             (SINCE,), LIMIT, ("SHIPID_X",)),
    ReadCall("shipments_by_id", reads.shipments_by_id, lambda c: reads.shipments_by_id(c, [SHIPID]), (SHIPID,)),
    ReadCall("list_invoices", reads.list_invoices, lambda c: reads.list_invoices(c, INVCE_SINCE, LIMIT),
             (INVCE_SINCE,), LIMIT, ("INVCE_31",)),
    ReadCall("get_invoice", reads.get_invoice, lambda c: reads.get_invoice(c, INVCE), (INVCE,)),
    ReadCall("code_tables", reads.code_tables, reads.code_tables),
    ReadCall("list_tracking_changes", fulfilment_reads.list_tracking_changes,
             lambda c: fulfilment_reads.list_tracking_changes(c, SINCE, LIMIT), (SINCE,), LIMIT, ("CHGSEQ_X",)),
    ReadCall("order_statuses", fulfilment_reads.order_statuses,
             lambda c: fulfilment_reads.order_statuses(c, ORDNUMS), tuple(ORDNUMS)),
    ReadCall("list_payments", fulfilment_reads.list_payments,
             lambda c: fulfilment_reads.list_payments(c, SINCE, LIMIT), (SINCE,), LIMIT, ("PAYSEQ_X",)),
    *(ReadCall(f"credit_memos-restock_from_{'extension' if extension else 'receipts'}",
               credit_memo_reads.credit_memos,
               lambda c, extension=extension: credit_memo_reads.credit_memos(
                   c, ordnum=ORDNUM, custpo=CUSTPO, appinv=INVCE, restock_from_extension=extension),
               (ORDNUM, CUSTPO, INVCE)) for extension in (True, False)),
    ReadCall("CodeTables.load", write_checks.CodeTables.load, write_checks.CodeTables.load),
    ReadCall("find_order_by_custpo", write_checks.find_order_by_custpo,
             lambda c: write_checks.find_order_by_custpo(c, CUSTPO, "CU"), (CUSTPO,)),
    ReadCall("check_sales_order-CU", write_checks.check_sales_order,
             _checked(lambda c: write_checks.check_sales_order(c, build_sales_order_xml(_order()).xml, "CU")),
             (CUSTID, SHPCDE, *PARTS)),
    ReadCall("check_sales_order-CR", write_checks.check_sales_order,
             _checked(lambda c: write_checks.check_sales_order(c, build_sales_order_xml(_order("CR")).xml, "CR")),
             (CUSTID, INVCE, *PARTS)),
    ReadCall("check_customer", write_checks.check_customer, _checked(lambda c: write_checks.check_customer(
        c, build_customer_xml(Customer(CUSTID=CUSTID, NAME="Zz Test", ship_tos=[ShipTo(SHPCDE=SHPCDE)])).xml)),
        (CUSTID,)),
    ReadCall("check_cancellation", write_checks.check_cancellation, _checked(lambda c: write_checks.check_cancellation(
        c, build_cancellation_xml(Cancellation(ORDNUM=ORDNUM)).xml)), (ORDNUM,)),
]
# The max backend's own lookups (max_gateway/max/backend.py), run by a backend whose reads use the connection given.
def _max_backend_reading(conn: Connection) -> max_backend.MaxBackend:
    backend = max_backend.MaxBackend.__new__(max_backend.MaxBackend)
    backend.read = lambda function, *args: function(conn, *args)
    return backend


RESTOCK_REFERENCE = write_checks.restock_reference(ORDNUM, "01", "01")
CREDIT_ROWS = [{"PRTNUM_28": PARTS[0], "SLSUOM_28": "EA"}]
CALLS += [
    ReadCall("max backend: stocked parts and factors", max_backend._stocked_parts_and_factors,
             lambda c: max_backend._stocked_parts_and_factors(c, CREDIT_ROWS), (PARTS[0],)),
    ReadCall("max backend: receipt posted", max_backend.MaxBackend._receipt_posted,
             lambda c: _max_backend_reading(c)._receipt_posted(RESTOCK_REFERENCE), (RESTOCK_REFERENCE,)),
    ReadCall("max backend: line keys", max_backend.MaxBackend._line_keys,
             lambda c: _max_backend_reading(c)._line_keys(ORDNUM), (ORDNUM,)),
]
MODES = {"no_rows": 0, "one_row": 1}
CASES = [pytest.param(call, mode, id=f"{call.id}-{mode}") for call in CALLS for mode in MODES]
PAGE_CALLS = [pytest.param(call, id=call.id) for call in CALLS if call.page_limit]
# Never in SQL text: every distinctive value above, or a fragment of it.
MARKERS = ("CURSOR-ZZ", "STKCUR", "PRCCUR", "CUST-7Q", "7f3a", "quoted", "SHP-ZZ9", "73510", "INV-7Z", "PL-ZZ9",
           "PRT-LIST", "STK-ZZ", str(SINCE), str(SHIPID))

BIND = r"(?:CAST\(:\w+ AS VARCHAR\(\d+\)\)|:\w+)"
COLUMN = r"(?:\[\w+\]|\w+)\.\[?(?P<name>\w+)\]?"
COMPARISON_OPERATOR = r"=|!=|<>|<=|>=|<|>"
COMPARISON = re.compile(rf"{COLUMN}\s*(?P<op>{COMPARISON_OPERATOR})\s*(?P<bind>{BIND})")
IN_LIST = re.compile(rf"{COLUMN}\s+(?:NOT\s+)?IN\s*\((?P<binds>{BIND}(?:,\s*{BIND})*)\)")
CAST = re.compile(r"CAST\(:\w+ AS VARCHAR\((\d+)\)\)")


def _expanded(statement: object) -> str:
    return str(statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True}))


@cache
def recorded(call: ReadCall, mode: str) -> tuple[Statement, ...]:
    conn = RecordingConnection(MODES[mode])
    call.call(conn)
    return tuple(conn.statements)


def comparisons(sql: str) -> list[tuple[str, str]]:
    """(column name, bound operand) of every comparison of a column with a bound value, IN list items included."""
    found = [(m["name"], m["bind"]) for m in COMPARISON.finditer(sql)]
    for m in IN_LIST.finditer(sql):
        found += [(m["name"], bind) for bind in re.findall(BIND, m["binds"])]
    return found


def row_value_comparisons(sql: str) -> list[str]:
    """Every ``(a, b) op ...`` or ``... op (a, b)`` (a row value compared: SQL Server has none) in ``sql``."""
    found = []
    for start, char in enumerate(sql):
        if char != "(" or (start and (sql[start - 1].isalnum() or sql[start - 1] == "_")):
            continue  # a function call's parentheses (CAST(, coalesce(, VARCHAR() are no row value
        depth, end, commas = 0, start, 0
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            commas += sql[end] == "," and depth == 1
            if depth == 0:
                break
        group = sql[start:end + 1]
        if commas and not group[1:].lstrip().startswith("SELECT") and (
                re.match(rf"\s*(?:{COMPARISON_OPERATOR}|(?:NOT\s+)?IN\b)", sql[end + 1:])
                or re.search(rf"(?:{COMPARISON_OPERATOR})\s*$", sql[:start])):
            found.append(group)
    return found


def _flat(values: object) -> list:
    return [v for value in values for v in (value if isinstance(value, list | tuple) else [value])]


# ---------------------------------------------------------------- rules


def test_every_read_function_is_in_the_table():
    """A new public read (Connection first) must join CALLS, so its SQL is checked here too."""
    covered = {call.function for call in CALLS}
    for module in (reads, fulfilment_reads, credit_memo_reads):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            parameters = list(inspect.signature(function).parameters.values())
            if (function.__module__ == module.__name__ and not name.startswith("_") and parameters
                    and parameters[0].annotation in ("Connection", Connection)):
                assert function in covered, f"{module.__name__}.{name} is not in CALLS"


@pytest.mark.parametrize(("call", "mode"), CASES)
def test_every_statement_compiles_on_sql_server(call, mode):
    statements = recorded(call, mode)  # compiling is recording: an unsupported construct raises here
    assert statements, f"{call.id} ran no statement"


@pytest.mark.parametrize(("call", "mode"), CASES)
def test_no_row_value_comparison_which_sql_server_lacks(call, mode):
    """``(a, b) = (c, d)``, ``(a, b) > (x, y)``, ``(a, b) IN (...)`` compile on the mssql dialect, but SQL Server
    cannot run them: compare column by column (``a = c AND b = d``, ``a > x OR a = x AND b > y``)."""
    for statement in recorded(call, mode):
        assert not row_value_comparisons(statement.expanded), f"{call.id}: {statement.expanded}"


def test_the_row_value_detector_finds_row_values_and_only_them():
    st, sd = t.part_stock, t.so_detail
    key = tuple_(st.c.PRTNUM_06, st.c.STK_06)
    for statement in (select(st).where(key > tuple_("a", "b")), select(st).where(key.in_([("a", "b")])),
                      select(st).join(sd, key == tuple_(sd.c.PRTNUM_28, sd.c.STK_28))):
        assert row_value_comparisons(_expanded(statement)), _expanded(statement)
    fine = select(st).where(st.c.PRTNUM_06.in_(["a", "b"]), func.coalesce(st.c.QTYOH_06, 0) > 1,
                            or_(st.c.PRTNUM_06 > "a", and_(st.c.PRTNUM_06 == "a", st.c.STK_06 > "b")))
    assert not row_value_comparisons(_expanded(fine)), _expanded(fine)


@pytest.mark.parametrize(("call", "mode"), CASES)
def test_values_are_bound_parameters_never_formatted_into_sql(call, mode):
    statements = recorded(call, mode)
    for statement in statements:
        for text in (statement.sql, statement.expanded):
            assert not [marker for marker in MARKERS if marker in text], f"{call.id}: a value in the SQL:\n{text}"
    if mode == "one_row":
        bound = _flat(value for statement in statements for value in statement.params.values())
        missing = [value for value in call.values if value not in bound]
        assert not missing, f"{call.id}: {missing} not among the bound parameters {bound}"


@pytest.mark.parametrize(("call", "mode"), CASES)
def test_every_max_text_comparison_casts_its_parameter_to_non_unicode_varchar_that_never_truncates(call, mode):
    """Non-Unicode, so MAX's CHAR index is used; 8000 long, so a value longer than the column is never truncated
    into a match (``00100001X`` must not find order ``00100001``)."""
    for statement in recorded(call, mode):
        sql = statement.expanded
        found = comparisons(sql)
        for name, bind in found:
            if name in MAX_TEXT_LENGTHS:
                assert bind.startswith("CAST(") and CAST.fullmatch(bind)[1] == str(MSSQL_PARAMETER_LENGTH), (
                    f"{call.id}: {name} (MaxText({MAX_TEXT_LENGTHS[name]})) compared with {bind}:\n{sql}")
            else:
                assert not bind.startswith("CAST("), f"{call.id}: {name} is not MAX text, yet {bind}:\n{sql}"
        casts = len(CAST.findall(sql))
        assert casts == sum(bind.startswith("CAST(") for _, bind in found), (
            f"{call.id}: a VARCHAR cast outside a column comparison:\n{sql}")


def test_the_cast_is_longer_than_every_max_text_column():
    assert max(MAX_TEXT_LENGTHS.values()) < MSSQL_PARAMETER_LENGTH


@pytest.mark.parametrize("call", PAGE_CALLS)
def test_a_page_reads_top_limit_plus_one_without_limit_or_offset(call):
    for mode in MODES:
        statements = recorded(call, mode)
        assert re.match(rf"SELECT (DISTINCT )?TOP {call.page_limit + 1} ", statements[0].expanded), (
            f"{call.id}: {statements[0].expanded}")
        for statement in statements:
            assert not re.search(r"\b(LIMIT|OFFSET|FETCH)\b", statement.expanded), f"{call.id}: {statement.expanded}"


@pytest.mark.parametrize("call", [pytest.param(call, id=call.id) for call in CALLS if call.keyset])
def test_a_keyset_cursor_is_a_greater_than_comparison_on_the_key_columns(call):
    sql = recorded(call, "no_rows")[0].expanded
    where = re.split(r"\sWHERE\s", sql, maxsplit=1)[1]
    greater = {m["name"] for m in COMPARISON.finditer(where) if m["op"] == ">"}
    assert set(call.keyset) <= greater, f"{call.id}: {sql}"
    if len(call.keyset) == 2:  # (a, b) > (x, y) as SQL Server can say it: (a > x OR a = x AND b > y)
        first, second = call.keyset
        assert re.search(rf"\(\S+\.\[{first}\] > {BIND} OR \S+\.\[{first}\] = {BIND} AND \S+\.\[{second}\] > {BIND}\)",
                         where), f"{call.id}: {sql}"


@pytest.mark.parametrize(("call", "mode"), CASES)
def test_the_reads_are_read_only_selects(call, mode):
    for statement in recorded(call, mode):
        assert re.match(r"\s*(SELECT|WITH)\b", statement.expanded), f"{call.id}: {statement.expanded}"
        assert not re.search(r"\b(INSERT|UPDATE|DELETE|MERGE|EXEC|EXECUTE|INTO|TRUNCATE|DROP|ALTER|CREATE)\b",
                             statement.expanded), f"{call.id}: {statement.expanded}"
