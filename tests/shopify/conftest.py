"""Shopify fixtures: a real sandbox over loopback HTTP, clients for it, and a webhook receiver."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from shopify_helpers import Received, SandboxAdmin, WebhookReceiver, make_client

from sandboxes.shopify.app import RunningSandbox, SandboxConfig, run_in_thread
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.client import ShopifyClient


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """One sandbox for the session (Plus bucket so functional tests are not slowed by pacing)."""
    with run_in_thread(SandboxConfig(products=60, orders=40, plan="plus", bulk_delay_seconds=0.05)) as running:
        yield running


@pytest.fixture
def admin(sandbox: RunningSandbox) -> Iterator[SandboxAdmin]:
    handle = SandboxAdmin(sandbox)
    handle.calm()
    yield handle
    handle.calm()


@pytest.fixture
def client(sandbox: RunningSandbox, admin: SandboxAdmin) -> ShopifyClient:
    return make_client(sandbox)


@pytest.fixture
def api(client: ShopifyClient) -> ShopifyAdminApi:
    return ShopifyAdminApi(client)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            with receiver.event:
                receiver.received.append(Received({k: v for k, v in self.headers.items()}, body))
                receiver.event.notify_all()
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/shopify"
    # shutdown() below waits up to one poll interval: 0.05 s, not the default 0.5 s, on every test that uses this
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
