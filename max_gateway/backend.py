"""The backend interface: what the HTTP layer (``app.py``) asks of the system behind the gateway.

Two backends implement it, chosen by configuration (``max_gateway.config``):
- ``reference`` (``max_gateway.reference.backend``): a MAX-shaped database the gateway owns and writes itself; the
  demo, the tests and the sandbox run on it;
- ``max`` (``max_gateway.max.backend``): a real Exact MAX, read from its SQL Server database and written through
  MAXUpdate.

Both read MAX's tables with the same SQL (``max_gateway.sql``): the reads below are shared, each in a read
transaction of its own on the backend's read engine. They differ in how they connect and how they write.

Every write takes the eMAXExact document as sent (``app.py`` has already bounded its size), answers the contract's
JSON, and raises :class:`~max_gateway.xml_rules.TransactionRejected` (422) or
:class:`~max_gateway.sql.write_checks.DuplicateOrder` (409) when nothing was written.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from max_gateway.sql import credit_memo_reads, fulfilment_reads, reads

T = TypeVar("T")


class BackendUnavailable(Exception):
    """The backend cannot answer now (MAXUpdate down, an outcome it could not settle): 503, the client may retry.
    When raised by a write, nothing was written."""


class GatewayBackend(ABC):
    """Reads over ``read_engine`` (shared); writes, number assignment and health per backend."""

    name: str = "backend"
    restock_from_extension: bool = True  # where credit-memo lines' RESTCK come from (credit_memo_reads)

    def __init__(self, read_engine: Engine) -> None:
        self.read_engine = read_engine

    def read(self, function: Callable[..., T], *args: object) -> T:
        with self.read_engine.connect() as conn:
            return function(conn, *args)

    # ------------------------------------------------------------ writes (eMAXExact XML in, contract JSON out)
    @abstractmethod
    def create_sales_order(self, xml: bytes, stype: str) -> dict:
        """A sales order (``CU``) or credit memo (``CR``): ``{"ORDNUM", "STYPE", "CUSTPO", "lines": [...]}``."""

    @abstractmethod
    def create_customer(self, xml: bytes) -> dict:
        """A customer with its ship-tos: ``{"CUSTID", "ship_tos": [...]}``."""

    @abstractmethod
    def cancel_sales_order(self, xml: bytes) -> dict:
        """Status 3 to 4 while nothing has shipped: ``{"ORDNUM", "STATUS": "4"}``."""

    def check_health(self) -> dict:
        self.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar_one())
        return {"status": "ok", "backend": self.name}

    def close(self) -> None:
        self.read_engine.dispose()

    # ------------------------------------------------------------ reads (the same SQL on both backends)
    def list_parts(self, cursor: str | None, limit: int) -> dict:
        return self.read(reads.list_parts, cursor, limit)

    def list_stock(self, cursor: str | None, limit: int, parts: list[str] | None,
                   stockrooms: list[str] | None) -> dict:
        return self.read(reads.list_stock, cursor, limit, parts, stockrooms)

    def list_customers(self, cursor: str | None, limit: int) -> dict:
        return self.read(reads.list_customers, cursor, limit)

    def get_customer(self, custid: str) -> dict | None:
        return self.read(reads.get_customer, custid)

    def find_sales_orders(self, custpo: str) -> list[dict]:
        return self.read(lambda conn: reads.get_orders(conn, custpo=custpo))

    def get_sales_order(self, ordnum: str) -> dict | None:
        orders = self.read(lambda conn: reads.get_orders(conn, ordnum=ordnum))
        return orders[0] if orders else None

    def order_statuses(self, ordnums: list[str]) -> dict:
        return self.read(fulfilment_reads.order_statuses, ordnums)

    def list_shipments(self, since: int, limit: int) -> dict:
        return self.read(reads.list_shipments, since, limit)

    def list_tracking_changes(self, since: int, limit: int) -> dict:
        return self.read(fulfilment_reads.list_tracking_changes, since, limit)

    def list_invoices(self, since: str, limit: int) -> dict:
        return self.read(reads.list_invoices, since, limit)

    def get_invoice(self, invce: str) -> dict | None:
        return self.read(reads.get_invoice, invce)

    def list_payments(self, since: int, limit: int) -> dict:
        return self.read(fulfilment_reads.list_payments, since, limit)

    def list_prices(self, code: str, cursor: str | None, limit: int) -> dict | None:
        return self.read(reads.list_prices, code, cursor, limit)

    def code_tables(self) -> dict:
        return self.read(reads.code_tables)

    def credit_memos(self, *, ordnum: str | None = None, custpo: str | None = None,
                     appinv: str | None = None) -> list[dict]:
        def read(conn: Connection) -> list[dict]:
            return credit_memo_reads.credit_memos(conn, ordnum=ordnum, custpo=custpo, appinv=appinv,
                                                  restock_from_extension=self.restock_from_extension)
        return self.read(read)
