"""The OpenAPI document is the single source of truth: the gateway serves it, and its routes match it."""

from __future__ import annotations

from pathlib import Path

import requests
import yaml
from fastapi.routing import APIRoute
from max_gateway_helpers import make_order

from max_gateway.app import OPENAPI_PATH, create_app
from max_gateway.reference.backend import ReferenceBackend
from max_gateway.reference.database import create_gateway_engine
from sandboxes.exactmax.server import GatewayConfig, build_gateway
from shopify_max.exactmax.models import CreditMemo, SalesOrderLine
from shopify_max.exactmax.xml_builder import build_sales_order_xml

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _document_operations() -> set[tuple[str, str]]:
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in HTTP_METHODS}


def _routes(app) -> set[tuple[str, str]]:  # noqa: ANN001
    return {(method, route.path) for route in app.routes if isinstance(route, APIRoute) for method in route.methods}


def _sandbox_app(tmp_path: Path):  # noqa: ANN202
    return build_gateway(GatewayConfig(database_url=f"sqlite:///{tmp_path / 'sandbox.sqlite'}", products=3))[0]


def test_the_gateway_serves_exactly_the_contract_without_its_sandbox_operations(tmp_path: Path) -> None:
    app = create_app(ReferenceBackend(create_gateway_engine(f"sqlite:///{tmp_path / 'contract.sqlite'}")))
    assert _routes(app) == {(method, path) for method, path in _document_operations() if not path.startswith("/_sandbox")}


def test_the_sandbox_build_serves_the_contract_and_its_sandbox_operations(tmp_path: Path) -> None:
    assert _routes(_sandbox_app(tmp_path)) == _document_operations()


def test_query_and_path_parameters_match_the_openapi_document(tmp_path: Path) -> None:
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    shared = document["components"]["parameters"]
    app = _sandbox_app(tmp_path)
    for route in (r for r in app.routes if isinstance(r, APIRoute)):
        for method in route.methods:
            declared = document["paths"][route.path][method.lower()].get("parameters", [])
            declared = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in declared]
            expected = {(p["in"], p["name"]) for p in declared}
            actual = {("query", p.alias) for p in route.dependant.query_params}
            actual |= {("path", p.alias) for p in route.dependant.path_params}
            assert actual == expected, f"{method} {route.path}"


def test_every_operation_in_the_document_has_an_operation_id_and_responses() -> None:
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("operationId"), f"{method} {path}"
            assert operation.get("responses"), f"{method} {path}"


def test_gateway_serves_its_openapi_document_without_credentials(shared_gateway) -> None:
    response = requests.get(shared_gateway.base_url + "/openapi.yaml", timeout=10)
    assert response.status_code == 200
    assert response.text == OPENAPI_PATH.read_text(encoding="utf-8")


def test_contract_paths_require_credentials(shared_gateway) -> None:
    assert requests.get(shared_gateway.base_url + "/parts", timeout=10).status_code == 401
    wrong = requests.get(shared_gateway.base_url + "/parts", headers={"Authorization": "Bearer wrong-token"}, timeout=10)
    assert wrong.status_code == 401


def _schema(document: dict, name: str) -> dict:
    schema = document["components"]["schemas"][name]
    if "allOf" in schema:  # a schema extending another: the union of their properties
        parts = [_schema(document, p["$ref"].rsplit("/", 1)[1]) if "$ref" in p else p for p in schema["allOf"]]
        return {"properties": {k: v for part in parts for k, v in part["properties"].items()},
                "required": [r for part in parts for r in part.get("required", [])]}
    return schema


def test_fulfilment_reads_answer_exactly_the_documented_properties(shared_gateway) -> None:
    """Tracking changes, order statuses and payments carry every documented property, and nothing undocumented."""
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    created = shared_gateway.post_xml("/sales-orders", build_sales_order_xml(make_order()).xml)
    ordnum = created.json()["ORDNUM"]
    shipment = shared_gateway.sandbox("ship", ORDNUM=ordnum, tracking_number="1Z1")
    change = shared_gateway.sandbox("retrack", shipment_id=shipment["shipment_id"], tracking=[{"tracking_number": "1Z2"}])
    invce = shared_gateway.sandbox("invoice", ORDNUM=ordnum)["INVCE"]
    payment = shared_gateway.sandbox("pay", invoice=invce)

    def read(path: str, **params) -> dict:
        return shared_gateway.http.get(shared_gateway.base_url + path, params=params, timeout=10).json()

    answers = {
        "TrackingChange": read("/shipments/tracking-changes", since=int(change["change_seq"]) - 1)["items"][0],
        "OrderStatus": read("/sales-orders/status", ordnum=ordnum)["items"][0],
        "Payment": read("/payments", since=int(payment["payment_id"]) - 1)["items"][0],
    }
    for name, item in answers.items():
        schema = _schema(document, name)
        assert set(schema["required"]) <= set(item) <= set(schema["properties"]), name
    line_schema = _schema(document, "OrderStatus")["properties"]["lines"]["items"]
    assert set(answers["OrderStatus"]["lines"][0]) == set(line_schema["required"]) == set(line_schema["properties"])


def test_credit_memo_and_invoice_reads_answer_exactly_the_documented_properties(shared_gateway) -> None:
    """A credit memo read back (lines with RESTCK, stock moves, totals) and one invoice: documented, nothing more."""
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    order = make_order()
    ordnum = shared_gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml).json()["ORDNUM"]
    shared_gateway.sandbox("ship", ORDNUM=ordnum)
    invce = shared_gateway.sandbox("invoice", ORDNUM=ordnum)["INVCE"]
    memo = CreditMemo(CUSTID="WEB", CUSTPO=f"{order.CUSTPO[:20]}-R", ORDDTE=order.ORDDTE, APPINV=invce,
                      lines=[SalesOrderLine(LINNUM="01", PRTNUM=order.lines[0].PRTNUM, PRICE=1, ORGQTY=1, RESTCK="Y")])
    memo_ordnum = shared_gateway.post_xml("/credit-memos", build_sales_order_xml(memo).xml).json()["ORDNUM"]

    def read(path: str, **params) -> dict:
        return shared_gateway.http.get(shared_gateway.base_url + path, params=params, timeout=10).json()

    by_appinv = read("/credit-memos", appinv=invce)["items"]
    assert by_appinv == read("/credit-memos", custpo=memo.CUSTPO)["items"] == [read(f"/credit-memos/{memo_ordnum}")]
    answers = {"CreditMemo": by_appinv[0], "StockMove": by_appinv[0]["stock_moves"][0],
               "Invoice": read(f"/invoices/{invce}")}
    for name, item in answers.items():
        schema = _schema(document, name)
        assert set(schema["required"]) <= set(item) <= set(schema["properties"]), name
    line_schema = _schema(document, "CreditMemo")["properties"]["lines"]["items"]
    assert set(by_appinv[0]["lines"][0]) == set(line_schema["required"]) == set(line_schema["properties"])
    assert shared_gateway.http.get(f"{shared_gateway.base_url}/credit-memos/{ordnum}").status_code == 404  # a CU order
