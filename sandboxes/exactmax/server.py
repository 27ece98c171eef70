"""The sandbox gateway: the MAX gateway seeded with demo data, plus ``/_sandbox`` operations and fault knobs; run
from the CLI (``python -m sandboxes.exactmax``) or in a background thread on an ephemeral port for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from max_gateway.app import GatewayAuth, create_app
from max_gateway.reference.backend import ReferenceBackend
from max_gateway.reference.database import create_gateway_engine
from sandboxes.exactmax.faults import FaultMiddleware, FaultSettings
from sandboxes.exactmax.max_sandbox import MaxStandIn, max_backend_on
from sandboxes.exactmax.routes import sandbox_router
from sandboxes.exactmax.seed import seed_database
from sandboxes.exactmax.write_log import WriteLog, WriteLogMiddleware


@dataclass
class GatewayConfig:
    database_url: str = "sqlite:///exactmax-gateway.sqlite"
    products: int = 200
    ordnum_first: int = 100001
    ordnum_last: int = 99999999
    auth: GatewayAuth = field(default_factory=GatewayAuth)
    latency_ms: int = 0
    max_stand_in: MaxStandIn | None = None  # set: the max backend over this stand-in MAX (max_sandbox.py)


def build_gateway(config: GatewayConfig) -> tuple[FastAPI, Engine]:
    """Create the schema, seed it (once) and return the app and its engine."""
    if config.max_stand_in is not None:
        backend, simulator = max_backend_on(config.max_stand_in)
        engine = config.max_stand_in.admin_engine  # what MAX's own screens write: the sandbox operations
    else:
        engine = create_gateway_engine(config.database_url)
        seed_database(engine, products=config.products, ordnum_first=config.ordnum_first,
                      ordnum_last=config.ordnum_last)
        backend, simulator = ReferenceBackend(engine), None
    faults = FaultSettings()
    faults.configure(latency_ms=config.latency_ms)
    writes = WriteLog()
    # Later middleware wraps earlier: the write log sees every write request, faulted or not.
    app = create_app(backend, auth=config.auth,
                     inner_middleware=[(FaultMiddleware, {"settings": faults}), (WriteLogMiddleware, {"log": writes})],
                     routers=[sandbox_router(engine, faults, writes)])
    app.state.faults = faults
    app.state.maxupdate = simulator
    app.state.max_stand_in = config.max_stand_in
    app.state.writes = writes
    return app, engine


@dataclass
class RunningGateway:
    base_url: str
    host: str
    port: int
    app: FastAPI
    engine: Engine


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def run_in_thread(config: GatewayConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningGateway]:
    """Serve the gateway from a uvicorn server in a daemon thread; stop it on exit."""
    app, engine = build_gateway(config)
    port = port or _free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=1, lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"exactmax-gateway-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the MAX gateway did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield RunningGateway(f"http://{host}:{port}", host, port, app, engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.backend.close()
        engine.dispose()
