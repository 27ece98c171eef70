"""Defaults every DAG shares: owner, retries, failure alerts, pools, tags. Cheap to import (no heavy modules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param

from shopify_max.airflow_glue.alerts import FAILURE_ALERT

OWNER = "integrations"
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)

# One pool per external API, so a backfill cannot starve the scheduled runs of API capacity.
SHOPIFY_POOL = "shopify_api"
EXACTMAX_POOL = "exactmax_api"

# Retries are for failures that pass (outages, timeouts). Auth, configuration, mapping-file and whole-batch
# failures fail the task at once instead: airflow_glue/task_failures.py, worn by every task body.
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=2),
    # One alert per task that failed for good (after its last retry), to the webhook and/or e-mail addresses
    # configured in Airflow; none per retry (airflow_glue/alerts.py, docs/operations.md).
    "on_failure_callback": FAILURE_ALERT,
}

COMMON_TAGS = ["shopify", "exact-max"]



def dry_run_param() -> Param:
    """Every flow's dry-run switch (shopify_max.dry_run): reads and checks are real, nothing is written anywhere.

    A new Param per DAG: ``dag.test(run_conf=…)`` writes the conf into the DAG's Param objects, so one object
    shared by every DAG would carry one DAG's dry run into another's next test run."""
    return Param(False, type="boolean", title="Dry run",
                 description="Read, map and check for real; write nothing to Shopify, MAX or the sync store. The "
                             "summary says what would have been written.")


def tags(*flow_tags: str) -> list[str]:
    return [*COMMON_TAGS, *flow_tags]
