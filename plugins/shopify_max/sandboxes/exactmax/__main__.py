"""``python -m shopify_max.sandboxes.exactmax``: start the reference MAX gateway on loopback."""

from __future__ import annotations

import argparse
import os

import uvicorn

from shopify_max.sandboxes.exactmax.app import GatewayAuth
from shopify_max.sandboxes.exactmax.server import GatewayConfig, build_gateway


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shopify_max.sandboxes.exactmax", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--database-url", help="SQLAlchemy URL (env EXACTMAX_GATEWAY_DATABASE_URL)", default=os.environ.get("EXACTMAX_GATEWAY_DATABASE_URL",
                                                                 "sqlite:///exactmax-gateway.sqlite"))
    parser.add_argument("--products", type=int, default=200, help="catalogue size to seed (same as the Shopify sandbox)")
    parser.add_argument("--ordnum-first", type=int, default=100001, help="first ORDNUM of the range")
    parser.add_argument("--ordnum-last", type=int, default=99999999, help="last ORDNUM of the range")
    parser.add_argument("--username", help="Basic auth user (env EXACTMAX_GATEWAY_USER)",
                        default=os.environ.get("EXACTMAX_GATEWAY_USER", os.environ.get("EXACTMAX_GATEWAY_USERNAME")))
    parser.add_argument("--password", default=os.environ.get("EXACTMAX_GATEWAY_PASSWORD"), help="Basic auth password (env EXACTMAX_GATEWAY_PASSWORD)")
    parser.add_argument("--token", default=os.environ.get("EXACTMAX_GATEWAY_TOKEN"), help="bearer token (env EXACTMAX_GATEWAY_TOKEN)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every contract request")
    args = parser.parse_args(argv)
    config = GatewayConfig(database_url=args.database_url, products=args.products, ordnum_first=args.ordnum_first,
                           ordnum_last=args.ordnum_last, latency_ms=args.latency_ms,
                           auth=GatewayAuth(args.username, args.password, args.token))
    app, _engine = build_gateway(config)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
