"""The reference backend: a MAX-shaped database (SQLite, PostgreSQL or SQL Server by URL) that the gateway owns.

It writes the way MAXUpdate does, whole or not at all (``writes.py``), and assigns ORDNUM, invoice and shipment
numbers from its own ranges (``database.py``). The demo, the tests and the sandbox build run on it.
"""

from __future__ import annotations

from sqlalchemy import Engine

from max_gateway.backend import GatewayBackend
from max_gateway.reference import writes
from max_gateway.reference.database import create_gateway_engine, prepare_database


class ReferenceBackend(GatewayBackend):
    name = "reference"

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.engine = engine

    @classmethod
    def open(cls, database_url: str, *, ordnum_first: int = 100001, ordnum_last: int = 99999999) -> ReferenceBackend:
        """Create (or upgrade) the database and its number ranges, and return the backend over it."""
        engine = create_gateway_engine(database_url)
        prepare_database(engine, ordnum_first=ordnum_first, ordnum_last=ordnum_last)
        return cls(engine)

    def create_sales_order(self, xml: bytes, stype: str) -> dict:
        return writes.create_sales_order(self.engine, xml, stype)

    def create_customer(self, xml: bytes) -> dict:
        return writes.create_customer(self.engine, xml)

    def cancel_sales_order(self, xml: bytes) -> dict:
        return writes.cancel_sales_order(self.engine, xml)
