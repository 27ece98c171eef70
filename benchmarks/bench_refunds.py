"""Refunds: Shopify refunds → Exact MAX credit memos. Fuzz, CPU of map + validate per refund, and refunds per minute
end to end against both sandboxes.

1. Fuzz: 600 cases (``--quick``: 200) from ``tests/refunds/refund_fuzz.py``: Shopify's example ``refunds/create``
   body broken by hypothesis (fixed seed, generation only), read the way ``capture_refunds`` reads a delivery and
   mapped by ``map_refund``. Counted: failures not in ``refund_fuzz.KNOWN_BUGS`` (target 0), and the cases each
   known bug still catches.
2. CPU per refund: 2,000 valid refunds (``--quick``: 300; the example with its own ids and amounts) mapped
   (``map_refund``) and validated (the sales-order Great Expectations suite, as ``RefundExport`` validates memos,
   in batches of 500) in this process. The ratio compares with the orders' own map + validate CPU per order, as
   recorded by ``bench_orders`` in ``benchmarks/results/latest.json`` (no ratio when it has none). Also: the suite
   run on one memo at a time, as ``RefundExport`` calls its validator, per refund.
3. End to end: 100 orders (``--quick``: 20) created in the Shopify sandbox, exported to MAX by the orders library
   pipeline with the Shopify bucket raised to the Plus preset, shipped and invoiced in MAX (``/_sandbox/ship``,
   ``/_sandbox/invoice``) and refunded in Shopify (``POST /_sandbox/orders/{id}/refund``: one line, restocked or
   not, every third with its shipping). Setup is not timed. Then, on the Standard preset from a full bucket:
   ``capture_refunds`` (the poll: no webhook receiver here) + ``RefundExport(...).run()``, built as the DAG's
   tasks build them. Checked after: exactly one credit memo per refund (``find_credit_memos_by_custpo``).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests
from figures import Figure
from harness import environment, wait_for_full_bucket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "refunds"))  # refund_fuzz: shared with the tests

SEED = 20261130
PRODUCTS = 200
MAX_USER, MAX_PASSWORD = "bench", "bench-password"
VALIDATE_BATCH = 500
SINGLE_MEMOS = 10


def _fuzz(count: int) -> list[Figure]:
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from refund_fuzz import KNOWN_BUGS, fuzzed_bodies, run_case

    outcomes: Counter[str] = Counter()
    known: Counter[str] = Counter()
    new: list[str] = []

    @seed(SEED)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(body=fuzzed_bodies())
    def one_case(body) -> None:
        result = run_case(body)
        outcomes[result.outcome] += 1
        known.update(code for code in result.failure_codes() if code in KNOWN_BUGS)
        new.extend(result.new_failures())

    started = time.perf_counter()
    one_case()
    wall = time.perf_counter() - started
    cases = sum(outcomes.values())
    if new:
        print(f"   first new failure: {new[0][:300]}", flush=True)
    spread = ", ".join(f"{name} {n:,}" for name, n in sorted(outcomes.items()))
    caught = "; ".join(f"{code} {n}" for code, n in sorted(known.items())) or "none"
    return [
        Figure("refunds fuzz: cases run", cases, "cases", note=spread),
        Figure("refunds fuzz: failures not in KNOWN_BUGS (target 0)", len(new), "cases"),
        Figure("refunds fuzz: cases caught by a known library bug (refund_fuzz.KNOWN_BUGS)", sum(known.values()),
               "cases", note=caught),
        Figure("refunds fuzz: throughput, generation included", cases / wall, "cases/s", note=f"wall {wall:.1f} s"),
    ]


def _orders_cpu_per_order() -> float | None:
    """The orders' map + validate CPU per order (ms), as bench_orders recorded it; None when not recorded."""
    try:
        figures = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text())["figures"]
    except (OSError, ValueError, KeyError):
        return None
    wanted = {"orders: map, CPU per order": None, "orders: GX validation, CPU per order": None}
    for figure in figures:
        for prefix in wanted:
            if figure.get("module") == "bench_orders" and figure.get("name", "").startswith(prefix):
                wanted[prefix] = float(figure["value"])
    return None if None in wanted.values() else sum(wanted.values())


def _map_and_validate(count: int) -> list[Figure]:
    from refund_fuzz import LINE_MAP, MAX_ORDER, MAX_PARTS, RULES, valid_body

    from sandboxes.exactmax.seed import NON_STOCK_PARTS, TAX_CODES, TERMS, UOMS
    from shopify_max.refunds.mapper import map_refund
    from shopify_max.shopify.refund_payload import refund_from_webhook_payload
    from shopify_max.validation.sales_orders import ReferenceCodes, validate_sales_orders

    refunds = [refund_from_webhook_payload(json.loads(valid_body(number))) for number in range(count)]
    started = time.process_time()
    mapped = [map_refund(refund, MAX_ORDER, LINE_MAP, RULES) for refund in refunds]
    map_cpu = time.process_time() - started
    memos = [m.memo for m in mapped if m.memo is not None]
    assert len(memos) == count, [m.problems for m in mapped if m.problems][:3]
    codes = ReferenceCodes(part_numbers=frozenset(MAX_PARTS) | frozenset(NON_STOCK_PARTS), uoms=frozenset(UOMS),
                           terms=frozenset(TERMS), ship_via=frozenset({"UP", "U2", "FX", "US", "WC"}),
                           tax_codes=frozenset(TAX_CODES), currencies=frozenset({"USD", "CAD", "EUR"}))
    validate_sales_orders(memos[:10], codes)  # GX's import and first-run warm-up are not per refund
    started = time.process_time()
    failures = 0
    for start in range(0, count, VALIDATE_BATCH):
        failures += len(validate_sales_orders(memos[start:start + VALIDATE_BATCH], codes).failures_by_order)
    validate_cpu = time.process_time() - started
    assert not failures, f"{failures} valid memos fail the suite"
    singles = memos[:SINGLE_MEMOS]
    started = time.process_time()
    for memo in singles:  # as RefundExport.export_one calls its validator: one memo per suite run
        validate_sales_orders([memo], codes)
    single_cpu = (time.process_time() - started) / len(singles)
    per_refund = (map_cpu + validate_cpu) / count * 1000
    orders = _orders_cpu_per_order()
    lines = sum(len(memo.lines) for memo in memos)
    return [
        Figure(f"refunds: map, CPU per refund ({count:,} refunds, {lines:,} memo rows)", map_cpu / count * 1000, "ms"),
        Figure(f"refunds: GX validation, CPU per refund (batches of {VALIDATE_BATCH})", validate_cpu / count * 1000,
               "ms"),
        Figure("refunds: map + validate, CPU per refund", per_refund, "ms",
               ratio=per_refund / orders if orders else None,
               note=f"ratio = per refund / per order {orders:.3f} ms (bench_orders, results/latest.json)" if orders
               else "no orders figure recorded: no ratio"),
        Figure("refunds: GX validation of one memo per suite run (as RefundExport validates), CPU per refund",
               single_cpu * 1000, "ms", ratio=single_cpu / (validate_cpu / count),
               note=f"{len(singles)} memos; ratio = one at a time / in batches of {VALIDATE_BATCH}"),
    ]


def _order_lines(number: int) -> list[dict]:
    from sandboxes import catalog

    indexes = [i for i in range(1, PRODUCTS + 1) if not catalog.is_unmapped(i) and not catalog.has_case_variant(i)]
    return [{"sku": f"SKU-{indexes[(number * 7 + position * 13) % len(indexes)]:05d}",
             "quantity": 1 + (number + position) % 3} for position in range(1 + number % 3)]


def _setup(count: int, shop, admin: requests.Session, gateway_url: str, gateway_admin: requests.Session,  # noqa: ANN001
           store) -> dict[str, str]:  # noqa: ANN001
    """Orders in Shopify, exported to MAX, shipped, invoiced and refunded in Shopify: refund gid → order gid."""
    from shopify_max.airflow_glue.order_tasks import reference_codes_from_max
    from shopify_max.clock import utcnow
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.mappings import load_mappings
    from shopify_max.orders import pipeline
    from shopify_max.shopify.api import ShopifyAdminApi
    from shopify_max.shopify.client import ShopifyClient

    base = shop.base_url
    admin.post(f"{base}/_sandbox/bucket", json={"preset": "plus"}, timeout=30).raise_for_status()
    created = []
    for number in range(count):
        response = admin.post(f"{base}/_sandbox/orders", json={"lines": _order_lines(number), "payment": "paid"},
                              timeout=30)
        response.raise_for_status()
        created.append(response.json())
    api = ShopifyAdminApi(ShopifyClient(base, shop.sandbox.config.token))
    now = utcnow()
    pipeline.capture_orders(store, api, run_id="bench-setup", window=(now - timedelta(days=1),
                                                                      now + timedelta(minutes=1)))
    pipeline.map_staged_orders(store, load_mappings(), run_id="bench-setup")
    pipeline.validate_staged_orders(store, reference_codes_from_max(), run_id="bench-setup")
    exported = pipeline.export_staged_orders(store, ExactMaxHook(), run_id="bench-setup").get("exported", 0)
    assert exported == count, f"{exported} of {count} orders exported"

    refunds: dict[str, str] = {}
    for number, order in enumerate(created):
        ordnum = store.max_key_for("order", order["id"])
        gateway_admin.post(f"{gateway_url}/_sandbox/ship", json={
            "ORDNUM": ordnum, "SHPVIA": "UP", "carrier": "UPS", "tracking_number": f"1ZREF{number:06d}"},
            timeout=30).raise_for_status()
        gateway_admin.post(f"{gateway_url}/_sandbox/invoice", json={"ORDNUM": ordnum}, timeout=30).raise_for_status()
        body: dict = {"lines": [{"line_item_id": order["lineItems"][0], "quantity": 1,
                                 "restock_type": "RETURN" if number % 2 else "NO_RESTOCK"}]}
        if number % 3 == 0:
            body["shipping"] = {"full": True}
        response = admin.post(f"{base}/_sandbox/orders/{order['id'].rsplit('/', 1)[1]}/refund", json=body,
                              timeout=30)
        response.raise_for_status()
        refunds[response.json()["id"]] = order["id"]
    return refunds


def _end_to_end(count: int) -> list[Figure]:
    from max_gateway.app import GatewayAuth
    from sandboxes.exactmax.server import GatewayConfig
    from sandboxes.exactmax.server import run_in_thread as run_gateway
    from sandboxes.shopify.app import SandboxConfig
    from sandboxes.shopify.app import run_in_thread as run_shop
    from shopify_max.airflow_glue.order_tasks import POLL_OVERLAP
    from shopify_max.airflow_glue.refund_tasks import credit_memo_validator
    from shopify_max.clock import utcnow
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.refunds.pipeline import DEFAULT_LEASE, RefundExport, capture_refunds
    from shopify_max.refunds.rules import load_refund_rules
    from shopify_max.shopify.hook import ShopifyHook
    from shopify_max.sync_store import SyncStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-refunds-"))
    with run_shop(SandboxConfig(products=PRODUCTS, orders=0, plan="standard")) as shop, \
            run_gateway(GatewayConfig(database_url=f"sqlite:///{tmp / 'max.sqlite'}", products=PRODUCTS,
                                      auth=GatewayAuth(username=MAX_USER, password=MAX_PASSWORD))) as gateway, \
            environment({
                "AIRFLOW_CONN_SHOPIFY_DEFAULT": json.dumps({
                    "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http",
                    "password": shop.sandbox.config.token}),
                "AIRFLOW_CONN_EXACTMAX_DEFAULT": json.dumps({
                    "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http",
                    "login": MAX_USER, "password": MAX_PASSWORD}),
                "SHOPIFY_MAX_MAPPINGS_DIR": str(ROOT / "include" / "mappings")}):
        admin = requests.Session()
        admin.headers["X-Shopify-Access-Token"] = shop.sandbox.config.token
        gateway_admin = requests.Session()
        gateway_admin.auth = (MAX_USER, MAX_PASSWORD)
        store = SyncStore.from_url(f"sqlite:///{tmp / 'sync.sqlite'}")
        seeding = time.perf_counter()
        refunds = _setup(count, shop, admin, gateway.base_url, gateway_admin, store)
        seeding = time.perf_counter() - seeding
        rules = load_refund_rules()

        admin.post(f"{shop.base_url}/_sandbox/bucket", json={"preset": "standard"}, timeout=30).raise_for_status()
        wait_for_full_bucket(admin, shop.base_url)
        time.sleep(1.1)  # the search reads update times to the second: the window ends after the last refund's
        started = time.perf_counter()
        now = utcnow()
        shopify = ShopifyHook()
        capture = capture_refunds(store, shopify, run_id="bench", window=(now - timedelta(days=1), now),
                                  overlap=POLL_OVERLAP)
        captured = time.perf_counter() - started
        export = RefundExport(store, ExactMaxHook(), rules, credit_memo_validator(), run_id="bench",
                              task_id="export_credit_memos", lease=DEFAULT_LEASE).run()
        wall = time.perf_counter() - started
        client = getattr(shopify, "client", None)
        waited = getattr(getattr(client, "stats", None), "waited_seconds", 0.0)

        hook = ExactMaxHook()
        counts = Counter(len(hook.find_credit_memos_by_custpo(rules.custpo_format.format(
            refund_id=gid.rsplit("/", 1)[1]))) for gid in refunds)
        store.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    exported = export.get("exported", 0)
    assert capture.get("staged") == count, capture
    assert counts == Counter({1: count}), f"credit memos per refund: {dict(counts)}; export {export}"
    return [
        Figure(f"refunds e2e: {count} refunds → credit memos (Standard preset), capture (poll) + export",
               count / wall * 60, "refunds/min",
               note=f"wall {wall:.1f} s: capture {captured:.1f} s (Shopify paced waits {waited:.1f} s), export "
                    f"{wall - captured:.1f} s; {exported} exported, export {dict(export)}; exactly one memo per "
                    f"refund checked; setup {seeding:.0f} s not counted"),
    ]


def run(quick: bool) -> list[Figure]:
    return (_fuzz(200 if quick else 600) + _map_and_validate(300 if quick else 2_000)
            + _end_to_end(20 if quick else 100))
