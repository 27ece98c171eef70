"""``python -m max_gateway``: run the MAX gateway (the contract's routes over its database)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from max_gateway.app import GatewayAuth


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    """Where it listens, its database, its ORDNUM range and its credentials (each also from the environment)."""
    env = os.environ.get
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--database-url", default=env("EXACTMAX_GATEWAY_DATABASE_URL", "sqlite:///exactmax-gateway.sqlite"),
                        help="SQLAlchemy URL (env EXACTMAX_GATEWAY_DATABASE_URL)")
    parser.add_argument("--ordnum-first", type=int, default=100001, help="first ORDNUM of the range")
    parser.add_argument("--ordnum-last", type=int, default=99999999, help="last ORDNUM of the range")
    parser.add_argument("--username", default=env("EXACTMAX_GATEWAY_USER", env("EXACTMAX_GATEWAY_USERNAME")),
                        help="Basic auth user (env EXACTMAX_GATEWAY_USER)")
    parser.add_argument("--password", default=env("EXACTMAX_GATEWAY_PASSWORD"),
                        help="Basic auth password (env EXACTMAX_GATEWAY_PASSWORD)")
    parser.add_argument("--token", default=env("EXACTMAX_GATEWAY_TOKEN"), help="bearer token (env EXACTMAX_GATEWAY_TOKEN)")


def auth_from(args: argparse.Namespace) -> GatewayAuth:
    return GatewayAuth(args.username, args.password, args.token)


def main(argv: list[str] | None = None) -> None:
    from max_gateway.server import build_app

    parser = argparse.ArgumentParser(prog="python -m max_gateway", description=__doc__)
    add_gateway_arguments(parser)
    args = parser.parse_args(argv)
    app, _engine = build_app(args.database_url, auth_from(args), ordnum_first=args.ordnum_first,
                             ordnum_last=args.ordnum_last)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
