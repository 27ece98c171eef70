"""Inventory at scale, on the Shopify sandbox's Standard preset (bucket 2,000 points, restoring 100/s).

Both sandboxes run in their own processes on loopback, seeded with the same catalogue (about 100,000 SKU ×
location levels). The flow runs through the same task bodies the ``inventory_to_shopify`` DAG calls, with
its two read steps in parallel as in the DAG; the sync store is SQLite (the embedded default).

- **Full reconcile** of every level: wall time, against the lower bound the restore rate allows for the
  points the run spent: (points − points available at the start) / restore rate.
- **Delta with 1% changed** in MAX: pushes only that 1%.
- **Baseline, one mutation per SKU:** a sample of SKUs pushed one mutation each (after the bucket's burst,
  so the sample shows the sustained rate), projected to every SKU of the catalogue by the same budget rule.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from figures import Figure
from harness import serve_process, wait_for_full_bucket

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-shopify-token"
MAX_TOKEN = "bench-max-token-0123456789"


def _run_flow(mode: str, run_id: str) -> tuple[dict, dict[str, float]]:
    """The DAG's task bodies in its order, the two read steps in parallel; wall time per phase."""
    from shopify_max.airflow_glue import inventory_tasks

    phases: dict[str, float] = {}
    started = time.perf_counter()
    decision = inventory_tasks.choose_sync_mode(mode, 2, run_id)

    def timed(name, action):  # noqa: ANN001, ANN202
        begun = time.perf_counter()
        try:
            return action()
        finally:
            phases[name] = time.perf_counter() - begun

    with ThreadPoolExecutor(2) as pool:
        targets_future = pool.submit(timed, "max read + targets", lambda: inventory_tasks.compute_available_quantities(
            run_id))
        shopify_future = pool.submit(timed, "shopify read", lambda: inventory_tasks.read_shopify_inventory(
            decision["mode"], run_id))
        targets, shopify = targets_future.result(), shopify_future.result()
    pushed = timed("push", lambda: inventory_tasks.push_changed_quantities(decision["mode"], run_id, "push", None))
    summary = inventory_tasks.summarise(decision, targets, shopify, pushed)
    phases["total"] = time.perf_counter() - started
    return {"decision": decision, "targets": targets, "shopify": shopify, "pushed": pushed, "summary": summary}, phases


def _change_max_stock(gateway: str, parts: list[str]) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {MAX_TOKEN}"
    for part in parts:
        session.post(f"{gateway}/_sandbox/stock", json={"PRTNUM": part, "STK": "MAIN", "quantity": 7, "kind": "R"},
                     timeout=30).raise_for_status()


def _baseline(sample_skus: int) -> dict[str, float]:
    """One mutation per SKU (all its managed locations in it), for a sample of SKUs, through the same senders."""
    from shopify_max.inventory.push import PushSettings, send_batches
    from shopify_max.shopify.api import ShopifyAdminApi
    from shopify_max.shopify.hook import ShopifyHook
    from shopify_max.shopify.models import InventoryQuantity
    from shopify_max.sync_store import SyncStore

    store = SyncStore.from_url(os.environ["BENCH_SYNC_STORE_URL"])
    shadow = store.shadow_quantities()
    by_item: dict[str, list[InventoryQuantity]] = {}
    for (item, location), quantity in sorted(shadow.items()):
        by_item.setdefault(item, []).append(InventoryQuantity(inventory_item_id=item, location_id=location,
                                                              quantity=quantity + 1, change_from_quantity=quantity))
    per_sku = list(by_item.values())
    client = ShopifyHook().client
    started = time.perf_counter()
    totals, failures = send_batches(store, lambda: ShopifyAdminApi(client.clone()), per_sku[:sample_skus],
                                    PushSettings(), run_id="bench-baseline", task_id=None)
    wall = time.perf_counter() - started
    store.dispose()
    assert not failures, failures[:3]
    return {"wall": wall, "sample": min(sample_skus, len(per_sku)), "skus": len(per_sku),
            "levels": len(shadow), "mutations": totals["mutations"]}


def _managed_levels(products: int) -> int:
    """SKU × location levels the flow manages in the sandbox catalogue of ``products`` products: mapped SKUs
    with one Shopify carrier, at the two locations fed by MAX stockrooms, where stocked."""
    from sandboxes import catalog
    from sandboxes.shopify import seed

    levels = 0
    for index in range(1, products + 1):
        if catalog.is_unmapped(index):
            continue
        levels += 0 if seed._has_duplicate_sku(index) else 2 - seed._not_stocked_at_store(index)
        levels += 2 if catalog.has_case_variant(index) else 0
    return levels


def _products_for_managed_levels(wanted: int) -> int:
    low, high = 1, wanted
    while low < high:
        middle = (low + high) // 2
        if _managed_levels(middle) < wanted:
            low = middle + 1
        else:
            high = middle
    return low


def run(quick: bool) -> list[Figure]:
    sys.path.insert(0, str(ROOT / "plugins"))
    from sandboxes import catalog
    from sandboxes.shopify.seed import _has_duplicate_sku as has_duplicate_sku
    from shopify_max.sync_store import SyncStore

    products = _products_for_managed_levels(4_000 if quick else 100_000)
    tmp = Path(tempfile.mkdtemp(prefix="bench-inventory-"))
    mappings = tmp / "mappings"
    shutil.copytree(ROOT / "include" / "mappings", mappings)
    catalog.write_sku_mapping(mappings / "sku_to_part.csv", products)
    env = {**os.environ, "EXACTMAX_GATEWAY_TOKEN": MAX_TOKEN}
    figures: list[Figure] = []
    seeding = time.perf_counter()
    with serve_process([sys.executable, "-m", "sandboxes.shopify", "--products", str(products), "--orders", "2", "--plan",
                   "standard", "--token", TOKEN], "/_sandbox/health", env, tmp / "shopify.log") as shop_port, \
            serve_process([sys.executable, "-m", "sandboxes.exactmax", "--products", str(products), "--database-url",
                      f"sqlite:///{tmp / 'max.sqlite'}"], "/openapi.yaml", env, tmp / "max.log") as max_port:
        seeding = time.perf_counter() - seeding
        shop, gateway = f"http://127.0.0.1:{shop_port}", f"http://127.0.0.1:{max_port}"
        store_url = f"sqlite:///{tmp / 'sync.sqlite'}"
        os.environ.update({
            "AIRFLOW_CONN_SHOPIFY_DEFAULT": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": shop_port,
                                                        "schema": "http", "password": TOKEN}),
            "AIRFLOW_CONN_EXACTMAX_DEFAULT": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": max_port,
                                                         "schema": "http", "extra": {"token": MAX_TOKEN,
                                                                                     "timeout": 120}}),
            "AIRFLOW_CONN_SYNC_STORE_DEFAULT": json.dumps({"conn_type": "sqlite",
                                                           "extra": {"sqlalchemy_url": store_url}}),
            "SHOPIFY_MAX_MAPPINGS_DIR": str(mappings), "BENCH_SYNC_STORE_URL": store_url,
        })
        SyncStore.from_url(store_url).dispose()  # migrate before timing
        admin = requests.Session()
        admin.headers["X-Shopify-Access-Token"] = TOKEN
        levels_in_shop = admin.get(f"{shop}/_sandbox/state", timeout=60).json()["inventory_levels"]

        wait_for_full_bucket(admin, shop)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        full, phases = _run_flow("full", "bench-full")
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        pushed = full["pushed"]
        bound = pushed["lower_bound_seconds"] or 0.0
        figures.append(Figure(
            f"inventory full reconcile: {levels_in_shop:,} levels in Shopify, {pushed['matched']:,} managed",
            phases["total"], "s", ratio=phases["total"] / bound if bound else None,
            note=f"ratio to the restore-rate lower bound {bound:.1f} s ({pushed['points_spent']:.0f} points, "
                 f"{pushed['mutations']} mutations of ≤ 250, {pushed['pushed']:,} levels corrected); phases: MAX "
                 f"read {phases['max read + targets']:.1f} s ∥ Shopify read {phases['shopify read']:.1f} s (bulk "
                 f"operation {full['shopify']['bulk_operation_seconds']:.1f} s, then streaming and storing "
                 f"{full['shopify']['stream_and_store_seconds']:.1f} s), push {phases['push']:.1f} s; seeding "
                 f"{seeding:.0f} s not counted"))
        figures.append(Figure("inventory full reconcile: sending the batches, against the lower bound",
                              pushed["push_seconds"], "s", ratio=pushed["ratio_to_lower_bound"],
                              note=f"the push task {phases['push']:.1f} s = planning {pushed['planning_seconds']:.1f} s "
                                   f"(targets, shadow, plan of {pushed['matched']:,}) + sending; throttled retries "
                                   f"{pushed['throttled_retries']}, paced waits {pushed['waited_seconds']:.1f} s over "
                                   f"{pushed['senders']} senders"))

        figures.append(Figure("inventory full reconcile: peak memory of the process running the flow", rss_after, "MiB",
                              note=f"max RSS, {rss_before:.0f} MiB before the run (Python, Airflow SDK, the library); "
                                   "the sandboxes run in their own processes"))

        managed = pushed["matched"]
        wanted_changes = max(1, managed // 100)
        parts = [f"PRT-{index:05d}" for index in range(1, products + 1)  # one managed level each
                 if not catalog.is_unmapped(index) and not catalog.has_case_variant(index)
                 and not has_duplicate_sku(index)][:wanted_changes]
        _change_max_stock(gateway, parts)
        wait_for_full_bucket(admin, shop)
        delta, delta_phases = _run_flow("delta", "bench-delta")
        delta_pushed = delta["pushed"]
        figures.append(Figure(
            f"inventory delta, {len(parts):,} of {managed:,} levels changed in MAX ({len(parts) / managed:.1%})",
            delta_phases["total"], "s", ratio=delta_pushed["pushed"] / len(parts),
            note=f"ratio = levels pushed / levels changed ({delta_pushed['pushed']:,} pushed in "
                 f"{delta_pushed['mutations']} mutations, push {delta_phases['push']:.1f} s; MAX read "
                 f"{delta_phases['max read + targets']:.1f} s)"))

        wait_for_full_bucket(admin, shop)
        sample = 60 if quick else 500
        baseline = _baseline(sample)
        bucket = admin.get(f"{shop}/_sandbox/state", timeout=60).json()["bucket"]
        size, rate = bucket["maximumAvailable"], bucket["restoreRate"]
        # Each mutation costs 10 points whatever it carries: the budget bounds one-per-SKU from below, and the
        # sample (past the bucket's burst in a full run) shows the senders keep up with that bound.
        sample_bound = max(0.0, (baseline["mutations"] * 10 - size) / rate)
        projected = max(baseline["wall"] * baseline["skus"] / baseline["sample"], (baseline["skus"] * 10 - size) / rate)
        figures.append(Figure(
            f"inventory baseline, one mutation per SKU: {baseline['skus']:,} SKUs ({baseline['levels']:,} levels)",
            projected, "s", ratio=projected / phases["total"],
            note=f"projected: a sample of {baseline['sample']} SKUs took {baseline['wall']:.1f} s (its budget bound "
                 f"{sample_bound:.1f} s); ratio = baseline / full reconcile"))
    shutil.rmtree(tmp, ignore_errors=True)
    return figures
