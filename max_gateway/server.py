"""Build the gateway from its settings: the backend they name, and the contract's routes over it (no sandbox
operations, no seed data)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from max_gateway.app import GatewayAuth, create_app
from max_gateway.backend import GatewayBackend
from max_gateway.config import GatewaySettings, MaxSettings
from max_gateway.reference.backend import ReferenceBackend


def build_app(database_url: str, auth: GatewayAuth, *, ordnum_first: int = 100001,
              ordnum_last: int = 99999999) -> tuple[FastAPI, Engine]:
    """The gateway over the reference backend on ``database_url`` (created or upgraded first)."""
    backend = ReferenceBackend.open(database_url, ordnum_first=ordnum_first, ordnum_last=ordnum_last)
    return create_app(backend, auth=auth), backend.engine


def open_backend(settings: GatewaySettings) -> GatewayBackend:
    if settings.backend == "max":
        return open_max_backend(settings.max)
    return ReferenceBackend.open(settings.reference.database_url.get_secret_value(), ordnum_first=settings.reference.ordnum_first,
                                 ordnum_last=settings.reference.ordnum_last)


def open_max_backend(settings: MaxSettings) -> GatewayBackend:
    """The ``max`` backend: the read engine, checked against every table and column the reads use (a missing one
    stops the start, named), and the MAXUpdate writer (initialised on its own thread or host process)."""
    from max_gateway.max.backend import MaxBackend
    from max_gateway.max.engine import check_max_schema, create_max_read_engine
    from max_gateway.max.journal import WriteJournal
    from max_gateway.max.maxupdate import MaxUpdateSettings, open_writer

    engine = create_max_read_engine(settings.database_url.get_secret_value(), settings.read_isolation,
                                    read_schema=settings.read_schema, lock_timeout_ms=settings.lock_timeout_ms)
    check_max_schema(engine, settings.read_schema)
    maxupdate = settings.maxupdate
    writer = open_writer(MaxUpdateSettings(
        connection_string=maxupdate.connection_string.get_secret_value(), company=maxupdate.company,
        license_path=maxupdate.license_path, log_path=maxupdate.log_path, error_report=maxupdate.error_report,
        com_class=maxupdate.com_class, call_timeout_seconds=maxupdate.call_timeout_seconds,
        host_python=maxupdate.host_python))
    return MaxBackend(engine, writer, WriteJournal(settings.journal_path), max_user=settings.max_user)


def build_app_from_settings(settings: GatewaySettings) -> tuple[FastAPI, GatewayBackend]:
    backend = open_backend(settings)
    return create_app(backend, auth=settings.auth.gateway_auth()), backend
