"""``python -m max_gateway``: run the MAX gateway, the contract's routes over the backend its settings name.

Settings come from ``--config FILE`` (TOML, or ``EXACTMAX_GATEWAY_CONFIG``), the environment and these flags, each
overriding the one before (``max_gateway.config``). Deployment on the MAX server: docs/max-gateway-deployment.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
from pathlib import Path

import uvicorn

from max_gateway.app import GatewayAuth
from max_gateway.config import GatewaySettings, load_settings

log = logging.getLogger("max_gateway")


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that override the settings file and the environment; left out, they override nothing."""
    parser.add_argument("--config", type=Path, help="TOML settings file (env EXACTMAX_GATEWAY_CONFIG)")
    parser.add_argument("--backend", choices=["reference", "max"], help="reference (default) or max")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default 8702)")
    parser.add_argument("--database-url", help="reference backend: SQLAlchemy URL (env EXACTMAX_GATEWAY_DATABASE_URL)")
    parser.add_argument("--ordnum-first", type=int, help="reference backend: first ORDNUM of the range")
    parser.add_argument("--ordnum-last", type=int, help="reference backend: last ORDNUM of the range")
    parser.add_argument("--username", help="Basic auth user (env EXACTMAX_GATEWAY_USER)")
    parser.add_argument("--password", help="Basic auth password (env EXACTMAX_GATEWAY_PASSWORD)")
    parser.add_argument("--token", help="bearer token (env EXACTMAX_GATEWAY_TOKEN)")


def settings_from(args: argparse.Namespace) -> GatewaySettings:
    return load_settings(args.config, overrides={
        "backend": args.backend, "host": args.host, "port": args.port,
        "reference": {"database_url": args.database_url, "ordnum_first": args.ordnum_first,
                      "ordnum_last": args.ordnum_last},
        "auth": {"username": args.username, "password": args.password, "token": args.token}})


def auth_from(args: argparse.Namespace) -> GatewayAuth:
    return settings_from(args).auth.gateway_auth()


def configure_logging(log_file: Path | None) -> None:
    """To stderr, and to ``log_file`` (rotated daily, 30 days kept) when set."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.TimedRotatingFileHandler(log_file, when="midnight", backupCount=30,
                                                                  encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)


def main(argv: list[str] | None = None) -> None:
    from max_gateway.server import build_app_from_settings

    parser = argparse.ArgumentParser(prog="python -m max_gateway", description=__doc__)
    add_gateway_arguments(parser)
    settings = settings_from(parser.parse_args(argv))
    configure_logging(settings.log_file)
    log.info("starting the MAX gateway: %s", json.dumps(settings.summary()))
    app, backend = build_app_from_settings(settings)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None,
                    ssl_certfile=settings.tls_certfile, ssl_keyfile=settings.tls_keyfile)
    finally:
        backend.close()


if __name__ == "__main__":
    main()
