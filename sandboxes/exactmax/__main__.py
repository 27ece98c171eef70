"""``python -m sandboxes.exactmax``: the MAX gateway seeded with demo data, with sandbox operations and faults."""

from __future__ import annotations

import argparse

import uvicorn

from max_gateway.__main__ import add_gateway_arguments, settings_from
from sandboxes.exactmax.server import GatewayConfig, build_gateway


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.exactmax", description=__doc__)
    add_gateway_arguments(parser)
    parser.add_argument("--products", type=int, default=200, help="catalogue size to seed (same as the Shopify sandbox)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every contract request")
    args = parser.parse_args(argv)
    settings = settings_from(args)
    config = GatewayConfig(database_url=settings.reference.database_url.get_secret_value(), products=args.products,
                           ordnum_first=settings.reference.ordnum_first, ordnum_last=settings.reference.ordnum_last,
                           latency_ms=args.latency_ms, auth=settings.auth.gateway_auth())
    app, _engine = build_gateway(config)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
