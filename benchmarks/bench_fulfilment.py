"""Fulfilment: MAX shipments → Shopify fulfilments, on the Shopify sandbox's Standard preset (bucket 2,000 points,
restoring 100/s), against the reference MAX gateway, both on loopback.

Setup, not timed: 200 orders (``--quick``: 30) are created in the Shopify sandbox (``POST /_sandbox/orders``, mapped
each-unit SKUs, 1–3 lines), exported to MAX by the orders library pipeline (capture → map → validate → export, as
``bench_orders`` runs it) and each shipped once in MAX (``POST /_sandbox/ship``): every 4th partly (part of its
first line only), every 3rd with 2 tracking numbers. The export runs with the sandbox's bucket raised to the Plus
preset so that setup stays short; the bucket is put back to Standard, full, before anything is measured.

Measured, each from a full Standard bucket:
- ``read_shipments`` + ``fulfil_shipments`` (the bodies of the DAG's first two working tasks): wall time,
  shipments per minute, Shopify points requested and actually spent per shipment (the cost blocks of the client's
  answers), and the ratio of the wall time to the cost-budget bound: the time the points spent need at the restore
  rate beyond the bucket available at the start, (points spent − available at start) / restore rate.
- ``sync_order_status`` (status metafields and tag for every order touched), reported apart, by the same rule.

Exactly once is checked after the run: each shipment fulfilled, with exactly one fulfilment recorded, which Shopify
holds, with the shipment's tracking numbers and quantities; no other fulfilment in Shopify; a second
``fulfil_shipments`` finds nothing to do.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests
from figures import Figure
from harness import environment, wait_for_full_bucket

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = 200
MAX_USER, MAX_PASSWORD = "bench", "bench-password"
RUN_ID = "bench-fulfilment"


class CostTally:
    """Shopify points of every answered request of one client: requested and actually spent, by operation."""

    def __init__(self) -> None:
        self.requested = 0.0
        self.spent = 0.0
        self.operations: Counter[str] = Counter()
        self.requested_by_operation: Counter[str] = Counter()
        self.spent_by_operation: Counter[str] = Counter()
        self.clients: list = []

    def watch(self, client) -> None:  # noqa: ANN001 - a ShopifyClient
        execute = client.execute

        def counted(document, variables=None):  # noqa: ANN001, ANN202 - instrumentation of the benchmark only
            response = execute(document, variables)
            self.requested += float(response.requested_cost or 0)
            self.spent += float(response.actual_cost or 0)
            self.operations[response.operation] += 1
            self.requested_by_operation[response.operation] += float(response.requested_cost or 0)
            self.spent_by_operation[response.operation] += float(response.actual_cost or 0)
            return response

        client.execute = counted
        self.clients.append(client)

    def factory(self):  # noqa: ANN201 - the api_factory the flow calls: the DAG's, a ShopifyHook, counted
        from shopify_max.shopify.hook import ShopifyHook

        hook = ShopifyHook()
        self.watch(hook.client)
        return hook

    def per_request(self) -> str:
        """Mean points requested / spent per request, by operation."""
        return ", ".join(f"{op} {self.requested_by_operation[op] / n:.0f}/{self.spent_by_operation[op] / n:.0f}"
                         for op, n in sorted(self.operations.items()))

    @property
    def throttled(self) -> int:
        return sum(c.stats.throttled_retries for c in self.clients)

    @property
    def waited(self) -> float:
        return sum(c.stats.waited_seconds for c in self.clients)


def _order_lines(number: int) -> list[dict]:
    """1–3 lines of mapped each-unit SKUs (no case variant, none unmapped); a partly shipped order has 2+ lines and
    3 of its first."""
    from sandboxes import catalog

    indexes = [i for i in range(1, PRODUCTS + 1) if not catalog.is_unmapped(i) and not catalog.has_case_variant(i)]
    count = max(2, 1 + number % 3) if _partial(number) else 1 + number % 3
    lines = [{"sku": f"SKU-{indexes[(number * 7 + position * 13) % len(indexes)]:05d}",
              "quantity": 1 + (number + position) % 3} for position in range(count)]
    if _partial(number):
        lines[0]["quantity"] = 3
    return lines


def _partial(number: int) -> bool:
    return number % 4 == 0


def _tracking_numbers(number: int) -> list[str]:
    return [f"1ZBENCH{number:06d}{package}" for package in range(2 if number % 3 == 0 else 1)]


def _setup(count: int, shop, admin: requests.Session, gateway_url: str, gateway_admin: requests.Session,  # noqa: ANN001
           store) -> dict:  # noqa: ANN001
    """Orders in Shopify, exported to MAX, each shipped once; what each shipment must become in Shopify."""
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
    pipeline.capture_orders(store, api, run_id="bench-setup", window=(now - timedelta(days=1), now + timedelta(
        minutes=1)))
    pipeline.map_staged_orders(store, load_mappings(), run_id="bench-setup")
    pipeline.validate_staged_orders(store, reference_codes_from_max(), run_id="bench-setup")
    exported = pipeline.export_staged_orders(store, ExactMaxHook(), run_id="bench-setup").get("exported", 0)
    assert exported == count, f"{exported} of {count} orders exported"

    expected: dict[str, dict] = {}  # shipment id -> what Shopify must hold for it
    for number, order in enumerate(created):
        ordnum = store.max_key_for("order", order["id"])
        rows = [row for row in store.order_line_map(ordnum) if row.line_kind != "shipping"]
        numbers = _tracking_numbers(number)
        body = {"ORDNUM": ordnum, "SHPVIA": "UP", "carrier": "UPS", "tracking_number": numbers[0],
                "tracking": [{"tracking_number": n, "carrier": "UPS"} for n in numbers[1:]]}
        if _partial(number):
            first = rows[0]
            body["lines"] = [{"LINNUM": first.linnum, "DELNUM": first.delnum, "quantity": first.max_quantity - 1}]
            quantities = {first.line_item_gid: (first.max_quantity - 1) // first.uom_factor}
        else:
            quantities = {row.line_item_gid: row.max_quantity // row.uom_factor for row in rows}
        response = gateway_admin.post(f"{gateway_url}/_sandbox/ship", json=body, timeout=30)
        response.raise_for_status()
        expected[str(response.json()["shipment_id"])] = {"order_gid": order["id"], "ordnum": ordnum,
                                                         "numbers": set(numbers), "quantities": quantities}
    return expected


def _check_exactly_once(shop, store, expected: dict[str, dict]) -> int:  # noqa: ANN001
    """Each shipment → exactly one fulfilment, the one Shopify holds; nothing else in Shopify. Returns partials."""
    from shopify_max.sync_store.states import ShipmentStatus

    rows = store.shipments(expected)
    assert set(rows) == set(expected), f"{len(set(expected) - set(rows))} shipments not staged"
    orders = shop.sandbox.store.orders
    recorded: Counter[str] = Counter()
    partial = 0
    for shipment_id, wanted in expected.items():
        row = rows[shipment_id]
        assert row.status == ShipmentStatus.FULFILLED, (shipment_id, row.status, row.reason)
        assert len(row.fulfillments) == 1, (shipment_id, row.fulfillments)
        [gid] = row.fulfillments.values()
        recorded[gid] += 1
        in_shopify = {f["id"]: f for f in orders[wanted["order_gid"]]["fulfillments"]}
        assert list(in_shopify) == [gid], (shipment_id, gid, list(in_shopify))
        fulfilment = in_shopify[gid]
        assert {info["number"] for info in fulfilment["trackingInfo"]} == wanted["numbers"], shipment_id
        shipped = Counter()
        for line in fulfilment["fulfillmentLineItems"]:
            shipped[line["lineItem"]["id"]] += line["quantity"]
        assert dict(shipped) == wanted["quantities"], (shipment_id, dict(shipped), wanted["quantities"])
        partial += orders[wanted["order_gid"]]["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert all(n == 1 for n in recorded.values()), "a fulfilment recorded for two shipments"
    in_shop = sum(len(order["fulfillments"]) for order in orders.values())
    assert in_shop == len(expected), f"{in_shop} fulfilments in Shopify for {len(expected)} shipments"
    return partial


def _fulfilment(count: int) -> list[Figure]:
    from max_gateway.app import GatewayAuth
    from sandboxes.exactmax.server import GatewayConfig
    from sandboxes.exactmax.server import run_in_thread as run_gateway
    from sandboxes.shopify.app import SandboxConfig
    from sandboxes.shopify.app import run_in_thread as run_shop
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.shipments import fulfil_shipments, read_shipments
    from shopify_max.fulfilment.status import sync_order_status
    from shopify_max.sync_store import SyncStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-fulfilment-"))
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
        expected = _setup(count, shop, admin, gateway.base_url, gateway_admin, store)
        seeding = time.perf_counter() - seeding
        rules = load_fulfilment_rules()

        # Back to the Standard preset, full; then the two steps, timed together and each.
        admin.post(f"{shop.base_url}/_sandbox/bucket", json={"preset": "standard"}, timeout=30).raise_for_status()
        bucket = wait_for_full_bucket(admin, shop.base_url)
        available, rate = bucket["currentlyAvailable"], bucket["restoreRate"]
        tally = CostTally()
        started = time.perf_counter()
        read = read_shipments(store, ExactMaxHook(), run_id=RUN_ID)
        read_seconds = time.perf_counter() - started
        fulfilled = fulfil_shipments(store, tally.factory, rules, run_id=RUN_ID, task_id="create_shopify_fulfilments")
        wall = time.perf_counter() - started
        shipments = read["new"]
        assert shipments == len(expected) and fulfilled.get("created") == shipments, (read, fulfilled)
        partial = _check_exactly_once(shop, store, expected)
        again = fulfil_shipments(store, tally.factory, rules, run_id=RUN_ID + "-again")
        assert again["orders"] == 0 and not again.get("created"), again
        bound = max(0.0, tally.spent - available) / rate

        bucket = wait_for_full_bucket(admin, shop.base_url)
        status_tally = CostTally()
        status_started = time.perf_counter()
        status = sync_order_status(store, ExactMaxHook(), status_tally.factory, rules, run_id=RUN_ID,
                                   task_id="sync_order_status_and_invoices")
        status_wall = time.perf_counter() - status_started
        assert status.get("statuses_pushed") == count, status
        status_bound = max(0.0, status_tally.spent - bucket["currentlyAvailable"]) / bucket["restoreRate"]
        store.dispose()
    shutil.rmtree(tmp, ignore_errors=True)

    operations = ", ".join(f"{op} {n}" for op, n in sorted(tally.operations.items()))
    status_operations = ", ".join(f"{op} {n}" for op, n in sorted(status_tally.operations.items()))
    two = sum(len(e["numbers"]) == 2 for e in expected.values())
    return [
        Figure(f"fulfilment: {shipments} MAX shipments → Shopify fulfilments (Standard preset), read + fulfil",
               wall, "s", ratio=wall / bound if bound else None,
               note=f"ratio to the cost-budget bound {bound:.1f} s ((points spent {tally.spent:.0f} − {available:.0f} "
                    f"available at the start) / {rate:.0f} per s); read {read_seconds:.1f} s, fulfil "
                    f"{wall - read_seconds:.1f} s; {partial} partial, {two} with 2 tracking numbers; exactly once "
                    f"checked; setup {seeding:.0f} s not counted"),
        Figure("fulfilment: shipments per minute (read + fulfil)", shipments / wall * 60, "shipments/min",
               note=f"{fulfilled.get('orders', 0)} orders; requests: {operations}; throttled retries "
                    f"{tally.throttled}, paced waits {tally.waited:.1f} s"),
        Figure("fulfilment: Shopify points requested per shipment", tally.requested / shipments, "points",
               note=f"{tally.requested:.0f} points requested in all; per request, requested/spent: "
                    f"{tally.per_request()} (a request runs only when its requested points are in the bucket)"),
        Figure("fulfilment: Shopify points actually spent per shipment", tally.spent / shipments, "points",
               ratio=tally.spent / tally.requested if tally.requested else None,
               note=f"{tally.spent:.0f} points spent in all; ratio = spent / requested"),
        Figure(f"fulfilment: order status sync, {status['checked']} orders (metafields + tag)", status_wall, "s",
               ratio=status_wall / status_bound if status_bound else None,
               note=f"ratio to the cost-budget bound {status_bound:.1f} s; {status_tally.spent / count:.1f} points "
                    f"spent ({status_tally.requested / count:.1f} requested) per order; "
                    f"{count / status_wall * 60:.0f} orders/min; requests: {status_operations}; throttled retries "
                    f"{status_tally.throttled}"),
    ]


def run(quick: bool) -> list[Figure]:
    return _fulfilment(30 if quick else 200)
