"""Each DAG runs for real (``dag.test()``: a DAG run, task by task) against a real sync store."""

from __future__ import annotations

import json

import pytest

from shopify_max.airflow_glue.run_results import task_return_values
from shopify_max.sync_store import SyncStore


@pytest.fixture
def sync_store_connection(monkeypatch, database_url):
    """Point the DAGs' ``sync_store_default`` connection at a fresh database on each backend."""
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT",
                       json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
    return database_url


def _return_value(dag_run, task_id):
    return task_return_values(dag_run.dag_id, dag_run.run_id)[task_id]


def run_once(dag):
    for task in dag.tasks:
        task.retries = 0  # a failure must surface at once here, not after Airflow's retry back-off
    return dag.test()


# orders_to_max, inventory_to_shopify, fulfilment_to_shopify, refunds_to_max and master_data_sync are full flows:
# tests/e2e runs them against the sandboxes.


# error_replay replays through the MAX gateway now: tests/e2e runs it against the sandboxes.


def test_maintenance_run_purges_expired_pii(airflow_metadata_db, dag_bag, sync_store_connection):
    from datetime import timedelta

    from sqlalchemy import update

    from shopify_max.clock import utcnow
    from shopify_max.sync_store import AuditEntry
    from shopify_max.sync_store.tables import audit_log

    store = SyncStore.from_url(sync_store_connection)
    store.write_audit([AuditEntry(entity="order", record_key="#1", direction="shopify_to_max", outcome="exported",
                                  request={"customer": "Jane Doe"})])
    with store.engine.begin() as conn:  # age the entry past the 30-day default retention
        conn.execute(update(audit_log).values(created_at=utcnow() - timedelta(days=31)))

    dag_run = run_once(dag_bag.dags["sync_store_maintenance"])

    assert dag_run.state == "success"
    assert _return_value(dag_run, "purge_expired_pii") == {"audit_log": 1, "inbox": 0, "error_queue": 0, "order_stage": 0}
    assert "Jane Doe" not in store.audit_entries()[0]["request"]
    store.dispose()


def test_maintenance_run_acts_on_a_customers_redact_webhook(airflow_metadata_db, dag_bag, sync_store_connection):
    from pathlib import Path

    from shopify_max.sync_store import AuditEntry, InboxDelivery

    store = SyncStore.from_url(sync_store_connection)
    example = Path(__file__).resolve().parents[2] / "include/vendor/shopify/webhooks/customers.redact.json"
    store.add_inbox_delivery(InboxDelivery(webhook_id="wh-redact", topic="customers/redact",
                                           payload=json.dumps(json.loads(example.read_text())["response"])))
    store.write_audit([AuditEntry(entity="order", record_key="#1", direction="manual", outcome="noted",
                                  request={"note": "john@example.com asked about #1"})])

    dag_run = run_once(dag_bag.dags["sync_store_maintenance"])

    assert dag_run.state == "success"
    [acted] = _return_value(dag_run, "act_on_privacy_requests")["acted_on"]
    assert (acted["topic"], acted["outcome"], acted["result"]["rows_changed"]["audit_log"]) == (
        "customers/redact", "redacted", 1)
    assert store.inbox_counts() == {"processed": 1}
    assert all("john@example.com" not in (row["request"] or "") for row in store.audit_entries())
    store.dispose()
