"""The sandbox's write log (``/_sandbox/writes``) counts the contract writes the gateway committed: what a dry run
must leave at 0 and what a replay settled by its lookup must not raise. Real gateway over HTTP, SQLite and
PostgreSQL; a fresh gateway per test, so the counts are this test's own."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from max_gateway_helpers import make_order, unique_custpo

from shopify_max.dry_run import DryRunWriteRefused, dry_run_guard
from shopify_max.exactmax.models import CreditMemo, Customer, SalesOrderLine
from shopify_max.exactmax.xml_builder import build_sales_order_xml

NOTHING = {"sales_orders": 0, "credit_memos": 0, "customers": 0, "cancellations": 0}


def writes(client) -> dict:  # noqa: ANN001
    response = client.http.get(f"{client.base_url}/_sandbox/writes", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_committed_contract_write_counts_once_by_kind_and_sandbox_operations_not_at_all(gateway,
                                                                                              make_hook) -> None:
    hook = make_hook(gateway)
    assert (writes(gateway)["total"], writes(gateway)["counts"]) == (0, NOTHING)  # the seed is not a write

    shipped = hook.create_sales_order(make_order())
    assert writes(gateway)["counts"] == NOTHING | {"sales_orders": 1}
    gateway.sandbox("ship", ORDNUM=shipped.ORDNUM, tracking_number="1Z1")
    invce = gateway.sandbox("invoice", ORDNUM=shipped.ORDNUM)["INVCE"]
    gateway.sandbox("pay", invoice=invce)
    gateway.sandbox("stock", PRTNUM="PRT-00001", STK="MAIN", quantity="5", kind="R")
    assert writes(gateway)["total"] == 1  # ship, invoice, pay and stock are what MAX does, not contract writes

    hook.create_credit_memo(CreditMemo(CUSTID="WEB", CUSTPO=unique_custpo("CR"), ORDDTE=make_order().ORDDTE,
                                       APPINV=invce, lines=[SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001",
                                                                           PRICE=Decimal(1), ORGQTY=Decimal(1))]))
    hook.create_customer(Customer(CUSTID=unique_custpo("C")[:20], NAME="Write Log Co"))
    hook.cancel_sales_order(hook.create_sales_order(make_order()).ORDNUM)
    hook.code_tables()  # reads are not writes
    assert list(hook.iter_parts(page_size=500))
    log = writes(gateway)
    assert log["counts"] == {"sales_orders": 2, "credit_memos": 1, "customers": 1, "cancellations": 1}
    assert (log["total"], log["received"]) == (5, 5)

    started = datetime.fromisoformat(log["since"])
    reset = gateway.http.delete(f"{gateway.base_url}/_sandbox/writes", timeout=10).json()
    assert (reset["total"], reset["counts"], reset["received"]) == (0, NOTHING, 0)
    assert datetime.fromisoformat(reset["since"]) >= started
    assert writes(gateway)["total"] == 0


def test_a_replay_settled_by_the_custpo_lookup_writes_nothing_more(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    order = make_order()
    gateway.set_faults([{"kind": "drop_after_commit", "count": 1, "method": "POST", "path": "/sales-orders"}])
    first = hook.create_sales_order(order)  # committed, answer lost: the hook looks the CUSTPO up, does not resend
    gateway.set_faults([])
    assert first.recovered and gateway.count_orders(order.CUSTPO) == 1
    assert (writes(gateway)["counts"]["sales_orders"], writes(gateway)["received"]) == (1, 1)

    again = hook.create_sales_order(order)  # a later run sends it again: the gateway's CUSTPO rule refuses it (409)
    assert again.already_existed and again.ORDNUM == first.ORDNUM
    log = writes(gateway)
    assert (log["total"], log["received"]) == (1, 2)  # it arrived, and wrote nothing
    assert gateway.count_orders(order.CUSTPO) == 1


def test_a_write_refused_by_the_dry_run_guard_never_reaches_the_gateway(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    ordnum = hook.create_sales_order(make_order()).ORDNUM
    gateway.http.delete(f"{gateway.base_url}/_sandbox/writes", timeout=10).raise_for_status()
    order = make_order()
    with dry_run_guard():
        assert hook.get_sales_order(ordnum) is not None and list(hook.iter_prices("RETAIL"))  # reads go through
        with pytest.raises(DryRunWriteRefused):
            hook.create_sales_order(order)
        with pytest.raises(DryRunWriteRefused):
            hook.create_customer(Customer(CUSTID=unique_custpo("D")[:20], NAME="Dry Run Co"))
        with pytest.raises(DryRunWriteRefused):
            hook.cancel_sales_order(ordnum)
    log = writes(gateway)
    assert (log["total"], log["counts"], log["received"]) == (0, NOTHING, 0)
    assert gateway.count_orders(order.CUSTPO) == 0 and hook.get_sales_order(ordnum).STATUS == "3"


def test_rejected_and_fault_answered_writes_are_received_but_not_counted(gateway) -> None:
    rejected = make_order()
    rejected.lines[0].PRTNUM = "NO-SUCH-PART"
    assert gateway.post_xml("/sales-orders", build_sales_order_xml(rejected).xml).status_code == 422
    gateway.set_faults([{"kind": "error", "status": 503, "count": 1, "method": "POST", "path": "/sales-orders"}])
    faulted = make_order()
    assert gateway.post_xml("/sales-orders", build_sales_order_xml(faulted).xml).status_code == 503
    gateway.set_faults([])
    log = writes(gateway)
    assert (log["total"], log["received"]) == (0, 2)
    assert gateway.count_orders(rejected.CUSTPO) == gateway.count_orders(faulted.CUSTPO) == 0
