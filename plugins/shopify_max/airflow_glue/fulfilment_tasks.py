"""Bodies of the ``fulfilment_to_shopify`` tasks: connections in, the library's step, a small summary out.

Business rules live in ``shopify_max.fulfilment``. Each returns a JSON-safe dict for XCom; shipments, invoices and
what Shopify was told stay in the sync store.
"""

from __future__ import annotations

import logging
from typing import Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import InvalidParamsError, fails_at_once_when_retrying_cannot_help
from shopify_max.airflow_glue.variables import seconds_variable

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


@fails_at_once_when_retrying_cannot_help
def read_max_shipments(run_id: str, since_shipment: Any = None) -> dict[str, Any]:
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.fulfilment.shipments import read_shipments

    if since_shipment not in (None, "") and not str(since_shipment).strip().isdigit():
        raise InvalidParamsError(f"since_shipment {since_shipment!r}: a MAX shipment id (a whole number), or empty "
                                 "for the stored cursor")
    with open_sync_store() as store:
        return read_shipments(store, ExactMaxHook(), run_id=run_id,
                              since=str(since_shipment).strip() if since_shipment not in (None, "") else None)


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
def create_shopify_fulfilments(run_id: str, task_id: str) -> dict[str, Any]:
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.shipments import fulfil_shipments

    with open_sync_store() as store:
        return fulfil_shipments(store, shopify_api, load_fulfilment_rules(), run_id=run_id, task_id=task_id,
                                lease=write_lease(), line_map_source=line_map_source())


@fails_at_once_when_retrying_cannot_help
def update_changed_tracking(run_id: str, task_id: str) -> dict[str, Any]:
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.tracking_updates import update_changed_tracking as update

    with open_sync_store() as store:
        return update(store, shopify_api, load_fulfilment_rules(), run_id=run_id, task_id=task_id, lease=write_lease())


@fails_at_once_when_retrying_cannot_help
def sync_order_status_and_invoices(run_id: str, task_id: str) -> dict[str, Any]:
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

    with open_sync_store() as store:
        summary = summarise_fulfilment_run(store, run_id=run_id, read=read, fulfil=fulfil, tracking=tracking,
                                           status=status)
    log.info("fulfilment: %(shipments)d shipment(s) = fulfilled %(fulfilled)d + skipped %(skipped)d + failed "
             "%(failed)d; error queue items %(error_queue_ids)s", summary)
    for failed in summary["failed_shipments"]:
        log.info("shipment %(shipment_id)s (MAX order %(ordnum)s) failed: %(code)s, error queue item "
                 "%(error_queue_id)s: %(reason)s", failed)
    return summary
