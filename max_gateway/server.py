"""Build the gateway over its database, with the contract's routes only (no sandbox operations, no seed data)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from max_gateway.app import GatewayAuth, create_app
from max_gateway.reference.database import create_gateway_engine, prepare_database


def build_app(database_url: str, auth: GatewayAuth, *, ordnum_first: int = 100001,
              ordnum_last: int = 99999999) -> tuple[FastAPI, Engine]:
    engine = create_gateway_engine(database_url)
    prepare_database(engine, ordnum_first=ordnum_first, ordnum_last=ordnum_last)
    return create_app(engine, auth=auth), engine
