"""``map_staged_orders`` and ``validate_staged_orders``: the run's captured orders become MAX sales orders, and the
Great Expectations suite checks them; each result is written only onto the version it was made from."""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from shopify_max.exactmax.models import SalesOrder
from shopify_max.mappings.loader import Mappings
from shopify_max.orders.capture import problem_text
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.outcome import MappedOrder, MappingError
from shopify_max.redaction import redact_text
from shopify_max.shopify.models import Order
from shopify_max.sync_store import AuditEntry, StagedOrder, SyncStore
from shopify_max.sync_store.states import (
    ErrorEntity,
    OrderErrorStage,
    OrderStageStatus,
    RunOutcome,
    RunOutcomeCode,
)

log = logging.getLogger(__name__)


def map_staged_orders(store: SyncStore, mappings: Mappings, *, run_id: str) -> dict[str, int]:
    """Map every captured order of the run; failures go to the error queue with each field and rule.

    Each result is written only while the run still owns the order and the row still holds the version that was
    mapped (a newer version captured meanwhile is mapped by whoever captured it)."""
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=[OrderStageStatus.CAPTURED]):
        counts[str(_map_one(store, mappings, staged, run_id))] += 1
    return dict(counts)


def map_staged_copy(store: SyncStore, mappings: Mappings, order_json: str | None, *, order_gid: str,
                    order_name: str) -> MappedOrder:
    """Map an order as staged (its JSON), with the MAX account ``id_map`` already holds for its customer. Reads the
    store, writes nothing: the map step records the result, and a dry run (``orders.dry_run``) reports it. A
    surprise from the mapper is an ``unexpected`` error of this order, never an exception out of the batch."""
    try:
        order = Order.model_validate_json(order_json or "{}")
        known_custid = store.max_key_for("customer", order.customer.id) if order.customer else None
        return map_order_to_sales_order(order, mappings, known_custid=known_custid)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - one order's surprise must not stop the batch
        result = MappedOrder(order_gid=order_gid, order_name=order_name, custpo="")
        result.errors.append(MappingError("order", "unexpected", f"mapping raised {problem_text(exc)}"))
        log.exception("order %s: mapping raised; sent to the error queue", order_name)
        return result


def _map_one(store: SyncStore, mappings: Mappings, staged: StagedOrder, run_id: str) -> OrderStageStatus:
    def move(status: OrderStageStatus, **values: Any) -> bool:
        moved = store.set_stage_status(staged.order_gid, status, expected=[OrderStageStatus.CAPTURED], owned_by=run_id,
                                       expected_digest=staged.payload_digest, **values)
        if not moved:
            log.info("order %s: changed or taken over by another run while mapping; its result is dropped",
                     staged.order_name)
        return moved

    result = map_staged_copy(store, mappings, staged.order_json, order_gid=staged.order_gid,
                             order_name=staged.order_name)
    rules = [rule.as_dict() for rule in result.rules_applied]
    if result.outcome == OrderStageStatus.FAILED:
        error_id = store.record_error(
            entity=ErrorEntity.ORDER, record_key=staged.order_name, stage=OrderErrorStage.MAP,
            reason=result.error_reason(),
            payload=staged.order_json, detail={"order_gid": staged.order_gid,
                                               "errors": [e.as_dict() for e in result.errors], "rules_applied": rules})
        if move(OrderStageStatus.FAILED, run_outcome=RunOutcome.FAILED, run_outcome_code=RunOutcomeCode.MAPPING_FAILED,
                run_outcome_reason=f"error queue item {error_id}: {result.error_reason()}"[:2000],
                error_queue_id=error_id):
            log.info("order %s: mapping failed (%d problem(s)), error queue item %d: %s", staged.order_name,
                     len(result.errors), error_id, redact_text(result.error_reason()))
    elif result.outcome == OrderStageStatus.SKIPPED:
        if move(OrderStageStatus.SKIPPED, run_outcome=RunOutcome.SKIPPED, run_outcome_code=result.skip_code,
                run_outcome_reason=result.skip_reason):
            log.info("order %s: skipped (%s): %s", staged.order_name, result.skip_code,
                     redact_text(result.skip_reason or ""))
    else:
        mapped = {
            "sales_order": result.sales_order.model_dump(mode="json"),
            "new_customer": result.new_customer.model_dump(mode="json") if result.new_customer else None,
            "customer_gid": result.customer_gid,
            "rules_applied": rules,
            "line_sources": result.line_sources,  # the line map recorded at export
        }
        if move(OrderStageStatus.MAPPED, mapped_json=json.dumps(mapped)):
            log.info("order %s: mapped to CUSTPO %s with %d line row(s), %d rule(s) applied", staged.order_name,
                     result.custpo, len(result.sales_order.lines), len(rules))
    return result.outcome


def validate_staged_orders(store: SyncStore, codes: Any, *, run_id: str, task_id: str | None = None) -> dict[str, Any]:
    """Run the Great Expectations suite over the run's mapped orders; failing orders go to the error queue."""
    from shopify_max.validation.sales_orders import validate_sales_orders

    staged = store.orders_in_stage(run_id=run_id, statuses=[OrderStageStatus.MAPPED])
    by_custpo: dict[str, StagedOrder] = {}
    orders = []
    for row in staged:
        sales_order = SalesOrder.model_validate(json.loads(row.mapped_json or "{}")["sales_order"])
        by_custpo[sales_order.CUSTPO] = row
        orders.append(sales_order)
    report = validate_sales_orders(orders, codes)
    for custpo, row in by_custpo.items():
        conditions = {"expected": [OrderStageStatus.MAPPED], "owned_by": run_id, "expected_digest": row.payload_digest}
        failures = report.failures_by_order.get(custpo)
        if not failures:
            if store.set_stage_status(row.order_gid, OrderStageStatus.VALIDATED, **conditions):
                log.info("order %s: validated", row.order_name)
            else:
                log.info("order %s: changed or taken over by another run while validating; its result is dropped",
                         row.order_name)
            continue
        reason = validation_failure_reason(row.order_name, row.order_gid, failures)
        error_id = store.record_error(entity=ErrorEntity.ORDER, record_key=row.order_name,
                                      stage=OrderErrorStage.VALIDATE, reason=reason, payload=row.mapped_json,
                                      detail={"failures": [f.__dict__ for f in failures], "order_gid": row.order_gid})
        if store.set_stage_status(row.order_gid, OrderStageStatus.FAILED, run_outcome=RunOutcome.FAILED,
                                  run_outcome_code=RunOutcomeCode.VALIDATION_FAILED,
                                  run_outcome_reason=f"error queue item {error_id}: {reason}"[:2000],
                                  error_queue_id=error_id, **conditions):
            log.info("order %s: validation failed (%d problem(s)), error queue item %d: %s", row.order_name,
                     len(failures), error_id, redact_text(reason))
        else:
            log.info("order %s: validation failed, but the order changed or was taken over meanwhile; error queue "
                     "item %d: %s", row.order_name, error_id, redact_text(reason))
    summary = report.summary()
    store.write_audit([AuditEntry(entity="order_batch", record_key=run_id, direction="validation",
                                  outcome="passed" if not report.failures_by_order else "some_failed",
                                  request={"orders": len(orders)}, response=summary, run_id=run_id,
                                  task_id=task_id, contains_pii=False)])
    return summary


def validation_failure_reason(order_name: str, order_gid: str, failures: list[Any]) -> str:
    """The error-queue reason of an order the suite refused: the order, then each column, value and expectation."""
    return f"order {order_name} ({order_gid}) fails validation: " + "; ".join(f.message() for f in failures)
