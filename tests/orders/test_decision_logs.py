"""Logs carry what on-call needs, one line per decision and per retry (issue 12, "Logs"): a mapping failure says
why (redacted), a validation failure too, each HTTP retry of the MAX hook is a line and giving up says so, and
Great Expectations' INFO and DEBUG noise stays out of the task log."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import socket
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal

import pytest
from order_payloads import EXAMPLE_ORDER, ListSource

from shopify_max.exactmax.errors import ExactMaxConnectionError
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.exactmax.models import SalesOrder, SalesOrderLine
from shopify_max.orders.pipeline import capture_orders, map_staged_orders, validate_staged_orders
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.validation.sales_orders import ReferenceCodes, validate_sales_orders

TOKEN_LIKE_SKU = "shpat_0123456789abcdef"  # credential-shaped text: never written to a log as it is
CODES = ReferenceCodes(part_numbers=frozenset({"PRT-00001"}), uoms=frozenset({"EA"}), terms=frozenset({"CC"}),
                       ship_via=frozenset({"UP"}), tax_codes=frozenset(), currencies=frozenset({"USD"}))


def _sales_order(part: str = "PRT-00001") -> SalesOrder:
    return SalesOrder(CUSTID="WEB", CUSTPO=f"T-{uuid.uuid4().hex[:10]}", ORDDTE=date(2026, 11, 27), NAME="Web shop",
                      ADDR1="1 Main St", CITY="Louisville", TERMS="CC", SHPVIA="UP", CURR="USD",
                      lines=[SalesOrderLine(LINNUM="01", PRTNUM=part, PRICE=Decimal("12.50"), ORGQTY=Decimal(1))])


def test_a_mapping_failure_logs_its_reason_redacted(sync_store, mappings, caplog):
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update({"cancelled_at": None, "test": False, "name": "#1008"})
    payload["line_items"][0]["sku"] = TOKEN_LIKE_SKU
    order = order_from_webhook_payload(payload)
    capture_orders(sync_store, ListSource(order), run_id="r1", window=(order.updated_at, order.updated_at))
    caplog.set_level(logging.INFO, logger="shopify_max")

    map_staged_orders(sync_store, mappings, run_id="r1")

    [line] = [r.getMessage() for r in caplog.records if "mapping failed" in r.getMessage()]
    [item] = sync_store.list_errors(stage="map")
    assert line.startswith(f"order #1008: mapping failed (1 problem(s)), error queue item {item.id}: order #1008 (")
    assert "line_items[0].sku: " in line and "has no MAX part" in line  # why, as the error item says it
    assert TOKEN_LIKE_SKU not in caplog.text


def test_a_validation_failure_is_one_line_with_its_reason(sync_store, mappings, caplog):
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update({"cancelled_at": None, "test": False, "name": "#1009"})
    order = order_from_webhook_payload(payload)
    capture_orders(sync_store, ListSource(order), run_id="r1", window=(order.updated_at, order.updated_at))
    map_staged_orders(sync_store, mappings, run_id="r1")
    caplog.set_level(logging.INFO, logger="shopify_max")

    validate_staged_orders(sync_store, dataclasses.replace(CODES, part_numbers=frozenset()), run_id="r1")

    [item] = sync_store.list_errors(stage="validate")
    [line] = [r.getMessage() for r in caplog.records if "validation failed" in r.getMessage()]
    assert line.startswith("order #1009: validation failed (") and f"error queue item {item.id}: " in line
    assert "fails expect_column_values_to_be_in_set" in line and "PRTNUM 'PRT-0000" in line


def test_validating_a_batch_writes_no_great_expectations_info_or_debug_lines(caplog):
    caplog.set_level(logging.DEBUG)
    report = validate_sales_orders([_sales_order(), _sales_order("PRT-99999")], CODES)

    [(custpo, failures)] = report.failures_by_order.items()
    assert [f.message() for f in failures] == ["PRTNUM 'PRT-99999' fails expect_column_values_to_be_in_set"]
    # Great Expectations' own INFO and DEBUG lines stay out of the log (its warnings would not).
    assert [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING] == []


@pytest.mark.slow  # a fresh interpreter: GX writes most of its noise when it is imported
def test_importing_and_running_great_expectations_writes_no_info_or_debug_lines():
    script = """
import collections, logging, sys
from datetime import date
from decimal import Decimal
records = []
class Keep(logging.Handler):
    def emit(self, record): records.append(record)
logging.getLogger().addHandler(Keep()); logging.getLogger().setLevel(logging.DEBUG)
from shopify_max.exactmax.models import SalesOrder, SalesOrderLine
from shopify_max.validation.sales_orders import ReferenceCodes, validate_sales_orders
codes = ReferenceCodes(frozenset({"PRT-00001"}), frozenset({"EA"}), frozenset({"CC"}), frozenset({"UP"}),
                       frozenset(), frozenset({"USD"}))
order = SalesOrder(CUSTID="WEB", CUSTPO="T-1", ORDDTE=date(2026, 11, 27), NAME="Web shop", ADDR1="1 Main St",
                   CITY="Louisville", TERMS="CC", SHPVIA="UP", CURR="USD",
                   lines=[SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001", PRICE=Decimal("1.00"), ORGQTY=Decimal(1))])
assert not validate_sales_orders([order], codes).failures_by_order
noise = collections.Counter(r.name for r in records if r.name.startswith("great_expectations") and r.levelno < 30)
print(sum(noise.values()), dict(noise.most_common(3)))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "0 {}"


def test_each_max_retry_is_one_line_and_giving_up_says_so(monkeypatch, caplog):
    with socket.socket() as sock:  # a port nothing listens on: every attempt is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "extra": {"timeout": 1}}))
    hook = ExactMaxHook(read_attempts=3, backoff_base=0.001, max_retry_wait=0.01, sleep=lambda _: None)
    caplog.set_level(logging.WARNING)

    with pytest.raises(ExactMaxConnectionError):
        hook.code_tables()

    lines = [(r.name, r.getMessage()) for r in caplog.records if r.name.startswith("shopify_max.exactmax")]
    assert [name for name, _ in lines] == ["shopify_max.exactmax"] * 3
    assert [message.split(" reason=")[0].split(" op=GET /code-tables ")[1].split(" wait=")[0]
            for _, message in lines] == ["retry=1/2", "retry=2/2", "gave up after 2 retries"]
    assert all("reason=connection_failed" in message or "reason=" in message for _, message in lines)
