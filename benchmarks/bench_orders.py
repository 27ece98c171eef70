"""Orders: CPU cost of map + validate per order, and end-to-end orders per minute against the sandboxes.

1. 10,000 orders (``--quick``: 1,000), built from Shopify's example payload with catalogue SKUs, are mapped
   (``map_order_to_sales_order``) and validated (the Great Expectations suite) in this process; CPU time
   per order is reported for each step.
2. The orders pipeline (capture → map → validate → export, the library functions the DAG's tasks call)
   runs against both sandboxes on loopback: the Shopify sandbox on its Standard preset (100 points/s) and
   the reference MAX gateway. Every HTTP request is timed by host, so the share of wall time spent waiting
   on each API is reported beside the orders per minute.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import requests
from figures import Figure

ROOT = Path(__file__).resolve().parents[1]


def _orders(count: int):
    from sandboxes import catalog
    from shopify_max.orders.webhook_payload import order_from_webhook_payload

    example = json.loads((ROOT / "include/vendor/shopify/webhooks/orders.create.json").read_text())["response"]
    mapped_skus = [sku for sku, *_ in catalog.sku_mapping_rows(500)]
    orders = []
    for number in range(count):
        payload = copy.deepcopy(example)
        payload.update(cancelled_at=None, test=False, name=f"#B{number}", total_discounts_set=None,
                       admin_graphql_api_id=f"gid://shopify/Order/{10**12 + number}")
        total = Decimal(0)
        for position, item in enumerate(payload["line_items"]):
            item["sku"] = mapped_skus[(number * 7 + position) % len(mapped_skus)]
            item["quantity"] = 1 + (number + position) % 4
            total += Decimal(item["price"]) * item["quantity"]
        total += Decimal("10.00")
        payload["total_price_set"] = {"shop_money": {"amount": str(total), "currency_code": "USD"},
                                      "presentment_money": {"amount": str(total), "currency_code": "USD"}}
        orders.append(order_from_webhook_payload(payload))
    return orders


def _map_and_validate(count: int) -> list[Figure]:
    from sandboxes import catalog
    from sandboxes.exactmax.seed import NON_STOCK_PARTS, TAX_CODES, TERMS, UOMS
    from shopify_max.mappings import load_mappings
    from shopify_max.orders.mapper import map_order_to_sales_order
    from shopify_max.validation.sales_orders import ReferenceCodes, validate_sales_orders

    orders = _orders(count)
    mappings = load_mappings()
    started = time.process_time()
    results = [map_order_to_sales_order(order, mappings) for order in orders]
    map_cpu = time.process_time() - started
    sales_orders = [r.sales_order for r in results if r.sales_order is not None]
    assert len(sales_orders) == count, [r.errors for r in results if r.errors][:3]
    codes = ReferenceCodes(
        part_numbers=frozenset({p for _, p, *_ in catalog.sku_mapping_rows(500)} | set(NON_STOCK_PARTS)),
        uoms=frozenset(UOMS), terms=frozenset(TERMS), ship_via=frozenset({"UP", "U2", "FX", "US", "WC"}),
        tax_codes=frozenset(TAX_CODES), currencies=frozenset({"USD", "CAD", "EUR"}))
    validate_sales_orders(sales_orders[:10], codes)  # GX's import and first-run warm-up are not per order
    started = time.process_time()
    report = validate_sales_orders(sales_orders, codes)
    validate_cpu = time.process_time() - started
    assert not report.failures_by_order
    lines = sum(len(so.lines) for so in sales_orders)
    return [
        Figure(f"orders: map, CPU per order ({count:,} orders, {lines:,} MAX rows)", map_cpu / count * 1000, "ms"),
        Figure(f"orders: GX validation, CPU per order ({count:,} orders)", validate_cpu / count * 1000, "ms"),
        Figure(f"orders: map + validate, CPU for {count:,} orders", map_cpu + validate_cpu, "s",
               ratio=(map_cpu + validate_cpu) / 60 * (10_000 / count),
               note="ratio = CPU for 10,000 orders / 60 s (target: well under 1)"),
    ]


def _end_to_end(order_count: int) -> list[Figure]:
    import os

    from max_gateway.app import GatewayAuth
    from sandboxes.exactmax.server import GatewayConfig
    from sandboxes.exactmax.server import run_in_thread as run_gateway
    from sandboxes.shopify.app import SandboxConfig
    from sandboxes.shopify.app import run_in_thread as run_shop
    from shopify_max.airflow_glue.order_tasks import reference_codes_from_max
    from shopify_max.clock import utcnow
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.mappings import load_mappings
    from shopify_max.orders import pipeline
    from shopify_max.shopify.api import ShopifyAdminApi
    from shopify_max.shopify.client import ShopifyClient
    from shopify_max.sync_store import SyncStore

    waits: dict[str, float] = defaultdict(float)
    original_send = requests.Session.send

    def timed_send(session, request, **kwargs):  # noqa: ANN001, ANN202 - instrumentation of the benchmark only
        started = time.perf_counter()
        try:
            return original_send(session, request, **kwargs)
        finally:
            waits[request.url.split("/")[2]] += time.perf_counter() - started

    tmp = Path(tempfile.mkdtemp(prefix="bench-orders-"))
    with run_shop(SandboxConfig(products=200, orders=order_count, plan="standard")) as shop, \
            run_gateway(GatewayConfig(database_url=f"sqlite:///{tmp / 'max.sqlite'}", products=200,
                                      auth=GatewayAuth(username="bench", password="bench-password"))) as gateway:
        os.environ["AIRFLOW_CONN_EXACTMAX_DEFAULT"] = json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http", "login": "bench",
            "password": "bench-password"})
        store = SyncStore.from_url(f"sqlite:///{tmp / 'sync.sqlite'}")
        def paced_sleep(seconds: float) -> None:  # the client's pacing waits: time spent on Shopify's budget
            waits["shopify pacing"] += seconds
            time.sleep(seconds)

        api = ShopifyAdminApi(ShopifyClient(shop.base_url, shop.sandbox.config.token, sleep=paced_sleep))
        requests.Session.send = timed_send
        try:
            started = time.perf_counter()
            now = utcnow()
            capture = pipeline.capture_orders(store, api, run_id="bench", window=(now - timedelta(days=30), now))
            pipeline.map_staged_orders(store, load_mappings(), run_id="bench")
            pipeline.validate_staged_orders(store, reference_codes_from_max(), run_id="bench")
            exported = pipeline.export_staged_orders(store, ExactMaxHook(), run_id="bench").get("exported", 0)
            wall = time.perf_counter() - started
        finally:
            requests.Session.send = original_send
    shop_http = waits.get(f"{shop.host}:{shop.port}", 0.0)
    shop_wait = shop_http + waits.get("shopify pacing", 0.0)
    max_wait = waits.get(f"{gateway.host}:{gateway.port}", 0.0)
    read = capture.orders_read
    return [
        Figure(f"orders e2e: {read} orders read, {exported} exported (Shopify Standard preset)",
               read / wall * 60, "orders/min", note=f"wall {wall:.1f} s"),
        Figure("orders e2e: share of wall time waiting on Shopify (HTTP + cost pacing)", shop_wait / wall * 100, "%",
               note=f"pacing {waits.get('shopify pacing', 0.0):.1f} s, HTTP {shop_http:.1f} s"),
        Figure("orders e2e: share of wall time waiting on the MAX gateway", max_wait / wall * 100, "%"),
        Figure("orders e2e: our own time per order read (wall − API waits)", (wall - shop_wait - max_wait) / read * 1000,
               "ms"),
    ]


def run(quick: bool) -> list[Figure]:
    return _map_and_validate(1_000 if quick else 10_000) + _end_to_end(30 if quick else 100)
