"""Shopify webhook receiver (DESIGN.md: Components; SHOPIFY.md §7).

One endpoint, ``POST /webhooks/shopify``. For each delivery it:
1. refuses bodies over the size limit (413) before reading them whole, and a body that takes longer than
   the body timeout to arrive (408), so a slow client cannot hold the receiver;
2. verifies ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body)) in constant time; a missing
   or wrong signature gets 401 and nothing is stored. After a rotation Shopify can sign with the old secret
   for up to an hour (SHOPIFY.md §7), so the previous secret is accepted until its expiry time, checked on
   every request (:class:`SigningSecret`);
3. refuses a header longer than its inbox column (400, naming the header): a permanent fault, not a retry;
4. stores the delivery in the sync store's inbox, de-duplicated on webhook id and on (topic, event id);
5. answers 200 at once: the work happens in the DAGs, well inside Shopify's 5 s budget.

Topics not handled here are acknowledged (200) and not stored, so Shopify does not retry them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shopify_max.clock import as_utc, utcnow
from shopify_max.sync_store import InboxDelivery, SyncStore
from shopify_max.sync_store.tables import inbox

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
# Shopify gives up on a delivery after 5 s in total (SHOPIFY.md §7): a body still arriving after that is not
# Shopify's, and must not hold the receiver.
DEFAULT_BODY_TIMEOUT_S = 5.0
# Headers stored in the inbox, with the column each goes to: longer values cannot be stored (PostgreSQL
# refuses them), so they get 400 rather than a 500 that Shopify would retry for hours.
STORED_HEADERS = {
    "X-Shopify-Webhook-Id": ("webhook-id", inbox.c.webhook_id.type.length),
    "X-Shopify-Event-Id": ("event-id", inbox.c.event_id.type.length),
    "X-Shopify-Topic": ("topic", inbox.c.topic.type.length),
    "X-Shopify-Shop-Domain": ("shop-domain", inbox.c.shop_domain.type.length),
    "X-Shopify-API-Version": ("api-version", inbox.c.api_version.type.length),
}
# A rotation's previous secret, without an expiry time, is not used: Shopify needs it for at most an hour.
ROTATION_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class SigningSecret:
    """A webhook signing secret. ``expires_at`` (UTC) is set on a rotation's previous secret: from then on,
    deliveries signed with it are refused. The receiver checks it on every request."""

    value: str
    name: str = "webhook_secret"
    expires_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.expires_at is None or now < as_utc(self.expires_at)


def signing_secrets_from_extra(extra: Mapping[str, Any], *, now: datetime | None = None) -> list[SigningSecret]:
    """The secrets a receiver accepts, from the Shopify connection's extra.

    - ``webhook_secret``: the current secret, always accepted;
    - ``previous_webhook_secret``: during a rotation, accepted until ``previous_webhook_secret_expires_at``
      (ISO 8601; without a zone, UTC). Without a readable expiry it is not used, and the log says why: an old
      secret must not stay valid forever. Shopify takes up to an hour to sign with the new one (SHOPIFY.md §7),
      so set the expiry to about an hour after the rotation.
    """
    now = now or utcnow()
    secrets = [SigningSecret(extra["webhook_secret"])] if extra.get("webhook_secret") else []
    previous = extra.get("previous_webhook_secret")
    if not previous:
        return secrets
    raw_expiry = extra.get("previous_webhook_secret_expires_at")
    try:
        expires_at = as_utc(datetime.fromisoformat(str(raw_expiry).replace("Z", "+00:00"))) if raw_expiry else None
    except ValueError:
        expires_at = None
    if expires_at is None:
        log.error("previous_webhook_secret is set but previous_webhook_secret_expires_at is %s: the previous "
                  "secret is NOT accepted. Set the expiry (ISO time, about %s after the rotation) to accept it "
                  "until then, or remove the previous secret.",
                  "not a valid ISO time" if raw_expiry else "missing", ROTATION_WINDOW)
        return secrets
    if expires_at <= now:
        log.warning("previous_webhook_secret expired at %s: it is no longer accepted (remove it from the "
                    "connection)", expires_at.isoformat())
    elif expires_at - now > 24 * ROTATION_WINDOW:
        log.warning("previous_webhook_secret is accepted until %s, more than a day from now: Shopify needs at "
                    "most %s after a rotation", expires_at.isoformat(), ROTATION_WINDOW)
    else:
        log.info("previous_webhook_secret is accepted until %s", expires_at.isoformat())
    secrets.append(SigningSecret(previous, "previous_webhook_secret", expires_at))
    return secrets


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


def storable_text(body: bytes) -> str:
    """The body as text for the inbox. Valid JSON is UTF-8 without raw NUL bytes and is kept byte for byte;
    anything else (it can only end in the error queue) is decoded with replacement characters and NUL
    escaped, because PostgreSQL text cannot hold NUL."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\\u0000")


class BodyTooSlow(Exception):
    """The body did not arrive within the body timeout."""


async def _read_limited(request: Request, limit: int, timeout_s: float | None = None) -> bytes | None:
    """The raw body, or None as soon as it grows past ``limit`` bytes. Raises :class:`BodyTooSlow` when the
    whole body has not arrived within ``timeout_s`` seconds."""
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except TimeoutError as exc:
        raise BodyTooSlow(f"{size} bytes received in {timeout_s} s") from exc
    return b"".join(chunks)


def _over_long_header(request: Request) -> tuple[str, int, int] | None:
    """(header, length, limit) of the first stored header longer than its inbox column, else None."""
    for header, (name, limit) in STORED_HEADERS.items():
        value = _header(request, name)
        if value is not None and limit is not None and len(value) > limit:
            return header, len(value), limit
    return None


def create_receiver_app(
    store_factory: Callable[[], SyncStore],
    secrets: Sequence[str | SigningSecret],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
    handled_topics: frozenset[str] = HANDLED_TOPICS,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """Build the receiver. ``store_factory`` is called once, at start-up. Plain-string secrets never expire;
    a :class:`SigningSecret` with ``expires_at`` is refused from then on (``clock`` tells the time)."""
    signing = [s if isinstance(s, SigningSecret) else SigningSecret(s) for s in secrets if s]
    signing = [s for s in signing if s.value]
    if not signing:
        raise ValueError("the webhook receiver needs at least one signing secret")
    app = FastAPI(title="Shopify webhook receiver", docs_url=None, redoc_url=None)
    state: dict[str, SyncStore] = {}
    expiry_logged: set[str] = set()

    def live_secrets() -> list[str]:
        now = clock()
        live = []
        for secret in signing:
            if secret.is_live(now):
                live.append(secret.value)
            elif secret.name not in expiry_logged:
                expiry_logged.add(secret.name)
                log.warning("%s expired at %s: deliveries signed with it are refused from now on", secret.name,
                            secret.expires_at.isoformat() if secret.expires_at else "?")
        return live

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
        try:
            body = await _read_limited(request, max_body_bytes, body_timeout_s)
        except BodyTooSlow as slow:
            log.warning("webhook refused: body too slow (%s; limit %s s)", slow, body_timeout_s)
            # Connection: close, so the server does not wait for the rest of the body either.
            return JSONResponse({"error": f"body not received within {body_timeout_s} s"}, status_code=408,
                                headers={"Connection": "close"})
        if body is None:
            return JSONResponse({"error": f"body over {max_body_bytes} bytes"}, status_code=413)
        received_signature = _header(request, "hmac-sha256")
        if not signature_is_valid(live_secrets(), body, received_signature):
            expired = [s.name for s in signing if signature_is_valid([s.value], body, received_signature)]
            log.warning("webhook refused: %s (topic %s)",
                        f"signed with {expired[0]}, which has expired" if expired
                        else "missing or invalid HMAC signature", _header(request, "topic"))
            return JSONResponse({"error": "invalid signature"}, status_code=401)

        topic, webhook_id = _header(request, "topic"), _header(request, "webhook-id")
        if not topic or not webhook_id:
            return JSONResponse({"error": "missing X-Shopify-Topic or X-Shopify-Webhook-Id"}, status_code=400)
        over_long = _over_long_header(request)
        if over_long is not None:
            header, length, limit = over_long
            log.warning("webhook %.80s refused: %s is %d characters, at most %d can be stored", webhook_id, header,
                        length, limit)
            return JSONResponse({"error": f"{header} is {length} characters; at most {limit} are accepted"},
                                status_code=400)
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
            payload=storable_text(body),
        )
        stored = store().add_inbox_delivery(delivery)
        log.info("webhook %s %s %s: %s", webhook_id, topic, delivery.resource_gid,
                 "stored in inbox" if stored else "duplicate, already in inbox")
        return JSONResponse({"stored": stored, "duplicate": not stored})

    return app
