"""``python -m sandboxes.shopify``: serve the Shopify sandbox on loopback."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from sandboxes.shopify.app import DEFAULT_TOKEN, Faults, SandboxConfig, create_app
from sandboxes.shopify.cost import PRESETS
from sandboxes.shopify.webhooks import WebhookSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the Admin API access token clients must send")
    parser.add_argument("--products", type=int, default=40, help="catalogue size (3 locations: ~3.3 levels each)")
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plan", choices=sorted(PRESETS), default="standard", help="bucket preset")
    parser.add_argument("--bucket-size", type=float, help="override the plan's bucket size (points)")
    parser.add_argument("--restore-rate", type=float, help="override the plan's restore rate (points/s)")
    parser.add_argument("--webhook-url", help="where to POST order webhooks")
    parser.add_argument("--webhook-secret", default="sandbox-webhook-secret")
    parser.add_argument("--announce-seed", action="store_true", help="send orders/create for every seeded order")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-5xx-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--throttle-429-rate", type=float, default=0.0)
    parser.add_argument("--storm-rate", type=float, default=0.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    config = SandboxConfig(
        token=args.token, announce_seed=args.announce_seed, products=args.products, orders=args.orders,
        seed=args.seed, plan=args.plan,
        bucket_size=args.bucket_size, restore_rate=args.restore_rate,
        webhooks=WebhookSettings(url=args.webhook_url, secret=args.webhook_secret),
        faults=Faults(latency_ms=args.latency_ms, error_5xx_rate=args.error_5xx_rate, drop_rate=args.drop_rate,
                      throttle_429_rate=args.throttle_429_rate, storm_rate=args.storm_rate),
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info", lifespan="off")


if __name__ == "__main__":
    main()
