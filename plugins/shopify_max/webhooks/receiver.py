"""Shopify webhook receiver (DESIGN.md: Components; SHOPIFY.md §7).

One endpoint, ``POST /webhooks/shopify``. For each delivery it:
1. refuses bodies over the size limit (413) before reading them whole;
2. verifies ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body)) in constant time; a missing
   or wrong signature gets 401 and nothing is stored. Several secrets may be configured, because after a
   rotation Shopify can sign with the old one for up to an hour;
3. stores the delivery in the sync store's inbox, de-duplicated on webhook id and on (topic, event id);
4. answers 200 at once: the work happens in the DAGs, well inside Shopify's 5 s budget.

Topics not handled here are acknowledged (200) and not stored, so Shopify does not retry them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shopify_max.sync_store import InboxDelivery, SyncStore

log = logging.getLogger(__name__)

HANDLED_TOPICS = frozenset({
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    # Mandatory compliance topics (GDPR): stored so a DAG can act on them and keep a record.
    "customers/redact",
    "customers/data_request",
    "shop/redact",
})
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024  # an order with hundreds of lines is well under this


def shopify_hmac(secret: str, body: bytes) -> str:
    """The signature Shopify sends: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_is_valid(secrets: Sequence[str], body: bytes, received: str | None) -> bool:
    """Constant-time comparison against each configured secret; every secret is always checked."""
    if not received:
        return False
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(shopify_hmac(secret, body).encode(), received.strip().encode())
    return matched


def _header(request: Request, name: str) -> str | None:
    """Shopify's classic ``X-Shopify-*`` headers, or the unprefixed ``shopify-*`` of events webhooks."""
    return request.headers.get(f"x-shopify-{name}") or request.headers.get(f"shopify-{name}")


def _parse_triggered_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _resource_gid(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if isinstance(payload, dict):
        gid = payload.get("admin_graphql_api_id")
        return str(gid) if gid else None
    return None


def _storable_text(body: bytes) -> str:
    """The body as text for the inbox. Valid JSON is UTF-8 without raw NUL bytes and is kept byte for byte;
    anything else (it can only end in the error queue) is decoded with replacement characters and NUL
    escaped, because PostgreSQL text cannot hold NUL."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\\u0000")


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it grows past ``limit`` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_receiver_app(
    store_factory: Callable[[], SyncStore],
    secrets: Sequence[str],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    handled_topics: frozenset[str] = HANDLED_TOPICS,
) -> FastAPI:
    """Build the receiver. ``store_factory`` is called once, at start-up."""
    if not [secret for secret in secrets if secret]:
        raise ValueError("the webhook receiver needs at least one signing secret")
    secrets = [secret for secret in secrets if secret]
    app = FastAPI(title="Shopify webhook receiver", docs_url=None, redoc_url=None)
    state: dict[str, SyncStore] = {}

    def store() -> SyncStore:
        if "store" not in state:
            state["store"] = store_factory()
        return state["store"]

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/shopify")
    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body_bytes:
            return JSONResponse({"error": f"body over {max_body_bytes} bytes"}, status_code=413)
        body = await _read_limited(request, max_body_bytes)
        if body is None:
            return JSONResponse({"error": f"body over {max_body_bytes} bytes"}, status_code=413)
        if not signature_is_valid(secrets, body, _header(request, "hmac-sha256")):
            log.warning("webhook refused: missing or invalid HMAC signature (topic %s)", _header(request, "topic"))
            return JSONResponse({"error": "invalid signature"}, status_code=401)

        topic, webhook_id = _header(request, "topic"), _header(request, "webhook-id")
        if not topic or not webhook_id:
            return JSONResponse({"error": "missing X-Shopify-Topic or X-Shopify-Webhook-Id"}, status_code=400)
        if topic not in handled_topics:
            log.info("webhook %s: topic %s is not handled, acknowledged without storing", webhook_id, topic)
            return JSONResponse({"stored": False, "reason": "topic not handled"})

        delivery = InboxDelivery(
            webhook_id=webhook_id,
            event_id=_header(request, "event-id"),
            topic=topic,
            shop_domain=_header(request, "shop-domain"),
            api_version=_header(request, "api-version"),
            triggered_at=_parse_triggered_at(_header(request, "triggered-at")),
            resource_gid=_resource_gid(body),
            payload=_storable_text(body),
        )
        stored = store().add_inbox_delivery(delivery)
        log.info("webhook %s %s %s: %s", webhook_id, topic, delivery.resource_gid,
                 "stored in inbox" if stored else "duplicate, already in inbox")
        return JSONResponse({"stored": stored, "duplicate": not stored})

    return app
