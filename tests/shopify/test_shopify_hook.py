"""ShopifyHook through a real Airflow connection (AIRFLOW_CONN_SHOPIFY_DEFAULT, JSON form)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from shopify_helpers import TOKEN

from shopify_max.clock import utcnow
from shopify_max.redaction import redact_text
from shopify_max.shopify.errors import ShopifyAuthenticationError
from shopify_max.shopify.hook import ShopifyHook


def _connection(sandbox, token: str = TOKEN, **extra) -> str:
    return json.dumps({"conn_type": "http", "host": sandbox.host, "port": sandbox.port, "schema": "http",
                       "password": token, "extra": {"api_version": "2026-07", "webhook_secret": "whsec-hook-1234",
                                                    **extra}})


@pytest.fixture
def hook(sandbox, admin, monkeypatch) -> ShopifyHook:
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", _connection(sandbox, max_cost_per_second=500))
    return ShopifyHook()


def test_hook_attributes_follow_airflow_conventions():
    assert (ShopifyHook.conn_name_attr, ShopifyHook.default_conn_name, ShopifyHook.conn_type) == (
        "shopify_conn_id", "shopify_default", "http")
    assert ShopifyHook.hook_name


def test_test_connection_succeeds_against_the_sandbox(hook):
    ok, message = hook.test_connection()
    assert ok, message
    assert "Sandbox Shop" in message and "2026-07" in message


def test_test_connection_reports_a_rejected_token_without_showing_it(sandbox, admin, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", _connection(sandbox, token="shpat_badbadbadbad0001"))
    ok, message = ShopifyHook().test_connection()
    assert not ok and "ShopifyAuthenticationError" in message
    assert "shpat_badbadbadbad0001" not in message


def test_hook_exposes_the_typed_api_and_reads_extras(hook):
    assert hook.shop_url.startswith("http://127.0.0.1:")
    assert hook.client.api_version == "2026-07"
    assert hook.client.pacer.restore_rate_override == 500
    assert hook.webhook_secret == "whsec-hook-1234"
    assert [loc.name for loc in hook.list_locations()][0] == "Main Warehouse"


def test_the_token_and_webhook_secret_are_registered_for_redaction(hook):
    hook.shop_info()
    assert TOKEN not in redact_text(f"token={TOKEN}")
    assert "whsec-hook-1234" not in redact_text("secret whsec-hook-1234")


def test_a_connection_without_a_token_is_refused(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({"conn_type": "http", "host": sandbox.host,
                                                                   "port": sandbox.port, "schema": "http"}))
    with pytest.raises(ShopifyAuthenticationError, match="no password"):
        ShopifyHook().client  # noqa: B018 - building the client reads the connection


def test_hook_logs_operation_cost_and_wait_but_not_the_token(hook, caplog):
    caplog.set_level(logging.INFO, logger="shopify_max.shopify")
    hook.shop_info()
    assert "op=ShopInfo" in caplog.text and "cost=" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.slow  # paced on the real clock
def test_a_long_paced_run_through_the_hook_surfaces_no_throttling(admin, sandbox, monkeypatch):
    """Order pages request ~742 points each through an 800-point bucket: the hook paces, Shopify never throttles."""
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", _connection(sandbox))
    hook = ShopifyHook()
    admin.post("bucket", {"bucket_size": 800, "restore_rate": 3000})
    before = admin.get("state")["stats"].get("throttled", 0)
    orders = list(hook.iter_orders_updated(utcnow() - timedelta(days=3)))
    assert len(orders) == len(sandbox.sandbox.store.orders)
    assert admin.get("state")["stats"].get("throttled", 0) == before
    assert hook.client.stats.throttled_retries == 0
    assert hook.client.stats.waited_seconds > 0
