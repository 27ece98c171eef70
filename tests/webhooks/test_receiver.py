"""The webhook receiver over real HTTP, with Shopify's own example payloads and a real sync store."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from shopify_max.http_server import serve_in_thread
from shopify_max.sync_store import SyncStore
from shopify_max.webhooks.receiver import create_receiver_app, shopify_hmac

WEBHOOK_EXAMPLES = Path(__file__).resolve().parents[2] / "include" / "vendor" / "shopify" / "webhooks"
SECRET = "whsec-test-signing-key"
OLD_SECRET = "whsec-old-signing-key"


def example_body(topic: str) -> bytes:
    """Shopify's documented example payload for ``topic`` (orders/create -> orders.create.json)."""
    document = json.loads((WEBHOOK_EXAMPLES / f"{topic.replace('/', '.')}.json").read_text())
    return json.dumps(document["response"]).encode()


def headers_for(topic: str, body: bytes, *, secret: str = SECRET, webhook_id: str | None = None,
                event_id: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_hmac(secret, body),
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-27T06:00:00.000000Z",
        "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
        "X-Shopify-API-Version": "2026-07",
    }


@pytest.fixture
def receiver(database_url):
    store = SyncStore.from_url(database_url)
    app = create_receiver_app(lambda: store, [SECRET, OLD_SECRET], max_body_bytes=64 * 1024)
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        yield client, store
    store.dispose()


@pytest.mark.parametrize("topic", ["orders/create", "orders/updated", "orders/cancelled", "refunds/create",
                                   "customers/redact", "customers/data_request", "shop/redact"])
def test_each_handled_topic_is_stored_in_the_inbox(receiver, topic):
    client, store = receiver
    body = example_body(topic)
    response = client.post("/webhooks/shopify", content=body, headers=headers_for(topic, body))
    assert response.status_code == 200
    assert response.json() == {"stored": True, "duplicate": False}
    [row] = store.claim_inbox()
    assert row.topic == topic
    assert row.payload.encode() == body  # the raw body, byte for byte


def test_the_order_gid_is_kept_exactly_though_the_numeric_id_exceeds_2_to_the_53(receiver):
    client, store = receiver
    body = example_body("orders/create")
    client.post("/webhooks/shopify", content=body, headers=headers_for("orders/create", body))
    assert store.claim_inbox()[0].resource_gid == "gid://shopify/Order/820982911946154508"


def test_a_bad_signature_gets_401_and_nothing_is_stored(receiver):
    client, store = receiver
    body = example_body("orders/create")
    headers = headers_for("orders/create", body, secret="not-the-secret")
    assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    assert store.inbox_counts() == {}


def test_a_body_changed_after_signing_gets_401(receiver):
    client, store = receiver
    body = example_body("orders/create")
    headers = headers_for("orders/create", body)
    tampered = body.replace(b'"total_price": "', b'"total_price": "1')
    assert tampered != body
    assert client.post("/webhooks/shopify", content=tampered, headers=headers).status_code == 401
    assert store.inbox_counts() == {}


def test_an_unsigned_delivery_gets_401(receiver):
    client, store = receiver
    body = example_body("orders/create")
    headers = headers_for("orders/create", body)
    del headers["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    assert store.inbox_counts() == {}


def test_the_previous_secret_is_accepted_during_a_rotation(receiver):
    client, store = receiver
    body = example_body("orders/updated")
    response = client.post("/webhooks/shopify", content=body, headers=headers_for("orders/updated", body, secret=OLD_SECRET))
    assert response.status_code == 200 and store.inbox_counts() == {"new": 1}


def test_an_oversized_body_gets_413_and_nothing_is_stored(receiver):
    client, store = receiver
    body = json.dumps({"note": "x" * (65 * 1024)}).encode()
    assert client.post("/webhooks/shopify", content=body, headers=headers_for("orders/create", body)).status_code == 413
    assert store.inbox_counts() == {}


def test_duplicate_deliveries_are_acknowledged_and_stored_once(receiver):
    client, store = receiver
    body = example_body("orders/create")
    headers = headers_for("orders/create", body, webhook_id="wh-1", event_id="evt-1")
    answers = [client.post("/webhooks/shopify", content=body, headers=headers).json() for _ in range(3)]
    # Shopify's retry of the same event carries a new webhook id but the same event id.
    retry = headers_for("orders/create", body, webhook_id="wh-2", event_id="evt-1")
    answers.append(client.post("/webhooks/shopify", content=body, headers=retry).json())
    assert [a["stored"] for a in answers] == [True, False, False, False]
    assert store.inbox_counts() == {"new": 1}


def test_unhandled_topics_are_acknowledged_without_storing(receiver):
    client, store = receiver
    body = example_body("inventory_levels/update")
    response = client.post("/webhooks/shopify", content=body, headers=headers_for("inventory_levels/update", body))
    assert response.status_code == 200 and response.json()["stored"] is False
    assert store.inbox_counts() == {}


def test_events_style_unprefixed_headers_are_accepted(receiver):
    client, store = receiver
    body = example_body("orders/create")
    headers = {key.replace("X-Shopify-", "shopify-"): value for key, value in headers_for("orders/create", body).items()}
    assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
    assert store.inbox_counts() == {"new": 1}


def test_a_receiver_without_a_secret_refuses_to_start():
    with pytest.raises(ValueError, match="signing secret"):
        create_receiver_app(lambda: None, ["", None])  # type: ignore[list-item]
