"""ExactMaxHook: an HttpHook on the ``exactmax_default`` connection, typed errors, and no duplicate exports."""

from __future__ import annotations

import pytest
from airflow.providers.http.hooks.http import HttpHook
from max_gateway_helpers import PASSWORD, TOKEN, make_order, unique_custpo

from shopify_max.exactmax.errors import (
    ExactMaxAmbiguousWriteError,
    ExactMaxAuthError,
    ExactMaxRejected,
    ExactMaxUnavailableError,
)
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.exactmax.models import Customer, SalesOrderLine, ShipTo
from shopify_max.redaction import REDACTED, redact_text
from shopify_max.retry_policy import is_retryable_exactmax_error

SALES_ORDERS = "/sales-orders"


def test_hook_is_an_http_hook_on_the_exactmax_default_http_connection() -> None:
    assert issubclass(ExactMaxHook, HttpHook)
    assert ExactMaxHook.default_conn_name == "exactmax_default"
    assert ExactMaxHook.conn_type == "http"
    assert ExactMaxHook.conn_name_attr == "exactmax_conn_id"


def test_test_connection_succeeds_with_basic_auth(shared_gateway, make_hook) -> None:
    ok, message = make_hook(shared_gateway).test_connection()
    assert ok, message


def test_test_connection_succeeds_with_a_bearer_token_in_extra(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway, login=None, password=None, token=TOKEN)
    assert hook.test_connection()[0]
    assert "token" not in hook.session.headers  # the extra is not leaked as a header


def test_test_connection_reports_wrong_credentials(shared_gateway, make_hook) -> None:
    ok, message = make_hook(shared_gateway, password="wrong-password").test_connection()
    assert not ok
    assert "ExactMaxAuthError" in message


def test_auth_failure_is_a_task_failure_not_a_record_rejection(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway, password="wrong-password")
    with pytest.raises(ExactMaxAuthError) as raised:
        hook.create_sales_order(make_order())
    assert raised.value.status == 401
    assert not is_retryable_exactmax_error(raised.value)


def test_connection_secrets_are_registered_for_redaction(shared_gateway, make_hook) -> None:
    make_hook(shared_gateway, token=TOKEN).test_connection()
    assert redact_text(f"password={PASSWORD} token={TOKEN}") == f"password={REDACTED} token={REDACTED}"


def test_field_rejection_is_a_typed_per_record_outcome(shared_gateway, make_hook) -> None:
    order = make_order()
    order.lines.append(SalesOrderLine(LINNUM="09", PRTNUM="PRT-99999", PRICE=1, ORGQTY=1))
    with pytest.raises(ExactMaxRejected) as raised:
        make_hook(shared_gateway).create_sales_order(order)
    assert raised.value.has_rule("unknown_part", "PRTNUM_28")
    assert [(e.element, e.line, e.rule) for e in raised.value.errors] == [("PRTNUM_28", "09", "unknown_part")]
    assert not is_retryable_exactmax_error(raised.value)
    assert shared_gateway.count_orders(order.CUSTPO) == 0


def test_create_sales_order_returns_the_assigned_ordnum(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order(lines=3)
    result = hook.create_sales_order(order)
    assert len(result.ORDNUM) == 8 and result.ORDNUM.isdigit()
    assert not result.recovered and result.attempts == 1
    assert [line.LINNUM for line in result.lines] == ["01", "02", "03"]
    found = hook.find_sales_order_by_custpo(order.CUSTPO)
    assert found is not None and found.ORDNUM == result.ORDNUM
    assert hook.get_sales_order(result.ORDNUM).CUSTPO == order.CUSTPO
    assert hook.get_sales_order("99999998") is None
    assert hook.find_sales_order_by_custpo(unique_custpo("none")) is None


def test_commit_then_drop_the_response_leaves_exactly_one_order(shared_gateway, make_hook) -> None:
    """The fault that catches duplicate exports: MAX committed, the caller never heard so."""
    hook = make_hook(shared_gateway)
    order = make_order()
    shared_gateway.set_faults([{"kind": "drop_after_commit", "count": 1, "method": "POST", "path": SALES_ORDERS}])
    result = hook.create_sales_order(order)
    assert shared_gateway.faults_fired() == {"drop_after_commit": 1}
    assert result.recovered
    assert shared_gateway.count_orders(order.CUSTPO) == 1
    assert hook.find_sales_order_by_custpo(order.CUSTPO).ORDNUM == result.ORDNUM
    # a re-run of the export (a retried task) finds the order and sends nothing
    assert hook.find_sales_order_by_custpo(order.CUSTPO) is not None
    shared_gateway.set_faults([])


def test_dropped_response_on_every_attempt_still_leaves_exactly_one_order(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order()
    shared_gateway.set_faults([{"kind": "drop_after_commit", "count": 5, "method": "POST", "path": SALES_ORDERS}])
    result = hook.create_sales_order(order)
    shared_gateway.set_faults([])
    assert result.recovered and result.attempts == 1
    assert shared_gateway.count_orders(order.CUSTPO) == 1


def test_timeout_before_processing_is_sent_again_only_after_the_lookup_finds_nothing(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway, timeout=0.5)
    order = make_order()
    shared_gateway.set_faults([{"kind": "timeout", "count": 1, "seconds": 1.5, "method": "POST", "path": SALES_ORDERS}])
    result = hook.create_sales_order(order)
    shared_gateway.set_faults([])
    assert not result.recovered and result.attempts == 2
    assert shared_gateway.count_orders(order.CUSTPO) == 1


def test_503_on_a_write_is_settled_by_lookup_then_sent_again(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order()
    shared_gateway.set_faults([{"kind": "error", "status": 503, "count": 2, "method": "POST", "path": SALES_ORDERS}])
    result = hook.create_sales_order(order)
    shared_gateway.set_faults([])
    assert result.attempts == 3 and not result.recovered
    assert shared_gateway.count_orders(order.CUSTPO) == 1


def test_write_outage_ends_as_an_ambiguous_task_failure_without_a_duplicate(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order()
    shared_gateway.set_faults([{"kind": "error", "status": 502, "count": 10, "method": "POST", "path": SALES_ORDERS}])
    with pytest.raises(ExactMaxAmbiguousWriteError):
        hook.create_sales_order(order)
    shared_gateway.set_faults([])
    assert shared_gateway.count_orders(order.CUSTPO) == 0


def test_reads_retry_through_5xx_and_429(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    shared_gateway.set_faults([{"kind": "error", "status": 503, "count": 2, "method": "GET", "path": "/code-tables"},
                               {"kind": "error", "status": 429, "count": 1, "method": "GET", "path": "/code-tables"}])
    tables = hook.code_tables()
    assert shared_gateway.faults_fired() == {"error": 3}
    assert {c.code for c in tables.uom} >= {"EA", "CS"}
    shared_gateway.set_faults([])


def test_reads_give_up_after_their_attempts_with_the_status(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    shared_gateway.set_faults([{"kind": "error", "status": 500, "count": 50, "method": "GET", "path": "/code-tables"}])
    with pytest.raises(ExactMaxUnavailableError) as raised:
        hook.code_tables()
    shared_gateway.set_faults([])
    assert raised.value.status == 500 and raised.value.retry_after == 1


@pytest.mark.reference_backend_only("MAXUpdate has no function that adds a customer (max backend: 422 not_supported)")
def test_customer_write_with_a_dropped_response_is_settled_by_custid_lookup(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    customer = Customer(CUSTID=unique_custpo("C")[:20], NAME="Dropped Response Ltd",
                        ship_tos=[ShipTo(SHPCDE="HQ", NAME="Head office")])
    shared_gateway.set_faults([{"kind": "drop_after_commit", "count": 1, "method": "POST", "path": "/customers"}])
    result = hook.create_customer(customer)
    shared_gateway.set_faults([])
    assert result.recovered and result.ship_tos == ["HQ"]
    assert hook.get_customer(customer.CUSTID).NAME == "Dropped Response Ltd"
    assert hook.get_customer(unique_custpo("none")[:20]) is None


def test_cancellation_with_a_dropped_response_is_settled_by_reading_the_order(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(make_order()).ORDNUM
    shared_gateway.set_faults([{"kind": "drop_after_commit", "count": 1, "method": "POST", "path": "/cancellations"}])
    result = hook.cancel_sales_order(ordnum)
    shared_gateway.set_faults([])
    assert result == {"ORDNUM": ordnum, "STATUS": "4", "recovered": True}
    assert hook.get_sales_order(ordnum).STATUS == "4"
