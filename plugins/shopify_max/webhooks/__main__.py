"""Run the webhook receiver: ``python -m shopify_max.webhooks --host 127.0.0.1 --port 8703``.

The signing secret comes from the ``shopify_default`` connection's extra ``webhook_secret`` (plus
``previous_webhook_secret`` during a rotation); the inbox is the ``sync_store_default`` connection.
Both are read the way Airflow reads connections (``AIRFLOW_CONN_*`` variables or the metadata DB).
"""

from __future__ import annotations

import argparse

import uvicorn


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
    from shopify_max.webhooks.receiver import create_receiver_app

    extra = get_connection(args.shopify_conn_id).extra_dejson
    secrets = [extra.get("webhook_secret"), extra.get("previous_webhook_secret")]
    for secret in secrets:
        register_secret(secret)
    store_url = SyncStoreHook(args.sync_store_conn_id).sqlalchemy_url

    app = create_receiver_app(lambda: SyncStore.from_url(store_url), [s for s in secrets if s])
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
