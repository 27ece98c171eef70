"""docker-compose.yaml cannot run here (no Docker engine), so check it says what Airflow 3.3 needs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}


def test_the_stack_has_every_service_the_scaled_deployment_needs():
    assert set(AIRFLOW_COMMANDS) | {"postgres", "redis", "airflow-init", "webhook-receiver",
                                            "shopify-sandbox", "exactmax-gateway"} <= set(SERVICES)


@pytest.mark.parametrize(("service", "command"), sorted(AIRFLOW_COMMANDS.items()))
def test_each_airflow_service_runs_its_airflow_3_command(service, command):
    assert SERVICES[service]["command"] == command


@pytest.mark.parametrize("service", sorted(AIRFLOW_COMMANDS) + ["airflow-init"])
def test_each_airflow_service_uses_celery_with_postgres_and_redis(service):
    env = SERVICES[service]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).scheme.startswith("postgresql")
    assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    # Task processes talk to the API server's execution API (Airflow 3), by its service name and port.
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


def test_every_airflow_service_shares_one_jwt_secret_and_fernet_key():
    jwt = {SERVICES[name]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for name in AIRFLOW_COMMANDS}
    fernet = {SERVICES[name]["environment"]["AIRFLOW__CORE__FERNET_KEY"] for name in AIRFLOW_COMMANDS}
    assert len(jwt) == 1 and len(fernet) == 1
    # Required from the environment, never a value committed to the repository.
    assert re.fullmatch(r"\$\{AIRFLOW_JWT_SECRET:\?.+\}", jwt.pop())


@pytest.mark.parametrize("service", sorted(AIRFLOW_COMMANDS))
def test_each_airflow_service_mounts_dags_plugins_and_include(service):
    targets = {volume.split(":")[1] for volume in SERVICES[service]["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include", "/opt/airflow/logs"} <= targets


def test_workers_wait_for_the_api_server_they_report_to():
    assert SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_the_connections_given_to_airflow_parse_and_reach_the_stack_services():
    from airflow.models.connection import Connection

    from shopify_max.airflow_glue.sync_store_hook import sqlalchemy_url_for

    env = SERVICES["airflow-scheduler"]["environment"]
    store = Connection(conn_id="sync_store_default", uri=env["AIRFLOW_CONN_SYNC_STORE_DEFAULT"])
    url = sqlalchemy_url_for(store.conn_type, host=store.host, port=store.port, login=store.login,
                             password=store.password, schema=store.schema, extra=store.extra_dejson)
    assert url == "postgresql+psycopg2://sync_store:sync_store@postgres:5432/sync_store"

    default_shopify = re.search(r":-(.*)\}$", env["AIRFLOW_CONN_SHOPIFY_DEFAULT"]).group(1)
    shopify = Connection(conn_id="shopify_default", uri=default_shopify)
    assert (shopify.host, shopify.port) == ("shopify-sandbox", 8701)
    assert shopify.extra_dejson["api_version"] == "2026-07"


def test_the_receiver_gets_the_connections_it_reads():
    env = SERVICES["webhook-receiver"]["environment"]
    assert "AIRFLOW_CONN_SHOPIFY_DEFAULT" in env and "AIRFLOW_CONN_SYNC_STORE_DEFAULT" in env
    assert "8703:8703" in SERVICES["webhook-receiver"]["ports"]


def test_the_services_run_modules_of_this_project_from_where_they_are_mounted():
    """The receiver is part of the library (plugins/); the gateway and the sandboxes are services of their own
    (max_gateway/, sandboxes/), mounted beside it and on the service's PYTHONPATH."""
    for service, root in (("webhook-receiver", "plugins"), ("shopify-sandbox", "."), ("exactmax-gateway", ".")):
        entrypoint = SERVICES[service]["entrypoint"]
        module = entrypoint[entrypoint.index("-m") + 1]
        assert (PROJECT_ROOT / root / Path(*module.split(".")) / "__main__.py").exists(), f"{service} runs {module}"
        if root == ".":
            top = module.split(".")[0]
            assert f"./{top}:/opt/services/{top}" in SERVICES[service]["volumes"]
            assert "/opt/services" in SERVICES[service]["environment"]["PYTHONPATH"].split(":")
            assert SERVICES[service]["build"]["target"] == "services"


def test_the_airflow_image_does_not_carry_what_only_the_sandboxes_need():
    airflow_requirements = (PROJECT_ROOT / "requirements.txt").read_text()
    assert "graphql-core" not in airflow_requirements
    assert "graphql-core" in (PROJECT_ROOT / "requirements-services.txt").read_text()
    assert SERVICES["airflow-scheduler"]["build"]["target"] == "airflow"


def test_the_shop_sandbox_signs_webhooks_for_the_receiver_with_the_secret_airflow_has():
    entrypoint = SERVICES["shopify-sandbox"]["entrypoint"]
    assert entrypoint[entrypoint.index("--webhook-url") + 1] == "http://webhook-receiver:8703/webhooks/shopify"
    conn_uri = re.search(r":-(.*)\}$", SERVICES["webhook-receiver"]["environment"]["AIRFLOW_CONN_SHOPIFY_DEFAULT"]).group(1)
    assert f"webhook_secret={entrypoint[entrypoint.index('--webhook-secret') + 1]}" in conn_uri


def test_the_postgres_init_script_creates_the_sync_store_database():
    script = (PROJECT_ROOT / "docker" / "postgres-init" / "01-sync-store.sql").read_text()
    assert "CREATE DATABASE sync_store" in script
    mounts = SERVICES["postgres"]["volumes"]
    assert "./docker/postgres-init:/docker-entrypoint-initdb.d:ro" in mounts


def test_the_gateway_sandbox_requires_the_credentials_airflow_is_given():
    gateway = SERVICES["exactmax-gateway"]["environment"]
    conn_uri = re.search(r":-(.*)\}$", SERVICES["airflow-scheduler"]["environment"]["AIRFLOW_CONN_EXACTMAX_DEFAULT"]).group(1)
    credentials = urlsplit(conn_uri)
    assert (gateway["EXACTMAX_GATEWAY_USER"], gateway["EXACTMAX_GATEWAY_PASSWORD"]) == (
        credentials.username, credentials.password)
