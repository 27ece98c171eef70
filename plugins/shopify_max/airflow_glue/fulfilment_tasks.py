"""Bodies of the ``fulfilment_to_shopify`` tasks: connections in, the library's step, a small summary out.

Business rules live in ``shopify_max.fulfilment``. Each returns a JSON-safe dict for XCom; shipments, invoices and
what Shopify was told stay in the sync store.

A dry run (param ``dry_run``; :func:`fulfilment_dry_run` for the go-live check) is made by ``read_max_shipments``;
the writing tasks send and store nothing and say so; no cursor moves.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import InvalidParamsError, fails_at_once_when_retrying_cannot_help
from shopify_max.airflow_glue.variables import seconds_variable

if TYPE_CHECKING:
    from shopify_max.dry_run import DryRunReport

log = logging.getLogger(__name__)

# Airflow Variable (optional): how long one attempt may hold a MAX order's Shopify writes before another may take
# them over.
WRITE_LEASE_VARIABLE = "fulfilment_write_lease_seconds"


def write_lease():  # noqa: ANN201 - timedelta
    from shopify_max.fulfilment.shipments import DEFAULT_LEASE

    return seconds_variable(WRITE_LEASE_VARIABLE, DEFAULT_LEASE)


def shopify_api():  # noqa: ANN201 - ShopifyAdminApi
    from shopify_max.shopify.hook import ShopifyHook

    return ShopifyHook()


def since_shipment_param(since_shipment: Any) -> str | None:
    """The ``since_shipment`` param: a MAX shipment id, or None for the stored cursor."""
    if since_shipment in (None, ""):
        return None
    if not str(since_shipment).strip().isdigit():
        raise InvalidParamsError(f"since_shipment {since_shipment!r}: a MAX shipment id (a whole number), or empty "
                                 "for the stored cursor")
    return str(since_shipment).strip()


@fails_at_once_when_retrying_cannot_help
def read_max_shipments(run_id: str, since_shipment: Any = None, dry_run: bool = False) -> dict[str, Any]:
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.fulfilment.shipments import read_shipments

    since = since_shipment_param(since_shipment)
    if dry_run:
        return fulfilment_dry_run(int(since) if since else None).as_xcom()
    with open_sync_store() as store:
        return read_shipments(store, ExactMaxHook(), run_id=run_id, since=since)


@fails_at_once_when_retrying_cannot_help
def fulfilment_dry_run(since_shipment: int | None = None) -> DryRunReport:
    """What a run would send to Shopify now (``since_shipment``: from that MAX shipment id, else the stored cursor),
    under the dry-run guard: MAX, Shopify and the sync store are read, nothing is sent or stored."""
    from shopify_max.dry_run import dry_run_guard
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.fulfilment.dry_run import dry_run_fulfilment
    from shopify_max.fulfilment.rules import load_fulfilment_rules

    since = since_shipment_param(since_shipment)
    rules = load_fulfilment_rules()
    with open_sync_store() as store, dry_run_guard():
        report = dry_run_fulfilment(store, ExactMaxHook(), shopify_api(), rules, since=since,
                                    line_map_source=line_map_source())
    log_dry_run({**report.as_xcom(), "would_fail_by_reason": report.failures_by_reason()})  # with messages
    return report


def log_dry_run(report: dict[str, Any]) -> None:
    log.info("fulfilment dry run: read %s; would write %s; would fail %d: %s; nothing was sent or stored",
             report["read"], report["would_write"], report["would_fail"],
             {reason: group["count"] for reason, group in report["would_fail_by_reason"].items()})
    for reason, group in report["would_fail_by_reason"].items():
        for example in group["examples"]:
            log.info("would fail (%s): %s, %s: %s", reason, example["record"], example["field"],
                     example.get("message", ""))


def nothing_written(task: str) -> dict[str, Any]:
    """What a writing step of a dry run returns: it did nothing; the figures are read_max_shipments'."""
    log.info("dry run: %s sends nothing to Shopify and stores nothing; see read_max_shipments", task)
    return {"dry_run": True, "skipped": "dry run: nothing sent or stored; see read_max_shipments"}


def line_map_source():  # noqa: ANN201 - Callable[[str, str], list | None]
    """Rebuilds the line map of an order exported before line maps were recorded, from MAX and Shopify."""
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.fulfilment.line_map_backfill import rebuild_line_map
    from shopify_max.mappings import load_mappings

    mappings = load_mappings()

    def rebuild(ordnum: str, order_gid: str):  # noqa: ANN202
        sales_order, order = ExactMaxHook().get_sales_order(ordnum), shopify_api().get_order(order_gid)
        if sales_order is None or order is None:
            return None
        return rebuild_line_map(ordnum, order_gid, sales_order, order, mappings.parts_by_sku,
                                mappings.rules.freight_part_number, mappings.rules.custom_line_part_number)

    return rebuild


@fails_at_once_when_retrying_cannot_help
def create_shopify_fulfilments(run_id: str, task_id: str, dry_run: bool = False) -> dict[str, Any]:
    if dry_run:
        return nothing_written(task_id)
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.shipments import fulfil_shipments

    with open_sync_store() as store:
        return fulfil_shipments(store, shopify_api, load_fulfilment_rules(), run_id=run_id, task_id=task_id,
                                lease=write_lease(), line_map_source=line_map_source())


@fails_at_once_when_retrying_cannot_help
def update_changed_tracking(run_id: str, task_id: str, dry_run: bool = False) -> dict[str, Any]:
    if dry_run:
        return nothing_written(task_id)
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.tracking_updates import update_changed_tracking as update

    with open_sync_store() as store:
        return update(store, shopify_api, load_fulfilment_rules(), run_id=run_id, task_id=task_id, lease=write_lease())


@fails_at_once_when_retrying_cannot_help
def sync_order_status_and_invoices(run_id: str, task_id: str, dry_run: bool = False) -> dict[str, Any]:
    if dry_run:
        return nothing_written(task_id)
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.status import sync_order_status

    with open_sync_store() as store:
        return sync_order_status(store, ExactMaxHook(), shopify_api, load_fulfilment_rules(), run_id=run_id,
                                 task_id=task_id, lease=write_lease())


@fails_at_once_when_retrying_cannot_help
def summarise(run_id: str, read: dict[str, Any], fulfil: dict[str, Any], tracking: dict[str, Any],
              status: dict[str, Any]) -> dict[str, Any]:
    from shopify_max.fulfilment.summary import summarise_fulfilment_run

    if read.get("dry_run"):  # the dry run's report, made by read_max_shipments
        log_dry_run(read)
        return read
    with open_sync_store() as store:
        summary = summarise_fulfilment_run(store, run_id=run_id, read=read, fulfil=fulfil, tracking=tracking,
                                           status=status)
    log.info("fulfilment: %(shipments)d shipment(s) = fulfilled %(fulfilled)d + skipped %(skipped)d + failed "
             "%(failed)d; error queue items %(error_queue_ids)s", summary)
    for failed in summary["failed_shipments"]:
        log.info("shipment %(shipment_id)s (MAX order %(ordnum)s) failed: %(code)s, error queue item "
                 "%(error_queue_id)s: %(reason)s", failed)
    return summary
