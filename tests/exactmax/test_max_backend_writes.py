"""The ``max`` backend's writes keep the exactly-once rules through MAXUpdate, whatever MAXUpdate does: a lost
answer, a COM error, a refused line, the gateway dying between two calls, a second gateway, concurrent writers.

Real parts: the gateway over HTTP, its real read engine on a stand-in MAX (padded PostgreSQL tables behind
read-only views), its real writer layer (the STA thread, the by-reference unpacking). Only MAXUpdate's COM object
is simulated (``sandboxes.exactmax.maxupdate_simulator``), and each test scripts what it does.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import max_backend_gateway
from max_gateway_helpers import GatewayClient, make_order, max_orders, unique_custpo

from max_gateway.backend import BackendUnavailable
from max_gateway.max.backend import MaxBackend
from sandboxes.exactmax.max_sandbox import max_backend_on
from shopify_max.exactmax.models import Cancellation, CreditMemo, Customer, SalesOrderLine
from shopify_max.exactmax.xml_builder import build_cancellation_xml, build_customer_xml, build_sales_order_xml

DEPLOYMENT_GUIDE = Path(__file__).parents[2] / "docs" / "max-gateway-deployment.md"


@pytest.fixture(scope="module")
def gateway(postgres_available: bool) -> Iterator[GatewayClient]:
    with max_backend_gateway(postgres_available) as client:
        yield client


@pytest.fixture
def maxupdate(gateway: GatewayClient):
    simulator = gateway.running.app.state.maxupdate
    yield simulator
    simulator._plans.clear()


def order_xml(custpo: str | None = None, lines: int = 2) -> bytes:
    return build_sales_order_xml(make_order(custpo or unique_custpo("MX"), lines=lines)).xml


def calls_of(maxupdate, method: str) -> int:
    return sum(1 for name, _args in maxupdate.calls if name == method)


def test_a_lost_answer_after_maxupdate_added_the_order_is_settled_by_custpo_and_not_sent_again(gateway, maxupdate):
    custpo = unique_custpo("MX")
    maxupdate.plan("AddSOXML", "lose_answer")
    before = calls_of(maxupdate, "AddSOXML")
    answer = gateway.post_xml("/sales-orders", order_xml(custpo))
    assert answer.status_code == 201, answer.text
    assert max_orders(gateway, custpo) == [(answer.json()["ORDNUM"], 2)]
    assert calls_of(maxupdate, "AddSOXML") == before + 1


def test_a_com_error_before_the_header_was_applied_answers_503_and_the_retry_writes_it_once(gateway, maxupdate):
    custpo = unique_custpo("MX")
    maxupdate.plan("AddSOXML", "raise")
    failed = gateway.post_xml("/sales-orders", order_xml(custpo))
    assert failed.status_code == 503 and "nothing was written" in failed.json()["detail"]
    assert max_orders(gateway, custpo) == []
    retried = gateway.post_xml("/sales-orders", order_xml(custpo))
    assert retried.status_code == 201
    assert max_orders(gateway, custpo) == [(retried.json()["ORDNUM"], 2)]


def test_dying_between_the_header_and_its_lines_is_completed_by_the_retry_and_answered_as_already_there(
        gateway, maxupdate):
    custpo = unique_custpo("MX")
    document = order_xml(custpo, lines=3)
    maxupdate.plan("AddSOLineItemXML", "")
    maxupdate.plan("AddSOLineItemXML", "raise")  # the second line's call never comes back
    failed = gateway.post_xml("/sales-orders", document)
    assert failed.status_code == 503
    [(ordnum, lines)] = max_orders(gateway, custpo)
    assert lines == 1  # MAX holds the header and the first line
    retried = gateway.post_xml("/sales-orders", document)
    assert retried.status_code == 409 and retried.json()["ORDNUM"] == ordnum
    assert max_orders(gateway, custpo) == [(ordnum, 3)]


def test_a_refused_line_deletes_its_order_and_the_answer_names_the_line_with_maxupdates_own_text(gateway, maxupdate):
    custpo = unique_custpo("MX")
    maxupdate.plan("AddSOLineItemXML", "")
    maxupdate.plan("AddSOLineItemXML", "refuse:Error: Invalid Part Number - PRT-00002.")  # MAXTRAN2 32786
    answer = gateway.post_xml("/sales-orders", order_xml(custpo))
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["line"] == "02" and error["rule"] == "unknown_part"
    assert "Error: Invalid Part Number - PRT-00002." in error["message"]
    assert max_orders(gateway, custpo) == []


def test_an_order_another_document_put_under_the_custpo_is_never_touched(gateway):
    custpo = unique_custpo("MX")
    first = gateway.post_xml("/sales-orders", order_xml(custpo, lines=1))
    assert first.status_code == 201
    other = gateway.post_xml("/sales-orders", order_xml(custpo, lines=3))  # same CUSTPO, other lines
    assert other.status_code == 409 and other.json()["ORDNUM"] == first.json()["ORDNUM"]
    assert max_orders(gateway, custpo) == [(first.json()["ORDNUM"], 1)]


def test_eight_concurrent_posts_of_one_order_write_it_once(gateway):
    custpo = unique_custpo("MX")
    document = order_xml(custpo)
    statuses: list[int] = []

    def post() -> None:
        statuses.append(gateway.post_xml("/sales-orders", document).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert len(max_orders(gateway, custpo)) == 1


def test_a_second_gateway_on_the_same_max_cannot_write(gateway):
    first = gateway.running.app.state.backend  # the first gateway holds the writer lock
    assert isinstance(first, MaxBackend) and gateway.http.get(f"{gateway.base_url}/health").json()["writer"] == "ready"
    second, _simulator = max_backend_on(gateway.running.app.state.max_stand_in)
    try:
        assert "another gateway holds the MAX writer lock" in second.check_health()["writer"]
        with pytest.raises(BackendUnavailable, match="another gateway"):
            second.create_sales_order(order_xml(), "CU")
    finally:
        second.close()


def invoiced_order(gateway: GatewayClient) -> tuple[str, str, str]:
    """A shipped and invoiced order of one case of PRT-00010 and three PRT-00003; (CUSTPO, ORDNUM, INVCE)."""
    order = make_order(unique_custpo("MX"), lines=1)
    order.lines = [SalesOrderLine(LINNUM="01", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal("99.00"), ORGQTY=Decimal(1)),
                   SalesOrderLine(LINNUM="02", PRTNUM="PRT-00003", PRICE=Decimal("12.50"), ORGQTY=Decimal(3))]
    created = gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml)
    assert created.status_code == 201, created.text
    ordnum = created.json()["ORDNUM"]
    gateway.sandbox("ship", ORDNUM=ordnum)
    return order.CUSTPO, ordnum, gateway.sandbox("invoice", ORDNUM=ordnum)["INVCE"]


def memo_xml(custpo: str, invce: str) -> bytes:
    memo = CreditMemo(CUSTID="WEB", CUSTPO=f"{custpo[:20]}-CR", ORDDTE=make_order().ORDDTE, APPINV=invce, lines=[
        SalesOrderLine(LINNUM="01", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal("99.00"), ORGQTY=Decimal(1),
                       RESTCK="Y"),
        SalesOrderLine(LINNUM="02", PRTNUM="PRT-00003", PRICE=Decimal("12.50"), ORGQTY=Decimal(2), RESTCK="N")])
    return build_sales_order_xml(memo).xml


def restock_receipts(gateway: GatewayClient, memo: str) -> list[tuple[str, Decimal]]:
    with gateway.engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT "REFDES_15", "TNXQTY_15" FROM "Transaction_History" WHERE "TNXCDE_15" = '
                                    "'R' AND \"REFDES_15\" LIKE :ref"), {"ref": f"CR{memo}-%"}).all()
    return [(reference.strip(), Decimal(str(quantity))) for reference, quantity in rows]


def test_a_restock_receipt_whose_answer_was_lost_is_settled_and_a_resent_memo_never_receives_twice(gateway, maxupdate):
    custpo, _ordnum, invce = invoiced_order(gateway)
    maxupdate.plan("ProcessTransXML", "lose_answer")
    created = gateway.post_xml("/credit-memos", memo_xml(custpo, invce))
    assert created.status_code == 201, created.text
    memo = created.json()["ORDNUM"]
    assert restock_receipts(gateway, memo) == [(f"CR{memo}-0101", Decimal(12))]  # one case of 12, in stocking units
    again = gateway.post_xml("/credit-memos", memo_xml(custpo, invce))
    assert again.status_code == 409
    assert restock_receipts(gateway, memo) == [(f"CR{memo}-0101", Decimal(12))]
    read = gateway.http.get(f"{gateway.base_url}/credit-memos/{memo}").json()
    assert [line["RESTCK"] for line in read["lines"]] == ["Y", "N"]
    assert [(move["LINNUM"], move["quantity"]) for move in read["stock_moves"]] == [("01", "12")]


def test_dying_between_the_memo_and_its_receipt_is_completed_by_the_retry(gateway, maxupdate):
    custpo, _ordnum, invce = invoiced_order(gateway)
    maxupdate.plan("ProcessTransXML", "raise")
    failed = gateway.post_xml("/credit-memos", memo_xml(custpo, invce))
    assert failed.status_code == 503
    [(memo, _lines)] = max_orders(gateway, f"{custpo[:20]}-CR")
    assert restock_receipts(gateway, memo) == []
    retried = gateway.post_xml("/credit-memos", memo_xml(custpo, invce))
    assert retried.status_code == 409 and retried.json()["ORDNUM"] == memo
    assert restock_receipts(gateway, memo) == [(f"CR{memo}-0101", Decimal(12))]


def test_a_cancellation_closes_every_line_then_the_header_and_a_lost_answer_is_settled_by_the_status(
        gateway, maxupdate):
    created = gateway.post_xml("/sales-orders", order_xml())
    ordnum = created.json()["ORDNUM"]
    maxupdate.plan("ChangeSalesOrderXML", "lose_answer")
    answer = gateway.post_xml("/cancellations", build_cancellation_xml(Cancellation(ORDNUM=ordnum, REASON="CN")).xml)
    assert answer.status_code == 200, answer.text
    status = gateway.http.get(f"{gateway.base_url}/sales-orders/status", params={"ordnum": ordnum}).json()["items"][0]
    assert status["STATUS"] == "4" and {line["STATUS"] for line in status["lines"]} == {"4"}
    methods = [name for name, _args in maxupdate.calls if name.startswith("Change")]
    assert methods[-3:] == ["ChangeSalesOrderLineItemXML", "ChangeSalesOrderLineItemXML", "ChangeSalesOrderXML"]


def test_customers_are_refused_because_maxupdate_cannot_add_one(gateway):
    answer = gateway.post_xml("/customers", build_customer_xml(Customer(CUSTID=f"C{uuid.uuid4().hex[:8]}",
                                                                        NAME="Ada Lovelace")).xml)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["rule"] == "not_supported"


def test_maxupdate_is_driven_in_the_order_the_deployment_guide_documents(gateway):
    documented = re.search(r"<!-- maxupdate-call-sequence -->\s*```\n(.*?)```", DEPLOYMENT_GUIDE.read_text(), re.S)
    assert documented, "docs/max-gateway-deployment.md lost its call-sequence block"
    steps = [line.split("(")[0].strip() for line in documented.group(1).splitlines() if line.strip()]
    calls = gateway.running.app.state.maxupdate.calls
    session = [name for name, _args in calls][:3]
    assert session == steps[:3] == ["SetVisualErrorReportingXML", "Initialize", "SetVisualErrorReportingXML"]
    assert calls[0][1] == calls[2][1] == (0,)
    assert {name for name, _args in calls[3:]} <= set(steps[3:])  # every call the gateway made is documented
