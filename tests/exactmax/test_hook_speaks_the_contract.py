"""One contract on both sides: every request ExactMaxHook makes is an operation of ``max_gateway/openapi.yaml``.

The gateway's routes are checked against the document in test_contract.py; here the hook's side is. Every public
hook method is exercised against the real gateway (over HTTP), which records the route each request matched.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml
from max_gateway_helpers import make_order, unique_custpo

from max_gateway.app import OPENAPI_PATH, GatewayAuth, create_app
from max_gateway.reference.backend import ReferenceBackend
from max_gateway.reference.database import create_gateway_engine
from sandboxes.exactmax.faults import FaultSettings
from sandboxes.exactmax.routes import sandbox_router
from sandboxes.exactmax.seed import seed_database
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.exactmax.models import CreditMemo, Customer, SalesOrderLine, ShipTo
from shopify_max.http_server import serve_in_thread

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


class RouteRecorder:
    """ASGI middleware: after each request, the (method, route template) the router matched."""

    def __init__(self, app, seen: set[tuple[str, str]]) -> None:  # noqa: ANN001
        self.app = app
        self.seen = seen

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        await self.app(scope, receive, send)
        route = scope.get("route")
        if scope["type"] == "http" and route is not None:
            self.seen.add((scope["method"], route.path))


def contract_operations() -> set[tuple[str, str]]:
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in HTTP_METHODS}


@pytest.fixture
def recording_gateway(tmp_path, monkeypatch):
    engine = create_gateway_engine(f"sqlite:///{tmp_path / 'max.sqlite'}")
    seed_database(engine, products=12)
    seen: set[tuple[str, str]] = set()
    faults = FaultSettings()
    app = create_app(ReferenceBackend(engine), auth=GatewayAuth(token="contract-token"), inner_middleware=[(RouteRecorder, {"seen": seen})],
                     routers=[sandbox_router(engine, faults)])
    with serve_in_thread(app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
            "conn_type": "http", "host": host, "port": int(port), "schema": "http",
            "extra": {"token": "contract-token", "timeout": 10}}))
        yield base_url, seen
    engine.dispose()


def test_every_request_the_hook_makes_is_an_operation_of_the_contract(recording_gateway):
    import requests

    base_url, seen = recording_gateway
    hook = ExactMaxHook(backoff_base=0.02, max_retry_wait=0.1)
    assert hook.test_connection()[0]
    price_list = hook.code_tables().price_lists[0].code
    assert list(hook.iter_prices(price_list, page_size=50))
    assert list(hook.iter_parts(page_size=5)) and list(hook.iter_stock(page_size=50))
    assert hook.get_customer(next(iter(hook.iter_customers())).CUSTID) is not None
    customer = Customer(CUSTID=f"C{unique_custpo()[-9:]}", NAME="Contract Test Co", TERMS="30", SHPVIA="UP",
                        ship_tos=[ShipTo(SHPCDE="MAIN", NAME="Contract Test Dock")])
    hook.create_customer(customer)
    order = hook.create_sales_order(make_order(unique_custpo("HK")))
    assert hook.find_sales_order_by_custpo(order.CUSTPO).ORDNUM == order.ORDNUM
    shipped = hook.create_sales_order(make_order(unique_custpo("HK")))
    sandbox = requests.Session()
    sandbox.headers["Authorization"] = "Bearer contract-token"
    shipment = sandbox.post(f"{base_url}/_sandbox/ship", json={"ORDNUM": shipped.ORDNUM, "carrier": "UPS",
                                                                "tracking_number": "1Z", "SHPVIA": "UP"}).json()
    sandbox.post(f"{base_url}/_sandbox/retrack", json={"shipment_id": shipment["shipment_id"],
                                                        "tracking": [{"tracking_number": "1Z2"}]}).raise_for_status()
    invoice = sandbox.post(f"{base_url}/_sandbox/invoice", json={"ORDNUM": shipped.ORDNUM}).json()
    sandbox.post(f"{base_url}/_sandbox/pay", json={"invoice": invoice["INVCE"]}).raise_for_status()
    assert list(hook.iter_shipments()) and list(hook.iter_invoices())
    assert list(hook.iter_tracking_changes()) and list(hook.iter_payments())
    assert list(hook.order_statuses([shipped.ORDNUM])) == [shipped.ORDNUM]
    memo = hook.create_credit_memo(CreditMemo(CUSTID="WEB", CUSTPO=unique_custpo("CR"), ORDDTE=make_order().ORDDTE,
                                              APPINV=invoice["INVCE"],
                                              lines=[SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001", RESTCK="Y",
                                                                    PRICE=Decimal("1"), ORGQTY=Decimal(1))]))
    assert hook.get_credit_memo(memo.ORDNUM).stock_moves
    assert [m.ORDNUM for m in hook.find_credit_memos_by_custpo(memo.CUSTPO)] == [memo.ORDNUM]
    assert [m.ORDNUM for m in hook.credit_memos_for_invoice(invoice["INVCE"])] == [memo.ORDNUM]
    assert hook.get_invoice(invoice["INVCE"]).ORDNUM == shipped.ORDNUM
    hook.cancel_sales_order(order.ORDNUM)
    assert hook.get_sales_order(order.ORDNUM).STATUS == "4"

    hook_requests = {(method, path) for method, path in seen if not path.startswith("/_sandbox")}
    assert len(hook_requests) >= 10  # the recorder saw the hook's traffic
    assert hook_requests <= contract_operations(), hook_requests - contract_operations()
    unused = {(m, p) for m, p in contract_operations() - hook_requests
              if not p.startswith("/_sandbox") and p != "/openapi.yaml"}
    assert unused == set(), f"contract operations the hook never calls: {sorted(unused)}"
