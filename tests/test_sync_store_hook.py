"""The sync store is reached through an Airflow connection: SQLite by default, PostgreSQL by settings."""

from __future__ import annotations

import json

from shopify_max.airflow_glue.sync_store_hook import SyncStoreHook, sqlalchemy_url_for
from shopify_max.paths import PROJECT_ROOT
from shopify_max.sync_store.migrator import head_revision


def test_a_relative_sqlite_path_is_taken_from_the_project_root():
    url = sqlalchemy_url_for("sqlite", host=".airflow/sync_store.sqlite", port=None, login=None, password=None,
                             schema=None, extra={})
    assert url == f"sqlite:///{PROJECT_ROOT / '.airflow/sync_store.sqlite'}"


def test_a_postgres_connection_becomes_a_psycopg2_url_with_quoted_credentials_and_search_path():
    url = sqlalchemy_url_for("postgres", host="db", port=5433, login="sync", password="p@ss/word", schema="shopmax",
                             extra={"search_path": "integration"})
    assert url == "postgresql+psycopg2://sync:p%40ss%2Fword@db:5433/shopmax?options=-csearch_path%3Dintegration"


def test_the_hook_opens_a_migrated_store_from_an_env_connection(monkeypatch, database_url):
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT",
                       json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
    ok, message = SyncStoreHook().test_connection()
    assert ok, message
    assert f"schema revision {head_revision()}" in message


def test_test_connection_reports_a_bad_connection_instead_of_raising(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN_STORE", json.dumps({"conn_type": "mysql", "host": "x"}))
    ok, message = SyncStoreHook("broken_store").test_connection()
    assert not ok and "not supported" in message
