"""The ``max`` backend when things go wrong between its calls: a gateway dying half-way, lost answers settled by
the hook's own lookups, refusals half-way through a cancellation, a lost writer-lock session, a queue of writes,
a person entering an order by hand. Each test is a promise of docs/max-gateway-deployment.md (these came from an
adversarial review: each failed before its fix)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa
from conftest import max_backend_gateway
from max_gateway_helpers import GatewayClient, make_order, max_orders, unique_custpo

from max_gateway.max.backend import MaxBackend
from sandboxes.exactmax.max_sandbox import SIMULATED_CONNECTION_STRING, max_backend_on
from shopify_max.exactmax.models import Cancellation, CreditMemo, SalesOrderLine
from shopify_max.exactmax.xml_builder import build_cancellation_xml, build_sales_order_xml


@pytest.fixture(scope="module")
def gateway(postgres_available: bool) -> Iterator[GatewayClient]:
    with max_backend_gateway(postgres_available) as client:
        yield client


@pytest.fixture
def maxupdate(gateway: GatewayClient):
    simulator = gateway.running.app.state.maxupdate
    yield simulator
    simulator._plans.clear()


# ---------------------------------------------------------------- a lookup never finds part of an order
def test_the_hooks_lookup_after_a_gateway_died_between_two_lines_finds_the_whole_order(gateway, maxupdate, make_hook):
    """The hook settles the 503 by looking the CUSTPO up; that lookup finishes the order first, never shows a part."""
    order = make_order(unique_custpo("ZA"), lines=3)
    maxupdate.plan("AddSOLineItemXML", "")
    maxupdate.plan("AddSOLineItemXML", "raise")  # the second line's call never comes back
    hook = make_hook(gateway, timeout=30)
    result = hook.create_sales_order(order)
    assert max_orders(gateway, order.CUSTPO) == [(result.ORDNUM, 3)], (
        f"hook answered ORDNUM {result.ORDNUM} recovered={result.recovered} with {len(result.lines)} line(s); "
        f"MAX holds {max_orders(gateway, order.CUSTPO)}")


def test_a_memo_whose_restock_receipt_was_refused_once_is_finished_by_the_hooks_lookup(gateway, maxupdate, make_hook):
    """A refused receipt answers 503; the hook's lookup posts the missing receipt before it shows the memo."""
    order = make_order(unique_custpo("ZB"), lines=1)
    order.lines = [SalesOrderLine(LINNUM="01", PRTNUM="PRT-00003", PRICE=Decimal("12.50"), ORGQTY=Decimal(3))]
    created = gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml)
    assert created.status_code == 201, created.text
    gateway.sandbox("ship", ORDNUM=created.json()["ORDNUM"])
    invce = gateway.sandbox("invoice", ORDNUM=created.json()["ORDNUM"])["INVCE"]
    memo = CreditMemo(CUSTID="WEB", CUSTPO=f"{order.CUSTPO[:20]}-CR", ORDDTE=order.ORDDTE, APPINV=invce, lines=[
        SalesOrderLine(LINNUM="01", PRTNUM="PRT-00003", PRICE=Decimal("12.50"), ORGQTY=Decimal(2), RESTCK="Y")])
    maxupdate.plan("ProcessTransXML", "refuse:Error: a transient lock on Part_Stock")
    result = make_hook(gateway, timeout=30).create_credit_memo(memo)
    with gateway.engine.connect() as conn:
        receipts = conn.execute(sa.text('SELECT COUNT(*) FROM "Transaction_History" WHERE "TNXCDE_15" = \'R\' AND '
                                        '"REFDES_15" LIKE :r'), {"r": f"CR{result.ORDNUM}-%"}).scalar_one()
    assert receipts == 1, f"hook answered memo {result.ORDNUM} recovered={result.recovered}; receipts: {receipts}"


def test_a_lookup_while_a_slow_write_is_under_way_waits_for_the_whole_order(
        gateway, make_hook):
    """A send that outlasts the hook's timeout is settled by a lookup that waits for the write, not by its first lines."""
    simulator = gateway.running.app.state.maxupdate
    started = threading.Event()
    original = simulator.AddSOLineItemXML
    _slow(simulator, "AddSOLineItemXML", 1.5, started)
    order = make_order(unique_custpo("ZR"), lines=3)
    try:
        result = make_hook(gateway, timeout=2).create_sales_order(order)
    finally:
        simulator.AddSOLineItemXML = original
    assert max_orders(gateway, order.CUSTPO)[0][1] == 3
    assert len(result.lines) == 3, f"hook answered recovered={result.recovered} with lines {result.lines}"


# ---------------------------------------------------------------- the journal knows the same order
def test_the_same_order_sent_again_with_other_line_endings_is_finished_as_the_same_document(
        gateway, maxupdate):
    """The journal's digest is of the order as checked, not of its bytes."""
    custpo = unique_custpo("ZC")
    document = build_sales_order_xml(make_order(custpo, lines=3)).xml
    maxupdate.plan("AddSOLineItemXML", "")
    maxupdate.plan("AddSOLineItemXML", "raise")
    assert gateway.post_xml("/sales-orders", document).status_code == 503
    [(ordnum, held)] = max_orders(gateway, custpo)
    assert held == 1
    same_order = document.replace(b"\n", b"\r\n") if b"\n" in document else document + b"\n"
    retried = gateway.post_xml("/sales-orders", same_order)
    assert retried.status_code == 409 and retried.json()["ORDNUM"] == ordnum
    assert max_orders(gateway, custpo) == [(ordnum, 3)]


# ---------------------------------------------------------------- 422 means nothing changed
def test_a_refused_line_close_opens_the_closed_lines_again_so_422_means_nothing_changed(
        gateway, maxupdate):
    """422 means nothing was written: a cancellation refused half-way opens again the lines it closed."""
    created = gateway.post_xml("/sales-orders", build_sales_order_xml(make_order(unique_custpo("ZD"), lines=2)).xml)
    ordnum = created.json()["ORDNUM"]
    maxupdate.plan("ChangeSalesOrderLineItemXML", "")
    maxupdate.plan("ChangeSalesOrderLineItemXML", "refuse:Error: the line is locked by another user")
    answer = gateway.post_xml("/cancellations", build_cancellation_xml(Cancellation(ORDNUM=ordnum, REASON="CN")).xml)
    status = gateway.http.get(f"{gateway.base_url}/sales-orders/status", params={"ordnum": ordnum}).json()["items"][0]
    assert answer.status_code == 422
    assert [line["STATUS"] for line in status["lines"]] == ["3", "3"], (
        f"answered 422 (nothing written) but MAX holds order {status['STATUS']} with lines "
        f"{[line['STATUS'] for line in status['lines']]}")


# ---------------------------------------------------------------- no secret in an answer
def test_a_refusal_echoing_maxupdates_connection_string_does_not_pass_it_on(gateway, maxupdate):
    """MAXUpdate's refusal text is quoted in the answer, without the connection string it may echo."""
    maxupdate.plan("AddSOXML", f"refuse:[Microsoft][ODBC] Login failed: {SIMULATED_CONNECTION_STRING}")
    answer = gateway.post_xml("/sales-orders", build_sales_order_xml(make_order(unique_custpo("ZE"))).xml)
    assert answer.status_code == 422
    assert "simulated-secret" not in answer.text, answer.text


# ---------------------------------------------------------------- the single-writer lock
def _slow(simulator, method: str, seconds: float, started: threading.Event) -> None:
    original = getattr(simulator, method)

    def slow(*args):  # noqa: ANN002, ANN202
        started.set()
        time.sleep(seconds)
        return original(*args)

    setattr(simulator, method, slow)


def test_a_writer_lock_lost_with_its_database_session_is_checked_before_writing_so_one_custpo_is_one_order(gateway):
    """The single-writer lock lives as long as its session; the gateway checks it before every write."""
    first: MaxBackend = gateway.running.app.state.backend
    assert first.writer_status() == "ready"
    pid = first.guard._connection.connection.dbapi_connection.get_backend_pid()
    with gateway.running.app.state.max_stand_in.admin_engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    second, second_simulator = max_backend_on(gateway.running.app.state.max_stand_in)
    custpo = unique_custpo("ZF")
    document = build_sales_order_xml(make_order(custpo, lines=1)).xml
    started = threading.Event()
    _slow(second_simulator, "AddSOXML", 1.5, started)
    outcomes: list[object] = []

    def write_on_second() -> None:
        try:
            outcomes.append(second.create_sales_order(document, "CU"))
        except Exception as exc:  # noqa: BLE001
            outcomes.append(exc)

    try:
        thread = threading.Thread(target=write_on_second)
        thread.start()
        started.wait(5)
        on_first = gateway.post_xml("/sales-orders", document)
        thread.join()
        assert len(max_orders(gateway, custpo)) == 1, (
            f"first gateway answered {on_first.status_code}, second {outcomes}; MAX holds {max_orders(gateway, custpo)}")
    finally:
        second.close()
        first.guard.release()  # let the module's later tests take it afresh
        first.writer_status()


# ---------------------------------------------------------------- writes never hold up reads
def test_writes_queued_behind_a_slow_maxupdate_call_leave_reads_their_threads(gateway):
    """Writes wait on threads of their own: 45 queued behind one slow call leave every read answering at once."""
    simulator = gateway.running.app.state.maxupdate
    started = threading.Event()
    original = simulator.AddSOXML
    _slow(simulator, "AddSOXML", 5, started)
    threads = [threading.Thread(target=lambda: _post_quietly(gateway)) for _ in range(45)]
    try:
        for thread in threads:
            thread.start()
        started.wait(5)
        time.sleep(1)
        began = time.monotonic()
        try:
            read = gateway.http.get(f"{gateway.base_url}/parts", params={"limit": 1}, timeout=5)
            waited = time.monotonic() - began
        except requests.exceptions.ReadTimeout:
            read, waited = None, time.monotonic() - began
        assert read is not None and read.status_code == 200 and waited < 2, f"GET /parts waited {waited:.1f} s"
    finally:
        simulator.AddSOXML = original
        for thread in threads:
            thread.join()


def _post_quietly(gateway: GatewayClient) -> None:
    try:
        requests.post(gateway.base_url + "/sales-orders", timeout=60,
                      data=build_sales_order_xml(make_order(unique_custpo("ZG"), lines=1)).xml,
                      headers={"Content-Type": "application/xml", **gateway.http.headers})
    except requests.RequestException:
        pass


def test_a_failed_writer_lock_connection_releases_the_write_lock(gateway):
    """When taking the database lock fails, the next write is not left waiting forever."""
    backend, _simulator = max_backend_on(gateway.running.app.state.max_stand_in)
    real_engine = backend.guard.engine
    backend.guard.engine = sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")  # unreachable now
    try:
        with pytest.raises(sa.exc.OperationalError):
            backend.create_sales_order(build_sales_order_xml(make_order(unique_custpo("ZS"), lines=1)).xml, "CU")
        backend.guard.engine = real_engine  # the database is back
        outcome: list[object] = []

        def write() -> None:
            try:
                outcome.append(backend.create_sales_order(
                    build_sales_order_xml(make_order(unique_custpo("ZS"), lines=1)).xml, "CU"))
            except Exception as exc:  # noqa: BLE001
                outcome.append(exc)

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        thread.join(5)
        assert not thread.is_alive(), "the next write is still waiting for the write lock after 5 s"
    finally:
        if backend._write_lock.locked():
            backend._write_lock.release()
        backend.close()


def test_an_order_a_max_user_entered_after_a_refused_header_is_never_touched(gateway, maxupdate):
    """A refused header leaves nothing in the journal, so an order a person then enters under the CUSTPO stays theirs."""
    from max_gateway.max.documents import sales_order_documents, sales_order_line_document

    custpo = unique_custpo("ZT")
    document = build_sales_order_xml(make_order(custpo, lines=3)).xml
    maxupdate.plan("AddSOXML", "refuse:Warning: The customer 'WEB' is on Credit Hold")
    refused = gateway.post_xml("/sales-orders", document)
    assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "credit_hold"
    # a MAX user enters the order themselves, first line only (through MAX, here the simulated MAXUpdate)
    header, lines = sales_order_documents(build_sales_order_xml(make_order(custpo, lines=1)).xml, "CU")
    users_order = maxupdate.AddSOXML(header, True)[0]
    maxupdate.AddSOLineItemXML(sales_order_line_document(lines[0][2], users_order), True)
    again = gateway.post_xml("/sales-orders", document)
    assert again.status_code == 409 and again.json()["ORDNUM"] == users_order
    assert max_orders(gateway, custpo) == [(users_order, 1)], "the gateway added lines to the user's order"
