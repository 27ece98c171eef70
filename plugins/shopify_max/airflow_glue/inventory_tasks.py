"""Bodies of the ``inventory_to_shopify`` tasks: connections in, the library's step, a small summary out.

Business rules live in ``shopify_max.inventory``. Each returns a JSON-safe dict for XCom; the large data
(targets, the shadow, Shopify's SKU → item table) stays in the sync store.

A dry run (param ``dry_run``; :func:`inventory_dry_run` for the go-live check) makes the full comparison in
``compute_available_quantities`` and writes nothing: the other tasks say so and pass, no watermark moves.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import fails_at_once_when_retrying_cannot_help
from shopify_max.airflow_glue.variables import whole_number_variable
from shopify_max.clock import utcnow

if TYPE_CHECKING:
    from shopify_max.dry_run import DryRunReport

log = logging.getLogger(__name__)

RECONCILE_HOUR_VARIABLE = "inventory_full_reconcile_hour_utc"
DRY_RUN_CHANGES_LOGGED = 20  # the largest swings, one log line each (the report's table has them all)
PROBLEM_IDS_LISTED = 50  # error-queue ids per kind of problem in the run summary (the error queue has them all)


@fails_at_once_when_retrying_cannot_help
def reconcile_hour_utc() -> int:
    """The hour (UTC) the nightly full reconcile becomes due: Variable ``inventory_full_reconcile_hour_utc``."""
    from shopify_max.inventory.mode import DEFAULT_RECONCILE_HOUR_UTC

    return whole_number_variable(RECONCILE_HOUR_VARIABLE, DEFAULT_RECONCILE_HOUR_UTC, 0, 23)


@fails_at_once_when_retrying_cannot_help
def choose_sync_mode(requested: str, reconcile_hour_utc: int, run_id: str) -> dict[str, str]:
    from shopify_max.inventory.mode import FULL_RECONCILE_WATERMARK, choose_mode

    with open_sync_store() as store:
        last = store.get_watermark(FULL_RECONCILE_WATERMARK)
    decision = choose_mode(requested, utcnow(), datetime.fromisoformat(last) if last else None, reconcile_hour_utc)
    log.info("run %s: %s (%s)", run_id, decision["mode"], decision["reason"])
    return decision


@fails_at_once_when_retrying_cannot_help
def inventory_dry_run() -> DryRunReport:
    """The full comparison, MAX stock against Shopify's levels now, under the dry-run guard: nothing is sent and
    nothing is stored (the sync store is not even opened)."""
    from shopify_max.dry_run import dry_run_guard
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.inventory.dry_run import dry_run_inventory
    from shopify_max.inventory.rules import load_inventory_rules
    from shopify_max.mappings import load_mappings
    from shopify_max.shopify.hook import ShopifyHook

    rules = load_inventory_rules()
    parts_by_sku = load_mappings().parts_by_sku
    with dry_run_guard():
        report = dry_run_inventory(ExactMaxHook().iter_stock(), parts_by_sku, rules, ShopifyHook())
    log.info("inventory dry run: read %s; would write %s; would fail %d %s", report.read, report.would_write,
             len(report.would_fail), {reason: group["count"] for reason, group in report.failures_by_reason().items()})
    for change in report.tables["inventory_changes"][:DRY_RUN_CHANGES_LOGGED]:
        log.info("would set %(sku)s @ %(location)s: %(shopify_quantity)s -> %(target)s (%(delta)+d)", change)
    return report


def nothing_written(task: str, by: str = "compute_available_quantities") -> dict[str, Any]:
    """What a write step of a dry run returns: it did nothing, and says where the dry run's figures are."""
    log.info("dry run: %s sends nothing to Shopify and stores nothing; the comparison is in %s", task, by)
    return {"dry_run": True, "skipped": f"dry run: nothing sent or stored; see {by}"}


@fails_at_once_when_retrying_cannot_help
def compute_available_quantities(run_id: str, dry_run: bool = False) -> dict[str, Any]:
    if dry_run:
        return inventory_dry_run().as_xcom()
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.inventory.rules import load_inventory_rules
    from shopify_max.inventory.targets import compute_targets, mapped_stockrooms
    from shopify_max.mappings import load_mappings

    rules = load_inventory_rules()
    parts_by_sku = load_mappings().parts_by_sku
    stock = ExactMaxHook().iter_stock(stockrooms=mapped_stockrooms(rules))
    with open_sync_store() as store:
        return compute_targets(store, stock, parts_by_sku, rules, run_id=run_id)


@fails_at_once_when_retrying_cannot_help
def read_shopify_inventory(mode: str, run_id: str, dry_run: bool = False) -> dict[str, Any]:
    if dry_run:
        return nothing_written("read_shopify_inventory")
    from shopify_max.inventory.rules import load_inventory_rules
    from shopify_max.inventory.shopify_side import read_shopify_inventory as read
    from shopify_max.mappings import load_mappings
    from shopify_max.shopify.hook import ShopifyHook

    rules = load_inventory_rules()
    with open_sync_store() as store:
        return read(store, ShopifyHook(), load_mappings().parts_by_sku, rules, mode=mode, run_id=run_id)


@fails_at_once_when_retrying_cannot_help
def push_changed_quantities(mode: str, run_id: str, task_id: str, batch_size: int | None,
                            dry_run: bool = False) -> dict[str, Any]:
    if dry_run:
        return nothing_written("push_changed_quantities")
    from shopify_max.inventory.mode import FULL_RECONCILE_WATERMARK
    from shopify_max.inventory.push import PushSettings, push_quantities
    from shopify_max.inventory.rules import load_inventory_rules
    from shopify_max.shopify.api import ShopifyAdminApi
    from shopify_max.shopify.hook import ShopifyHook

    rules = load_inventory_rules()
    settings = PushSettings(reason=rules.push_reason, batch_size=batch_size or rules.batch_size,
                            senders=rules.senders, spare_points=rules.spare_points)
    client = ShopifyHook().client  # each sender gets its own session; all share this client's cost pacer
    with open_sync_store() as store:
        summary = push_quantities(store, lambda: ShopifyAdminApi(client.clone()), run_id=run_id, task_id=task_id,
                                  settings=settings)
        if mode == "full":
            store.set_watermark(FULL_RECONCILE_WATERMARK, utcnow().isoformat(), run_id=run_id)
    return summary


def problem_summary(section: dict[str, Any]) -> dict[str, Any]:
    """One kind of problem as the run summary shows it: how many, and the error-queue items of the first ones
    (``inventory.problems.LISTED`` record keys each, at most ``PROBLEM_IDS_LISTED``; the error queue has all)."""
    ids = list(section.get("error_queue_ids") or [])[:PROBLEM_IDS_LISTED]
    keys = list(section.get("first") or [])[:PROBLEM_IDS_LISTED]
    return {"count": section["count"], "error_queue_ids": ids, "first": keys,
            "not_listed": max(section["count"] - len(ids), 0)}


@fails_at_once_when_retrying_cannot_help
def summarise(decision: dict[str, Any], targets: dict[str, Any], shopify: dict[str, Any],
              pushed: dict[str, Any]) -> dict[str, Any]:
    """One dict an engineer can read in the XCom tab: what was computed, found, pushed, and what is wrong (each
    kind of problem with its count and its error-queue items). A dry run's: the report's XCom."""
    if targets.get("dry_run"):
        log.info("inventory dry run (%s would have run): would write %s; would fail %d: %s; nothing was sent or "
                 "stored", decision["mode"], targets["would_write"], targets["would_fail"],
                 {reason: group["count"] for reason, group in targets["would_fail_by_reason"].items()})
        return {**targets, "mode": decision["mode"], "why": decision["reason"]}
    problems = {name: problem_summary(section) for name, section in (
        ("unmapped_locations", shopify["unmapped_locations"]), ("unmapped_skus", shopify["unmapped_sku"]),
        ("skus_not_in_shopify", shopify["sku_not_in_shopify"]), ("duplicate_skus", shopify["duplicate_sku"]),
        ("parts_without_stock", targets["parts_without_stock"]), ("not_stocked", pushed["not_stocked"]),
        ("push_errors", pushed["push_errors"]))}
    summary = {
        "mode": decision["mode"], "why": decision["reason"],
        "targets": targets["targets"], "matched": pushed["matched"], "unchanged": pushed["unchanged"],
        "pushed": pushed["pushed"], "found_already_right": pushed["found_already_right"],
        "failed": pushed["failed"], "problems": problems,
        "push_seconds": pushed["push_seconds"], "lower_bound_seconds": pushed["lower_bound_seconds"],
        "ratio_to_lower_bound": pushed["ratio_to_lower_bound"],
    }
    log.info("inventory %(mode)s: %(targets)d targets, %(matched)d matched, %(unchanged)d unchanged, %(pushed)d "
             "pushed, %(found_already_right)d already right, %(failed)d failed", summary)
    for name, problem in problems.items():
        if problem["count"]:
            log.info("inventory problem %s: %d, error queue items %s%s", name, problem["count"],
                     problem["error_queue_ids"], f" and {problem['not_listed']} more" if problem["not_listed"] else "")
    return summary
