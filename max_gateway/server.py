"""Build the gateway with the contract's routes only (no sandbox operations, no seed data)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from max_gateway.app import GatewayAuth, create_app
from max_gateway.reference.backend import ReferenceBackend


def build_app(database_url: str, auth: GatewayAuth, *, ordnum_first: int = 100001,
              ordnum_last: int = 99999999) -> tuple[FastAPI, Engine]:
    """The gateway over the reference backend on ``database_url`` (created or upgraded first)."""
    backend = ReferenceBackend.open(database_url, ordnum_first=ordnum_first, ordnum_last=ordnum_last)
    return create_app(backend, auth=auth), backend.engine
