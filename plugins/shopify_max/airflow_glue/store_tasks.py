"""Task bodies that every flow shares: opening the sync store, error-queue and PII housekeeping.

Each function is what one Airflow task does; it returns a small JSON-safe dict for XCom.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from shopify_max.airflow_glue.sync_store_hook import SyncStoreHook
from shopify_max.airflow_glue.task_failures import fails_at_once_when_retrying_cannot_help
from shopify_max.airflow_glue.variables import whole_number_variable
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.error_queue import UNRESOLVED_STATUSES

log = logging.getLogger(__name__)

DEFAULT_PII_RETENTION_DAYS = 30
PII_RETENTION_VARIABLE = "pii_retention_days"


@contextmanager
def open_sync_store(conn_id: str = SyncStoreHook.default_conn_name) -> Iterator[SyncStore]:
    """The sync store for one task body (schema migrated on first use), closed when the block ends."""
    store = SyncStoreHook(conn_id).get_store()
    try:
        yield store
    finally:
        store.dispose()


@fails_at_once_when_retrying_cannot_help
def prepare_sync_store(conn_id: str = SyncStoreHook.default_conn_name) -> dict[str, Any]:
    """Open the sync store and bring its schema up to date; report the revision."""
    with open_sync_store(conn_id) as store:
        revision = store.schema_revision()
        log.info("sync store ready at schema revision %s", revision)
        return {"schema_revision": revision}


@fails_at_once_when_retrying_cannot_help
def summarise_error_queue(conn_id: str = SyncStoreHook.default_conn_name) -> dict[str, Any]:
    """Count error-queue items by status, entity and stage: what an on-call engineer looks at first."""
    with open_sync_store(conn_id) as store:
        items = store.list_errors()
    by_status = Counter(item.status for item in items)
    open_by_stage = Counter(f"{item.entity}/{item.stage}" for item in items if item.status in UNRESOLVED_STATUSES)
    by_entity_stage_status = Counter(f"{item.entity}/{item.stage}/{item.status}" for item in items)
    for key, count in sorted(open_by_stage.items()):
        log.info("error queue: %d open item(s) for %s", count, key)
    return {"by_status": dict(by_status), "open_by_entity_stage": dict(sorted(open_by_stage.items())),
            "by_entity_stage_status": dict(sorted(by_entity_stage_status.items()))}


@fails_at_once_when_retrying_cannot_help
def purge_expired_pii(retention_days: int | None = None,
                      conn_id: str = SyncStoreHook.default_conn_name) -> dict[str, int]:
    """Blank payloads holding personal data once they are older than the retention period (``retention_days``,
    else the Variable ``pii_retention_days``, else 30 days)."""
    if retention_days is None:
        retention_days = whole_number_variable(PII_RETENTION_VARIABLE, DEFAULT_PII_RETENTION_DAYS, 1)
    if retention_days < 1:
        raise ValueError(f"pii_retention_days must be at least 1, got {retention_days}")
    with open_sync_store(conn_id) as store:
        purged = store.purge_expired_pii(timedelta(days=retention_days))
    log.info("purged PII older than %d days: %s", retention_days, purged)
    return purged


@fails_at_once_when_retrying_cannot_help
def act_on_privacy_requests(*, run_id: str | None = None, task_id: str | None = None,
                            conn_id: str = SyncStoreHook.default_conn_name) -> dict[str, Any]:
    """Answer data requests and erase personal data on redaction requests waiting in the inbox."""
    from shopify_max.privacy import act_on_privacy_requests as act

    with open_sync_store(conn_id) as store:
        return act(store, run_id=run_id, task_id=task_id)
