"""Every DAG parses, and carries what operators rely on: owner, tags, retries, docs, a schedule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from shopify_max.airflow_glue.dag_defaults import EXACTMAX_POOL, OWNER, SHOPIFY_POOL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXPECTED_DAG_IDS = {
    "master_data_sync",
    "orders_to_max",
    "inventory_to_shopify",
    "fulfilment_to_shopify",
    "refunds_to_max",
    "error_replay",
    "sync_store_maintenance",
    "go_live_check",
}
ON_DEMAND = {"go_live_check"}  # a person triggers it before going live; it has no schedule and retries once
HEAVY_MODULES = {"pandas", "great_expectations", "sqlalchemy", "graphql", "httpx", "requests"}


def test_no_import_errors(dag_bag):
    assert dag_bag.import_errors == {}


def test_the_expected_dags_and_no_others(dag_bag):
    assert set(dag_bag.dag_ids) == EXPECTED_DAG_IDS


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAG_IDS))
def test_each_dag_has_owner_tags_retries_docs_and_no_catchup(dag_bag, dag_id):
    dag = dag_bag.dags[dag_id]
    assert {"shopify", "exact-max"} <= set(dag.tags), dag.tags
    assert dag.doc_md and len(dag.doc_md) > 200, "doc_md comes from the module docstring and says what the DAG does"
    assert dag.catchup is False
    assert dag.max_active_runs == 1, "two runs of one flow at once would race on watermarks"
    if dag_id in ON_DEMAND:
        assert type(dag.timetable).__name__ == "NullTimetable", "runs only when a person triggers it"
    else:
        assert type(dag.timetable).__name__ not in ("NullTimetable", "OnceTimetable"), "each flow runs on a schedule"
    for task in dag.tasks:
        assert task.owner == OWNER, task.task_id
        assert task.retries >= (1 if dag_id in ON_DEMAND else 2), task.task_id


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAG_IDS))
def test_each_dag_file_is_named_after_its_dag_id(dag_bag, dag_id):
    assert Path(dag_bag.dags[dag_id].fileloc).name == f"{dag_id}.py"


def test_orders_schedule_has_real_data_intervals_and_reacts_to_new_webhooks(dag_bag):
    """The orders poll reads `updated_at` within the run's data interval, so the interval must be real; and
    new webhooks in the inbox trigger a run through an asset the triggerer watches."""
    from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable

    from shopify_max.webhooks.inbox_trigger import NEW_ORDER_WEBHOOKS, NewInboxDeliveriesTrigger

    timetable = dag_bag.dags["orders_to_max"].timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert isinstance(timetable.timetable, CronDataIntervalTimetable)
    assert list(timetable.asset_condition.objects) == [NEW_ORDER_WEBHOOKS]
    [watcher] = NEW_ORDER_WEBHOOKS.watchers
    assert isinstance(watcher.trigger, NewInboxDeliveriesTrigger) and watcher.trigger.poll_interval <= 60


def test_pools_used_by_tasks_are_declared_in_airflow_settings(dag_bag):
    settings = yaml.safe_load((PROJECT_ROOT / "airflow_settings.yaml").read_text())
    declared = {pool["pool_name"] for pool in settings["airflow"]["pools"]} | {"default_pool"}
    assert {SHOPIFY_POOL, EXACTMAX_POOL} <= declared
    used = {task.pool for dag in dag_bag.dags.values() for task in dag.tasks}
    assert used <= declared


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "dags").glob("*.py")), ids=lambda p: p.name)
def test_dag_files_keep_heavy_imports_out_of_module_top_level(path):
    """DAG files must parse fast: pandas, GX, SQLAlchemy and HTTP clients load inside tasks only."""
    tree = ast.parse(path.read_text())
    top_level_imports = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level_imports |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level_imports.add(node.module.split(".")[0])
    assert not top_level_imports & HEAVY_MODULES
