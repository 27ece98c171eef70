"""Helpers shared by the MAX gateway tests: credentials, a valid order, plain HTTP access to the gateway."""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import date
from decimal import Decimal

import requests
import sqlalchemy as sa

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import RunningGateway
from shopify_max.exactmax.models import SalesOrder, SalesOrderLine

PG_URL = os.environ.get("SHOPIFY_MAX_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
USERNAME = "max-integration"
PASSWORD = "gateway-password-1"
TOKEN = "gateway-token-abcdef123"
PRODUCTS = 60
AUTH = GatewayAuth(username=USERNAME, password=PASSWORD, token=TOKEN)
_custpo_counter = itertools.count(1)


def unique_custpo(prefix: str = "T") -> str:
    """A CUSTPO no other test uses (a shared gateway sees many tests' orders)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}-{next(_custpo_counter)}"[:25]


def make_order(custpo: str | None = None, lines: int = 2, **header) -> SalesOrder:
    """A valid order for the seeded customer ``WEB`` on seeded parts (PRT-00001, PRT-00002, ...)."""
    parts = [f"PRT-{i:05d}" for i in range(1, PRODUCTS) if i % 25 != 7][:lines]
    return SalesOrder(
        CUSTID=header.pop("CUSTID", "WEB"), CUSTPO=custpo or unique_custpo(), ORDDTE=date(2026, 11, 27),
        lines=[SalesOrderLine(LINNUM=f"{n:02d}", PRTNUM=part, PRICE=Decimal("12.50"), ORGQTY=Decimal(n))
               for n, part in enumerate(parts, start=1)],
        **header,
    )


def max_orders(gateway: GatewayClient, custpo: str) -> list[tuple[str, int]]:
    """(ORDNUM, number of lines) of every order MAX holds with this CUSTPO, read from MAX's own tables."""
    with gateway.engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT m."ORDNUM_27", (SELECT COUNT(*) FROM "SO_Detail" d WHERE d."ORDNUM_28" = '
                                    'm."ORDNUM_27") FROM "SO_Master" m WHERE m."CUSTPO_27" = :c'), {"c": custpo}).all()
    return [(ordnum.strip(), count) for ordnum, count in rows]


class GatewayClient:
    """Plain HTTP access to a running gateway (for raw-XML rule tests and sandbox operations)."""

    def __init__(self, running: RunningGateway) -> None:
        self.running = running
        self.base_url = running.base_url
        self.engine = running.engine
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def post_xml(self, path: str, xml: bytes) -> requests.Response:
        return self.http.post(self.base_url + path, data=xml, headers={"Content-Type": "application/xml"}, timeout=30)

    def sandbox(self, operation: str, **body) -> dict:
        response = self.http.post(f"{self.base_url}/_sandbox/{operation}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def set_faults(self, rules: list[dict], latency_ms: int = 0) -> None:
        response = self.http.put(f"{self.base_url}/_sandbox/faults", json={"latency_ms": latency_ms, "rules": rules})
        assert response.status_code == 200, response.text

    def faults_fired(self) -> dict:
        return self.http.get(f"{self.base_url}/_sandbox/faults").json()["fired"]

    def count_orders(self, custpo: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text('SELECT COUNT(*) FROM "SO_Master" WHERE "CUSTPO_27" = :c'), {"c": custpo}).scalar_one()
