"""A real DAG run (``dag.test()``) proves the task-level rule: a failure that cannot pass fails the task at its
first try even though the task has retries left; a passing failure is retried.

``dag.test()`` runs each try through the Task SDK's own runner, as a worker does: a failed try with retries left
ends ``up_for_retry`` and is run again with ``try_number`` + 1, so ``try_number`` and the final state tell the
two cases apart (checked by the second test, which must retry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sandboxes.shopify.app import RunningSandbox, SandboxConfig, run_in_thread

RETRIES = 2


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningSandbox]:
    with run_in_thread(SandboxConfig(products=5, orders=2)) as running:
        yield running


@pytest.fixture
def orders_dag(dag_bag, monkeypatch):
    """``orders_to_max`` with retries left on every task and no wait between tries."""
    dag = dag_bag.dags["orders_to_max"]
    for task in dag.tasks:
        monkeypatch.setattr(task, "retries", RETRIES)
        monkeypatch.setattr(task, "retry_delay", timedelta(0))
    return dag


def _task_instance(dag_run, task_id: str):
    [ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti


def test_a_wrong_shopify_token_fails_capture_after_one_try_not_up_for_retry(airflow_metadata_db, orders_dag, shop,
                                                                            monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'store.sqlite'}"}}))
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({
        "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http",
        "password": "shpat_wrong0000000000000000000000", "extra": {"api_version": "2026-07"}}))
    unauthorised_before = shop.sandbox.stats["unauthorised"]

    dag_run = orders_dag.test()

    capture = _task_instance(dag_run, "capture_orders")
    assert capture.max_tries == RETRIES  # it had retries left …
    assert (capture.state, capture.try_number) == ("failed", 1)  # … and used none of them
    assert shop.sandbox.stats["unauthorised"] - unauthorised_before == 1  # one request, not one per try
    assert _task_instance(dag_run, "export_sales_orders_to_max").state == "upstream_failed"
    assert dag_run.state == "failed"


def test_a_passing_failure_is_retried_so_the_first_test_shows_a_real_difference(airflow_metadata_db, orders_dag,
                                                                                 monkeypatch, tmp_path):
    """A sync store the task cannot open yet (its folder is missing: a volume not mounted) may come back."""
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'not-mounted' / 'store.sqlite'}"}}))

    dag_run = orders_dag.test()

    prepare = _task_instance(dag_run, "prepare_sync_store")
    assert (prepare.state, prepare.try_number) == ("failed", RETRIES + 1)
