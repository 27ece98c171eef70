"""Act on the compliance webhooks waiting in the inbox: one task of the ``sync_store_maintenance`` DAG.

For each ``customers/data_request``, ``customers/redact`` or ``shop/redact`` delivery, oldest first:
- a data request is answered with what is held (kinds of records, their keys and counts, never the values);
- a redaction erases the personal data (see ``records``) and counts what changed per table;
- either way an audit entry (entity ``privacy``, no personal data) names the request and holds the report or
  the counts; the delivery's own payload (it holds the customer's e-mail and phone) is blanked, and the
  delivery marked processed;
- a delivery that cannot be read is marked failed, with an error-queue item a person can act on.
A task that dies half-way leaves its deliveries claimed; the next run takes them back (acting twice is safe).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.privacy.records import (
    PRIVACY_ENTITY,
    describe_records,
    find_customer_records,
    redact_customer_records,
    redact_shop,
)
from shopify_max.privacy.requests import (
    COMPLIANCE_TOPICS,
    ComplianceRequest,
    UnreadableRequest,
    read_compliance_request,
)
from shopify_max.sync_store import AuditEntry, InboxRow, SyncStore
from shopify_max.sync_store.states import InboxStatus, PrivacyErrorStage

log = logging.getLogger(__name__)

# A claim older than this belongs to a task that died (tasks time out after 2 h: dag_defaults).
STALE_CLAIM = timedelta(hours=3)


def act_on_privacy_requests(store: SyncStore, *, run_id: str | None = None, task_id: str | None = None,
                            limit: int = 100) -> dict[str, Any]:
    """Act on up to ``limit`` compliance deliveries; returns a summary for XCom (no personal values)."""
    requeued, poisoned = store.requeue_stale_inbox(STALE_CLAIM, topics=COMPLIANCE_TOPICS)
    summary: dict[str, Any] = {"requeued": requeued, "acted_on": [], "unreadable_error_ids": []}
    for delivery in poisoned:
        summary["unreadable_error_ids"].append(_queue_unreadable(
            store, delivery, "it was claimed several times and never finished (it stops the task that reads it)"))
    for delivery in store.claim_inbox(topics=COMPLIANCE_TOPICS, limit=limit):
        try:
            request = read_compliance_request(topic=delivery.topic, inbox_id=delivery.id,
                                              webhook_id=delivery.webhook_id, payload=delivery.payload)
        except UnreadableRequest as problem:
            summary["unreadable_error_ids"].append(_queue_unreadable(store, delivery, str(problem)))
            store.mark_inbox([delivery.id], InboxStatus.FAILED)
            continue
        outcome, result = _act(store, request)
        store.write_audit([AuditEntry(entity=PRIVACY_ENTITY, record_key=request.reference, direction="privacy_request",
                                      outcome=outcome, request=request.describe(), response=result, run_id=run_id,
                                      task_id=task_id, contains_pii=False)])
        store.rewrite_personal_data("inbox", {delivery.id: {"payload": None, "payload_purged_at": utcnow()}})
        store.mark_inbox([delivery.id], InboxStatus.PROCESSED)
        log.info("%s (webhook %s): %s: %s", request.reference, request.webhook_id, outcome, result)
        summary["acted_on"].append({**request.describe(), "outcome": outcome, "result": result})
    return summary


def _act(store: SyncStore, request: ComplianceRequest) -> tuple[str, dict[str, Any]]:
    if request.topic == "shop/redact":
        return "redacted", {"rows_changed": redact_shop(store, request)}
    records = find_customer_records(store, request)
    if request.topic == "customers/data_request":
        return "reported", describe_records(records)
    changed = redact_customer_records(store, records, request)
    return "redacted", {"orders": len(records.orders), "rows_changed": changed}


def _queue_unreadable(store: SyncStore, delivery: InboxRow, problem: str) -> int:
    error_id = store.record_error(
        entity=PRIVACY_ENTITY, record_key=f"inbox {delivery.id}", stage=PrivacyErrorStage.READ_REQUEST,
        reason=f"compliance webhook {delivery.webhook_id} ({delivery.topic}, inbox {delivery.id}) was not acted on: "
               f"{problem}. Read the payload, erase or report by hand (shopify_max.privacy), then resolve this item.",
        payload=delivery.payload, detail={"inbox_id": delivery.id, "topic": delivery.topic,
                                          "webhook_id": delivery.webhook_id})
    log.warning("compliance webhook %s (%s, inbox %d): not acted on, error queue item %d: %s", delivery.webhook_id,
                delivery.topic, delivery.id, error_id, problem)
    return error_id
