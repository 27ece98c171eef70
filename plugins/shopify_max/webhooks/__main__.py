"""Run the webhook receiver: ``python -m shopify_max.webhooks --host 127.0.0.1 --port 8703``.

The signing secret comes from the ``shopify_default`` connection's extra ``webhook_secret``; during a
rotation, ``previous_webhook_secret`` is accepted too until ``previous_webhook_secret_expires_at`` (an ISO
time, about an hour after the rotation; without it the previous secret is not used, see
:func:`~shopify_max.webhooks.receiver.signing_secrets_from_extra`). The inbox is the ``sync_store_default``
connection. Both are read the way Airflow reads connections (``AIRFLOW_CONN_*`` variables or the metadata DB).

Slow clients: uvicorn closes an idle keep-alive connection after ``KEEP_ALIVE_TIMEOUT_S``, refuses
connections beyond ``MAX_CONCURRENCY`` (503) and bounds the size of a request head
(``MAX_HEAD_BYTES``, h11); the app answers 408 to a body that takes longer than its body timeout. uvicorn has
no timeout for reading the request head itself: when the receiver faces the internet, put it behind a proxy
that has one (nginx ``client_header_timeout``).
"""

from __future__ import annotations

import argparse

import uvicorn

KEEP_ALIVE_TIMEOUT_S = 5  # Shopify opens a connection per delivery; an idle one is closed after this
MAX_CONCURRENCY = 200  # open connections (and tasks) at once; more get 503, which Shopify retries
MAX_HEAD_BYTES = 64 * 1024  # request line and headers; a Shopify delivery's are a few hundred bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Shopify webhook receiver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8703)
    parser.add_argument("--shopify-conn-id", default="shopify_default")
    parser.add_argument("--sync-store-conn-id", default="sync_store_default")
    args = parser.parse_args(argv)

    from shopify_max.airflow_glue.connections import get_connection
    from shopify_max.airflow_glue.sync_store_hook import SyncStoreHook
    from shopify_max.redaction import register_secret
    from shopify_max.sync_store import SyncStore
    from shopify_max.webhooks.receiver import create_receiver_app, signing_secrets_from_extra

    extra = get_connection(args.shopify_conn_id).extra_dejson
    for secret in (extra.get("webhook_secret"), extra.get("previous_webhook_secret")):
        register_secret(secret)
    secrets = signing_secrets_from_extra(extra)
    store_url = SyncStoreHook(args.sync_store_conn_id).sqlalchemy_url

    app = create_receiver_app(lambda: SyncStore.from_url(store_url), secrets)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", **server_limits())
    return 0


def server_limits() -> dict[str, object]:
    """uvicorn settings that keep a slow or idle client from holding the receiver."""
    return {"http": "h11", "timeout_keep_alive": KEEP_ALIVE_TIMEOUT_S, "limit_concurrency": MAX_CONCURRENCY,
            "h11_max_incomplete_event_size": MAX_HEAD_BYTES}


if __name__ == "__main__":
    raise SystemExit(main())
