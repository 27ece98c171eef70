"""The webhook receiver over real HTTP, with Shopify's own example payloads and a real sync store."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shopify_max.http_server import serve_in_thread
from shopify_max.sync_store import SyncStore
from shopify_max.webhooks.receiver import SigningSecret, create_receiver_app, shopify_hmac, signing_secrets_from_extra

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


# -- headers longer than the inbox can store ---------------------------------------------------------------
@pytest.mark.parametrize(("header", "limit"), [("X-Shopify-Webhook-Id", 255), ("X-Shopify-Event-Id", 255),
                                               ("X-Shopify-API-Version", 20), ("X-Shopify-Topic", 100),
                                               ("X-Shopify-Shop-Domain", 255)])
def test_a_header_longer_than_its_inbox_column_gets_400_naming_it_not_a_500(receiver, header, limit, caplog):
    """A 500 makes Shopify retry a delivery that can never be stored; 400 says what is wrong with it."""
    client, store = receiver
    body = example_body("orders/create")
    headers = headers_for("orders/create", body)
    headers[header] = (headers[header] + "-" + "x" * limit)[: limit + 1]
    response = client.post("/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 400
    assert header in response.json()["error"]
    assert any(header in record.getMessage() for record in caplog.records)
    assert store.inbox_counts() == {}
    # At the limit itself the delivery is stored.
    headers[header] = headers[header][:limit] if header != "X-Shopify-Topic" else "orders/create"
    assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200


# -- a slow client cannot hold the receiver ----------------------------------------------------------------
def test_a_body_that_does_not_arrive_within_the_body_timeout_gets_408_and_the_connection_is_closed(tmp_path):
    store = SyncStore.from_url(f"sqlite:///{tmp_path / 'slow.sqlite'}")
    app = create_receiver_app(lambda: store, [SECRET], body_timeout_s=0.5)
    body = example_body("orders/create")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers_for("orders/create", body).items())
    with serve_in_thread(app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as slow_client:
            slow_client.sendall(f"POST /webhooks/shopify HTTP/1.1\r\nHost: {host}\r\n{head}"
                                f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:100])
            started = time.monotonic()
            answer = b""
            while chunk := slow_client.recv(65536):  # the rest of the body never comes
                answer += chunk
            waited = time.monotonic() - started
    store.dispose()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert waited < 5, f"the receiver held the slow connection for {waited:.1f} s"
    assert store.inbox_counts() == {}


def test_the_receiver_process_runs_uvicorn_with_keep_alive_concurrency_and_head_size_limits(monkeypatch, tmp_path):
    from shopify_max.webhooks import __main__ as receiver_main

    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps(
        {"conn_type": "http", "host": "sandbox.myshopify.com", "extra": {"webhook_secret": SECRET}}))
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'store.sqlite'}"}}))
    started = {}
    monkeypatch.setattr(receiver_main.uvicorn, "run", lambda app, **options: started.update(options))
    assert receiver_main.main(["--port", "0"]) == 0
    assert 0 < started["timeout_keep_alive"] <= 5
    assert started["limit_concurrency"] and started["h11_max_incomplete_event_size"] and started["http"] == "h11"


# -- the previous secret of a rotation expires --------------------------------------------------------------
class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_a_running_receiver_stops_accepting_the_previous_secret_once_it_expires(tmp_path, caplog):
    from datetime import UTC, datetime, timedelta

    store = SyncStore.from_url(f"sqlite:///{tmp_path / 'rotation.sqlite'}")
    clock = Clock(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    secrets = [SigningSecret(SECRET), SigningSecret(OLD_SECRET, "previous_webhook_secret",
                                                    expires_at=clock.now + timedelta(hours=1))]
    app = create_receiver_app(lambda: store, secrets, clock=clock)
    body = example_body("orders/updated")
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        def post(secret):
            return client.post("/webhooks/shopify", content=body,
                               headers=headers_for("orders/updated", body, secret=secret)).status_code

        assert post(OLD_SECRET) == 200  # during the rotation window
        clock.now += timedelta(hours=1)
        assert post(OLD_SECRET) == 401  # the same process, an hour later
        assert post(SECRET) == 200
    store.dispose()
    messages = [record.getMessage() for record in caplog.records]
    assert any("previous_webhook_secret expired" in m for m in messages)
    assert any("signed with previous_webhook_secret, which has expired" in m for m in messages)


def test_the_previous_secret_is_accepted_only_until_its_configured_expiry():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    extra = {"webhook_secret": SECRET, "previous_webhook_secret": OLD_SECRET,
             "previous_webhook_secret_expires_at": "2026-11-27T07:00:00Z"}
    current, previous = signing_secrets_from_extra(extra, now=now)
    assert (current.value, current.expires_at) == (SECRET, None)
    assert previous.value == OLD_SECRET and previous.is_live(now)
    assert not previous.is_live(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    # Without a zone the time is UTC.
    naive = signing_secrets_from_extra({**extra, "previous_webhook_secret_expires_at": "2026-11-27T07:00:00"}, now=now)
    assert naive[1].expires_at == previous.expires_at


@pytest.mark.parametrize("expiry", [None, "", "next tuesday"])
def test_a_previous_secret_without_a_readable_expiry_is_not_accepted_and_the_log_says_why(expiry, caplog):
    extra = {"webhook_secret": SECRET, "previous_webhook_secret": OLD_SECRET}
    if expiry is not None:
        extra["previous_webhook_secret_expires_at"] = expiry
    assert [s.value for s in signing_secrets_from_extra(extra)] == [SECRET]
    assert any("previous secret is NOT accepted" in record.getMessage() for record in caplog.records)
