"""Helpers shared by the Shopify tests (a uniquely named module, so it never clashes with other folders)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from sandboxes.shopify.app import DEFAULT_TOKEN, RunningSandbox
from shopify_max.shopify.client import RetryPolicy, ShopifyClient

TOKEN = DEFAULT_TOKEN


class SandboxAdmin:
    """Calls the sandbox's ``/_sandbox/*`` endpoints."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.session = requests.Session()
        self.session.headers["X-Shopify-Access-Token"] = TOKEN

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.session.post(f"{self.running.base_url}/_sandbox/{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(f"{self.running.base_url}/_sandbox/{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def calm(self) -> None:
        """No faults, a full Plus bucket."""
        self.post("faults", {"latency_ms": 0, "error_5xx_rate": 0, "drop_rate": 0, "throttle_429_rate": 0,
                             "storm_rate": 0, "retry_after_seconds": 1})
        self.post("bucket", {"preset": "plus"})


def make_client(running: RunningSandbox, **kwargs: Any) -> ShopifyClient:
    kwargs.setdefault("retry", RetryPolicy(backoff_base_seconds=0.01, backoff_cap_seconds=0.05))
    return ShopifyClient(running.base_url, kwargs.pop("token", TOKEN), kwargs.pop("api_version", "2026-07"), **kwargs)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    event: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.event:
            self.event.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)
