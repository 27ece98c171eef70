"""airflow_settings.yaml is applied to plain Airflow: connections, pools, variables, their descriptions, env
overrides."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopify_max.airflow_glue.settings_loader import SettingsFileError, expand_env, read_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_the_project_settings_file_declares_the_connections_pools_and_variables_local_runs_use():
    settings = read_settings(PROJECT_ROOT / "airflow_settings.yaml", environ={})
    assert {c["conn_id"] for c in settings.connections} == {"shopify_default", "exactmax_default", "sync_store_default",
                                                            "alerts_default"}
    assert {p["pool_name"] for p in settings.pools} == {"shopify_api", "exactmax_api"}
    assert {v["variable_name"] for v in settings.variables} == {
        "pii_retention_days", "inventory_full_reconcile_hour_utc", "orders_write_lease_seconds",
        "orders_inbox_claim_timeout_seconds", "failure_alert_emails", "fulfilment_write_lease_seconds",
        "refunds_write_lease_seconds"}


def test_every_connection_pool_and_variable_has_a_description_for_the_ui():
    settings = read_settings(PROJECT_ROOT / "airflow_settings.yaml", environ={})
    for kind, entries, name in (("conn", settings.connections, "conn_id"), ("pool", settings.pools, "pool_name"),
                                ("variable", settings.variables, "variable_name")):
        for entry in entries:
            assert len(entry.get(f"{kind}_description") or "") >= 40, entry[name]


def test_every_variable_the_flows_read_is_declared():
    """Each ``*_VARIABLE = "name"`` constant in airflow_glue names an Airflow Variable a task reads."""
    read = set()
    for path in (PROJECT_ROOT / "plugins/shopify_max/airflow_glue").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and any(
                    isinstance(target, ast.Name) and target.id.endswith("_VARIABLE") for target in node.targets):
                read.add(node.value.value)
    declared = {v["variable_name"] for v in read_settings(PROJECT_ROOT / "airflow_settings.yaml", environ={}).variables}
    assert read and read <= declared, read - declared


def test_environment_values_replace_the_defaults():
    assert expand_env("${SHOP:-127.0.0.1}", {"SHOP": "acme.myshopify.com"}) == "acme.myshopify.com"
    assert expand_env("${SHOP:-127.0.0.1}", {}) == "127.0.0.1"
    assert expand_env({"a": ["${X:-}"]}, {}) == {"a": [""]}


def test_a_missing_variable_without_default_names_the_file_and_entry(tmp_path):
    path = tmp_path / "airflow_settings.yaml"
    path.write_text("airflow:\n  connections:\n    - conn_id: shopify_default\n      conn_type: http\n"
                    "      conn_password: ${SHOPIFY_TOKEN_NOT_SET}\n")
    with pytest.raises(SettingsFileError, match=r"airflow_settings.yaml: airflow.connections\[1\].*SHOPIFY_TOKEN_NOT_SET"):
        read_settings(path, environ={})


def test_an_entry_missing_required_keys_is_named(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("airflow:\n  pools:\n    - pool_name: shopify_api\n")
    with pytest.raises(SettingsFileError, match=r"airflow.pools\[1\]: missing pool_slot"):
        read_settings(path)


def test_loading_into_airflow_creates_everything_and_is_safe_to_repeat(airflow_metadata_db):
    from airflow.models import Variable

    # A home loaded before descriptions existed: the loader adds them to what is there.
    Variable.set("pii_retention_days", "45")
    env = {**os.environ, "SHOPIFY_ACCESS_TOKEN": "shpat_from_env_123456"}
    command = [sys.executable, "-m", "shopify_max.airflow_glue.settings_loader", str(PROJECT_ROOT / "airflow_settings.yaml")]
    for _ in range(2):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "4 connections, 2 pools, 7 variables" in result.stdout
        assert "shpat_from_env_123456" not in result.stdout + result.stderr

    from airflow.models import Connection, Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        shopify = session.query(Connection).filter(Connection.conn_id == "shopify_default").one()
        assert (shopify.conn_type, shopify.password) == ("http", "shpat_from_env_123456")
        assert shopify.extra_dejson["api_version"] == "2026-07"
        assert session.query(Connection).filter(Connection.conn_id == "sync_store_default").one().conn_type == "sqlite"
        pools = {pool.pool: pool.slots for pool in session.query(Pool).all()}
        assert pools["shopify_api"] == 4 and pools["exactmax_api"] == 4
        retention = session.query(Variable).filter(Variable.key == "pii_retention_days").one()
        assert retention.val == "30"
        assert retention.description.startswith("Days personal data is kept in the sync store")
        assert shopify.description.startswith("Shopify Admin API of the shop")
        alerts = session.query(Connection).filter(Connection.conn_id == "alerts_default").one()
        assert (alerts.conn_type, alerts.host) == ("http", None)  # no webhook URL in the environment: alerts off
        assert alerts.description.startswith("Where failure alerts go")
        assert session.query(Variable).filter(Variable.key == "failure_alert_emails").one().val == ""
