"""End to end on the ``max`` backend: real ``orders_to_max`` and ``fulfilment_to_shopify`` DAG runs against the
Shopify sandbox and a gateway in front of a stand-in MAX (padded PostgreSQL tables behind the deployment guide's
read-only views, MAXUpdate simulated: ``sandboxes.exactmax.max_sandbox``). The flows cannot tell it from the
reference backend; a MAXUpdate call whose answer is lost half-way through an order still gives one whole order.

MAXUpdate cannot add customers, so these runs post web orders to one account (``customer_strategy: web_account``,
as docs/max-gateway-deployment.md tells a MAX site to).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator

import pytest
import yaml
from conftest import GATEWAY_AUTH, PRODUCTS, Stack, run_dag, running_stack
from test_orders_to_max import assert_same_in_max, run_orders_dag, staged_rows

from sandboxes.exactmax.max_sandbox import create_max_stand_in, drop_max_stand_in
from sandboxes.exactmax.server import GatewayConfig
from shopify_max.exactmax.models import SalesOrder
from shopify_max.paths import MAPPINGS_DIR

pytestmark = pytest.mark.e2e
PG_SERVER_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


@pytest.fixture
def max_stack(shop, tmp_path, monkeypatch, postgres_available) -> Iterator[Stack]:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable (set CI=true to make this a failure)")
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)
    rules = yaml.safe_load((mappings / "order_rules.yaml").read_text())
    (mappings / "order_rules.yaml").write_text(yaml.safe_dump(rules | {"customer_strategy": "web_account"}))
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(mappings))
    suffix = uuid.uuid4().hex[:12]
    stand_in = create_max_stand_in(PG_SERVER_URL, f"maxdb_{suffix}", f"maxgw_{suffix}", PRODUCTS)
    try:
        config = GatewayConfig(products=PRODUCTS, auth=GATEWAY_AUTH, max_stand_in=stand_in)
        with running_stack(shop, f"sqlite:///{tmp_path / 'sync.sqlite'}", config, monkeypatch) as running:
            assert running.gateway_admin.get("/health").json() == {"status": "ok", "backend": "max",
                                                                  "writer": "ready"}
            yield running
    finally:
        drop_max_stand_in(PG_SERVER_URL, stand_in, f"maxdb_{suffix}")


def test_orders_export_exactly_once_through_maxupdate_and_a_lost_answer_mid_order_gives_one_whole_order(
        airflow_metadata_db, dag_bag, max_stack):
    dag_run, summary = run_orders_dag(dag_bag)
    assert summary["exported"] >= 20 and summary["read"] == summary["exported"] + summary["skipped"] + summary["failed"]
    hook = max_stack.max_hook()
    exported = [row for row in staged_rows(max_stack, dag_run) if row.run_outcome == "exported"]
    for row in exported:  # read back from padded CHAR columns through the views, field by field
        sent = SalesOrder.model_validate(json.loads(row.mapped_json)["sales_order"])
        assert sent.CUSTID == "WEB"
        assert_same_in_max(sent, hook.get_sales_order(row.max_ordnum))

    maxupdate = max_stack.gateway_app.state.maxupdate  # the simulated MAXUpdate: the second line's answer is lost
    maxupdate.plan("AddSOLineItemXML", "")
    maxupdate.plan("AddSOLineItemXML", "raise")
    created = max_stack.shop_admin.post("/_sandbox/orders", json={"lines": [
        {"sku": "SKU-00001", "quantity": 1}, {"sku": "SKU-00002", "quantity": 2}, {"sku": "SKU-00003", "quantity": 3}]})
    created.raise_for_status()
    _run, again = run_orders_dag(dag_bag)
    assert (again["exported"], again["failed"]) == (1, 0), again
    ordnum = max_stack.store.max_key_for("order", created.json()["id"])
    orders = hook.find_sales_orders_by_custpo(f"SHOP{created.json()['name']}")
    assert [order.ORDNUM for order in orders] == [ordnum]
    staged = max_stack.store.staged_orders([created.json()["id"]])[created.json()["id"]]
    sent = SalesOrder.model_validate(json.loads(staged.mapped_json)["sales_order"])
    assert len(sent.lines) == 4  # three products and the shipping line
    assert_same_in_max(sent, orders[0])  # whole: every line, though the second line's answer was lost
    assert max_stack.gateway_admin.get("/health").json()["writer"] == "ready"
    _run, rerun = run_orders_dag(dag_bag)
    assert rerun["exported"] == 0


def test_a_max_shipment_read_from_padded_tables_becomes_a_shopify_fulfilment(airflow_metadata_db, dag_bag, max_stack):
    dag_run, _summary = run_orders_dag(dag_bag)
    row = next(row for row in staged_rows(max_stack, dag_run) if row.run_outcome == "exported")
    shipped = max_stack.gateway_admin.post("/_sandbox/ship", json={
        "ORDNUM": row.max_ordnum, "SHPVIA": "UP", "carrier": "UPS", "tracking_number": f"1Z{row.max_ordnum}"})
    shipped.raise_for_status()
    summary = run_dag(dag_bag, "fulfilment_to_shopify")
    assert (summary["failed"], summary["shipments"]) == (0, 1), summary
    assert summary["fulfilled"] == 1

