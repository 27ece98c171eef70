"""The Airflow hook for Shopify's Admin GraphQL API.

Connection (id ``shopify_default``, conn_type ``http``): host = shop domain (``my-shop.myshopify.com``; the
sandbox uses ``127.0.0.1`` plus port), password = Admin API access token, schema = ``https`` (``http`` for the
sandbox). Extra: ``api_version`` (default 2026-07), ``webhook_secret``, and optional pacing overrides
``max_cost_per_second`` / ``bucket_size``, plus ``timeout``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from shopify_max.redaction import register_secret
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.client import DEFAULT_API_VERSION, ShopifyClient
from shopify_max.shopify.errors import ShopifyAuthenticationError, ShopifyConfigurationError
from shopify_max.shopify.pacing import CostPacer


class ShopifyHook(BaseHook, ShopifyAdminApi):
    """Typed Shopify operations (see :class:`ShopifyAdminApi`) over a client built from an Airflow connection."""

    conn_name_attr = "shopify_conn_id"
    default_conn_name = "shopify_default"
    conn_type = "http"
    hook_name = "Shopify Admin GraphQL"

    def __init__(self, shopify_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shopify_conn_id = shopify_conn_id

    @cached_property
    def connection(self):
        """The Airflow connection, read once; refuses a connection without a token."""
        conn = self.get_connection(self.shopify_conn_id)
        if not conn.host:
            raise ShopifyConfigurationError(f"connection {self.shopify_conn_id!r} has no host (the shop domain)")
        if not conn.password:
            raise ShopifyAuthenticationError(f"connection {self.shopify_conn_id!r} has no password (access token)")
        register_secret(conn.password)
        register_secret((conn.extra_dejson or {}).get("webhook_secret"))
        return conn

    @property
    def extras(self) -> dict[str, Any]:
        return self.connection.extra_dejson or {}

    @property
    def shop_url(self) -> str:
        conn = self.connection
        scheme = self.extras.get("scheme") or conn.schema or "https"
        host = conn.host
        if "://" in host:
            scheme, host = host.split("://", 1)
        port = f":{conn.port}" if conn.port else ""
        return f"{scheme}://{host.rstrip('/')}{port}"

    @property
    def webhook_secret(self) -> str | None:
        """The signing secret webhook deliveries are verified with (registered for redaction)."""
        return self.extras.get("webhook_secret")

    @cached_property
    def client(self) -> ShopifyClient:  # type: ignore[override]
        extras = self.extras
        pacer = CostPacer(max_cost_per_second=_float(extras.get("max_cost_per_second")),
                          bucket_size=_float(extras.get("bucket_size")))
        return ShopifyClient(self.shop_url, self.connection.password,
                             extras.get("api_version") or DEFAULT_API_VERSION,
                             timeout=float(extras.get("timeout", 30.0)), pacer=pacer)

    def get_conn(self) -> ShopifyClient:
        return self.client

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's connection test: one cheap ``shop`` query."""
        try:
            shop = self.shop_info()
        except Exception as exc:  # noqa: BLE001 - the UI shows the reason, whatever it is
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"Connected to {shop['name']} ({shop['myshopifyDomain']}), API {self.client.api_version}"


def _float(value: Any) -> float | None:
    return None if value in (None, "") else float(value)
