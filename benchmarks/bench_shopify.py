"""Shopify client against the sandbox over loopback HTTP.

Figures:
- hook overhead per request: the median request time through ``ShopifyHook`` minus a bare ``requests.post`` of
  the same document (pacing, retry classification, logging, JSON handling);
- sustained throughput as a ratio of the cost budget: points per second the paced client gets through a
  drained bucket, divided by the sandbox's restore rate (1.00 = the whole budget, nothing wasted, no THROTTLED);
- bulk read of every inventory level (rows per second), streamed from the JSONL result.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time

import requests
from figures import Figure

from sandboxes.shopify.app import DEFAULT_TOKEN, SandboxConfig, run_in_thread
from sandboxes.shopify.seed import products_for_levels
from shopify_max.shopify import documents
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.client import ShopifyClient
from shopify_max.shopify.models import InventoryQuantity


def _overhead(running, repeats: int) -> list[Figure]:
    """Through the Airflow hook (connection from AIRFLOW_CONN_SHOPIFY_DEFAULT), as a DAG task would call it."""
    from shopify_max.shopify.hook import ShopifyHook

    os.environ["AIRFLOW_CONN_SHOPIFY_DEFAULT"] = json.dumps({
        "conn_type": "http", "host": running.host, "port": running.port, "schema": "http",
        "password": DEFAULT_TOKEN, "extra": {"api_version": "2026-07"}})
    client = ShopifyHook().client
    session = requests.Session()
    body = {"query": documents.SHOP.text, "variables": {}, "operationName": documents.SHOP.operation_name}
    headers = {"X-Shopify-Access-Token": DEFAULT_TOKEN}
    for _ in range(20):  # warm the document cache and connections
        client.execute(documents.SHOP)
        session.post(running.graphql_url, json=body, headers=headers).json()
    raw_samples, hook_samples = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        started = time.perf_counter()
        session.post(running.graphql_url, json=body, headers=headers).json()
        raw_samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.execute(documents.SHOP)
        hook_samples.append(time.perf_counter() - started)
    raw, hooked = statistics.median(raw_samples), statistics.median(hook_samples)
    overhead = statistics.median(h - r for h, r in zip(hook_samples, raw_samples, strict=True))
    return [
        Figure("shopify: bare HTTP request (ShopInfo, median)", raw * 1000, "ms",
               note=f"{repeats} requests, loopback"),
        Figure("shopify: hook overhead per request (median)", overhead * 1000, "ms",
               ratio=hooked / raw if raw else None,
               note="median of paired differences; ratio = hook request time / bare HTTP time; "
                    "per-request log line at WARNING level"),
    ]


def _sustained(running, plan_rate: float, seconds: float) -> Figure:
    admin = requests.Session()
    admin.headers["X-Shopify-Access-Token"] = DEFAULT_TOKEN
    base = running.base_url
    client = ShopifyClient(base, DEFAULT_TOKEN)
    api = ShopifyAdminApi(client)
    levels = api.inventory_levels([item["id"] for item in list(running.sandbox.store.items.values())[:40]])
    bucket = plan_rate * 20  # the observed 20 × restore rate (SHOPIFY.md §2)
    throttled_before = running.sandbox.stats.get("throttled", 0)
    admin.post(f"{base}/_sandbox/bucket", json={"bucket_size": bucket, "restore_rate": plan_rate,
                                                 "currently_available": 0}).raise_for_status()
    started = time.perf_counter()
    points = 0.0
    n = 0
    while time.perf_counter() - started < seconds:
        level = levels[n % len(levels)]
        result = api.set_available_quantities(
            [InventoryQuantity(inventory_item_id=level.inventory_item_id, location_id=level.location_id,
                               quantity=n % 97, change_from_quantity=None)], "correction",
            idempotency_key=f"bench-{plan_rate}-{n}")
        assert result.ok, result.user_errors
        points += 10
        n += 1
    elapsed = time.perf_counter() - started
    throttled = running.sandbox.stats.get("throttled", 0) - throttled_before
    rate = points / elapsed
    return Figure(f"shopify: sustained throughput, restore {plan_rate:g}/s", rate, "points/s",
                  ratio=rate / plan_rate,
                  note=f"ratio = throughput / restore rate; {n} mutations in {elapsed:.1f} s; "
                       f"{throttled} THROTTLED answers (retried, none surfaced)")


def _bulk(levels_wanted: int) -> Figure:
    products = products_for_levels(levels_wanted)
    with run_in_thread(SandboxConfig(products=products, orders=5, plan="plus", bulk_delay_seconds=0)) as running:
        client = ShopifyClient(running.base_url, DEFAULT_TOKEN)
        runner = BulkOperationRunner(client, poll_interval=0.2, max_poll_interval=1.0)
        started = time.perf_counter()
        count = sum(1 for _ in ShopifyAdminApi(client).bulk_inventory_levels(runner))
        elapsed = time.perf_counter() - started
    return Figure(f"shopify: bulk read, {count:,} inventory levels", count / elapsed, "levels/s",
                  note=f"{elapsed:.1f} s start-to-last-row incl. sandbox execution and JSONL streaming")


def run(quick: bool) -> list[Figure]:
    logging.getLogger("shopify_max.shopify").setLevel(logging.WARNING)
    figures: list[Figure] = []
    with run_in_thread(SandboxConfig(products=40, orders=10, plan="plus")) as running:
        figures += _overhead(running, 50 if quick else 300)
        figures.append(_sustained(running, 100.0, 3.0 if quick else 20.0))  # Standard
        figures.append(_sustained(running, 1000.0, 2.0 if quick else 10.0))  # Plus
    figures.append(_bulk(1_000 if quick else 100_000))
    return figures
