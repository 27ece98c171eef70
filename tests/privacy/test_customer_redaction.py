"""Compliance: after ``customers/redact`` the customer's personal data is nowhere in the sync store, and
everyone else's is untouched; ``customers/data_request`` reports what is held without the values; and
``shop/redact`` erases every customer's data. On SQLite and PostgreSQL.

The store is filled through the real code paths: Shopify's example order (orders.create.json) given each
customer's details, posted to the webhook receiver, captured, mapped and exported by the orders pipeline
to the reference MAX gateway over HTTP (``ExactMaxHook``), whose own rules accept or refuse each order;
compliance requests are Shopify's example payloads (customers.redact.json ...) with the customer's id,
e-mail and phone.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.http_server import serve_in_thread
from shopify_max.mappings import load_mappings
from shopify_max.orders.pipeline import capture_orders, export_staged_orders, map_staged_orders
from shopify_max.privacy import act_on_privacy_requests
from shopify_max.sync_store import AuditEntry
from shopify_max.webhooks.receiver import create_receiver_app, shopify_hmac

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = PROJECT_ROOT / "include" / "vendor" / "shopify" / "webhooks"
SECRET = "whsec-privacy-test"
MAX_USER, MAX_PASSWORD = "max-privacy", "max-privacy-password"
MAX_PRODUCTS = 12  # the gateway's catalogue: PRT-00001..PRT-00012 except PRT-00007 (Shopify-only, seed.py)
RETIRED_SKU = "SKU-00007"  # mapped to PRT-00007 below, a part MAX does not hold: the gateway refuses the order
BIG = 2**53  # Shopify ids exceed it: a JSON reader that rounds them would redact the wrong customer
pytestmark = pytest.mark.slow  # each test first drives six deliveries through the receiver, the pipeline and MAX


def example(topic: str) -> dict:
    return json.loads((WEBHOOKS / f"{topic.replace('/', '.')}.json").read_text())["response"]


@dataclass(frozen=True)
class Person:
    customer_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    address1: str
    address2: str
    city: str
    zip: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def personal_values(self) -> list[str]:
        return [self.email, self.phone, self.first_name, self.last_name, self.name, self.address1, self.address2,
                self.city, self.zip]

    def address(self, **changes) -> dict:
        return {"first_name": self.first_name, "last_name": self.last_name, "name": self.name, "company": None,
                "address1": self.address1, "address2": self.address2, "city": self.city, "zip": self.zip,
                "province": "Nova Scotia", "province_code": "NS", "country": "Canada", "country_code": "CA",
                "phone": self.phone, **changes}


ZELDA = Person(BIG + 7, "Zelda", "Quillfeather", "Zelda.Quillfeather@privacy.example", "+1 902-555-0142",
               "77 Larkspur Street", "Unit 9 Larkspur Court", "Wolfville", "B4P 2R6")
BARNABY = Person(BIG + 8, "Barnaby", "Oakenshield", "barnaby.oakenshield@keep.example", "+1 613-555-0199",
                 "5 Juniper Lane", "Suite 12 Juniper House", "Kanata", "K2K 1X1")
ZELDA_ABROAD = "Bjørnstjerne Hof 3"  # a second ship-to of hers, which MAX cannot store (transliteration: flag)
# A personalised item: the line's name carries her name, and its SKU has no MAX part (the mapper quotes both).
ZELDA_NAMEPLATE = {"sku": "NAMEPLATE-ENGRAVED", "title": "Engraved nameplate",
                   "name": f"Engraved nameplate - {ZELDA.name}", "variant_title": ZELDA.name}


def order_payload(number: int, person: Person, *, guest: bool = False, line: dict | None = None,
                  ship_to: dict | None = None) -> dict:
    """Shopify's example order, made live and given ``person``'s details."""
    payload = copy.deepcopy(example("orders/create"))
    order_id = BIG + number
    payload.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=f"#{number}",
                   order_number=number, cancelled_at=None, cancel_reason=None, test=False,
                   email=None if guest else person.email, contact_email=None if guest else person.email,
                   phone=None if guest else person.phone,
                   billing_address=person.address(**({"phone": None} if guest else {})),
                   shipping_address=ship_to or person.address(**({"phone": None} if guest else {})))
    payload["customer"] = None if guest else {
        **payload["customer"], "id": person.customer_id,
        "admin_graphql_api_id": f"gid://shopify/Customer/{person.customer_id}", "first_name": person.first_name,
        "last_name": person.last_name, "email": person.email, "phone": person.phone,
        "default_address": {**person.address(), "customer_id": person.customer_id}}
    if line:
        payload["line_items"][0].update(line)
    return payload


def compliance_payload(topic: str, person: Person, order_numbers: list[int]) -> dict:
    payload = example(topic)
    payload["customer"] = {"id": person.customer_id, "email": person.email, "phone": person.phone}
    key = "orders_to_redact" if topic == "customers/redact" else "orders_requested"
    payload[key] = [BIG + number for number in order_numbers]
    return payload


MAPPING_FILES = {
    "sku_to_part.csv": "sku,part_number,sales_uom,uom_factor\n" + "".join(
        f"{item['sku']},PRT-{n:05d},EA,1\n" for n, item in enumerate(example("orders/create")["line_items"], 1))
    + f"{RETIRED_SKU},PRT-00007,EA,1\n",
    "tax_codes.csv": "tax_title,rate,max_tax_code\n",
    "payment_gateways.csv": "gateway,max_terms\nvisa,CC\nbogus,CC\n",
    "shipping_methods.csv": "shipping_title,max_ship_via,shopify_carrier\nGeneric Shipping,UP,UPS\n",
    "order_rules.yaml": (PROJECT_ROOT / "include/mappings/order_rules.yaml").read_text()
    .replace("transliteration: transliterate", "transliteration: flag"),
}


@dataclass
class Shop:
    store: object
    post: object  # post(topic, payload dict or raw bytes) -> HTTP status


@pytest.fixture
def shop(sync_store, tmp_path, monkeypatch):
    """The sync store after orders of two customers went through the receiver and the orders pipeline."""
    (tmp_path / "mappings").mkdir()
    for name, text in MAPPING_FILES.items():
        (tmp_path / "mappings" / name).write_text(text)
    mappings = load_mappings(tmp_path / "mappings")
    app = create_receiver_app(lambda: sync_store, [SECRET])
    gateway_config = GatewayConfig(database_url=f"sqlite:///{tmp_path / 'max.sqlite'}", products=MAX_PRODUCTS,
                                   auth=GatewayAuth(username=MAX_USER, password=MAX_PASSWORD))
    with run_gateway(gateway_config) as gateway, serve_in_thread(app) as base_url, \
            httpx.Client(base_url=base_url, timeout=10) as client:
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http", "login": MAX_USER,
            "password": MAX_PASSWORD, "extra": {"timeout": 5, "write_attempts": 2}}))

        def post(topic: str, payload) -> int:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                       "X-Shopify-Hmac-Sha256": shopify_hmac(SECRET, body), "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                       "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
                       "X-Shopify-API-Version": "2026-07"}
            return client.post("/webhooks/shopify", content=body, headers=headers).status_code

        deliveries = [
            ("orders/create", order_payload(1001, ZELDA)),  # exported, with her new MAX account
            ("orders/create", order_payload(1002, ZELDA, ship_to=ZELDA.address(address2=ZELDA_ABROAD),
                                            line=ZELDA_NAMEPLATE)),  # map error quoting both
            # refused by MAX (unknown part); hers by orders_to_redact only
            ("orders/create", order_payload(1003, ZELDA, guest=True, line={"sku": RETIRED_SKU})),
            ("orders/create", order_payload(2001, BARNABY)),  # exported
            ("orders/create", order_payload(2002, BARNABY, line={"sku": "NOT-IN-MAX"})),  # map error
        ]
        for topic, payload in deliveries:
            assert post(topic, payload) == 200
        broken = order_payload(1004, ZELDA)
        broken["line_items"] = "not a list"  # an unreadable delivery: capture error, raw payload kept
        assert post("orders/updated", broken) == 200

        capture_orders(sync_store, None, run_id="run-1", window=None)
        map_staged_orders(sync_store, mappings, run_id="run-1")
        for staged in sync_store.orders_in_stage(run_id="run-1", statuses=["mapped"]):
            sync_store.set_stage_status(staged.order_gid, "validated")  # the GX suite is not under test here
        export_staged_orders(sync_store, ExactMaxHook(), run_id="run-1")
        # A hand-written audit entry about her order, as an on-call engineer's note would be.
        sync_store.write_audit([AuditEntry(entity="order", record_key="#1001", direction="manual", outcome="noted",
                                           request={"note": f"{ZELDA.name} called from {ZELDA.phone}"})])
        yield Shop(sync_store, post)


def text_columns_holding(store, value: str) -> list[str]:
    """Every text column of every table (read from the database itself) that contains ``value``."""
    found = []
    with store.engine.connect() as conn:
        for table_name in sa.inspect(conn).get_table_names():
            table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
            for column in table.columns:
                if not isinstance(column.type, sa.String):
                    continue
                hits = conn.execute(sa.select(sa.func.count()).where(
                    sa.func.lower(column).contains(value.lower(), autoescape=True))).scalar_one()
                if hits:
                    found.append(f"{table_name}.{column.name}")
    return sorted(found)  # the catalogue's table order differs between SQLite and PostgreSQL


def test_the_fixture_holds_both_customers_data_in_every_table_that_takes_it(shop):
    """Guard: the compliance test below means something only if her data was there to begin with."""
    for person in (ZELDA, BARNABY):
        assert {"order_stage.order_json", "inbox.payload", "error_queue.payload", "audit_log.request"} <= set(
            text_columns_holding(shop.store, person.name)), person
    assert "error_queue.reason" in text_columns_holding(shop.store, ZELDA_ABROAD)
    assert "order_stage.run_outcome_reason" in text_columns_holding(shop.store, ZELDA.name)
    # MAX really refused her guest order, and the error item keeps the eMAXExact document with her ship-to.
    [refused] = [item for item in shop.store.list_errors() if item.record_key == "#1003"]
    assert refused.stage == "export" and "unknown_part" in refused.reason
    assert f"<NAME_27>{ZELDA.name}</NAME_27>" in refused.payload and ZELDA.address1 in refused.payload


def test_after_customers_redact_her_personal_data_is_nowhere_in_the_sync_store(shop):
    before = {person: {value: text_columns_holding(shop.store, value) for value in person.personal_values()}
              for person in (BARNABY,)}
    assert shop.post("customers/redact", compliance_payload("customers/redact", ZELDA, [1001, 1003])) == 200
    row_counts = _row_counts(shop.store)

    summary = act_on_privacy_requests(shop.store, run_id="maintenance-1")

    for value in [*ZELDA.personal_values(), ZELDA_ABROAD, "77 Larkspur St"]:
        assert text_columns_holding(shop.store, value) == [], value
    # Everyone else's data is untouched, and no row was deleted.
    assert {value: text_columns_holding(shop.store, value) for value in BARNABY.personal_values()} == before[BARNABY]
    assert _row_counts(shop.store) == {**row_counts, "audit_log": row_counts["audit_log"] + 1}
    [acted] = summary["acted_on"]
    assert acted["outcome"] == "redacted" and acted["result"]["orders"] == 4
    assert acted["result"]["rows_changed"]["order_stage"] == 3  # 1004 never staged: its delivery was unreadable


def test_a_redaction_is_recorded_without_personal_data_and_its_delivery_is_processed(shop):
    shop.post("customers/redact", compliance_payload("customers/redact", ZELDA, [1001, 1003]))
    act_on_privacy_requests(shop.store, run_id="maintenance-1")

    [record] = shop.store.audit_entries(entity="privacy")
    assert record["contains_pii"] is False and record["outcome"] == "redacted"
    assert record["record_key"].startswith("customers/redact (inbox ")
    request = json.loads(record["request"])
    assert request["customer_gid"] == f"gid://shopify/Customer/{ZELDA.customer_id}"  # exact, though over 2^53
    assert json.loads(record["response"])["rows_changed"] == {"order_stage": 3, "inbox": 4, "error_queue": 3,
                                                              "audit_log": 3}
    # The fixture's five orders/create and this request processed; its unreadable orders/updated stays failed.
    assert shop.store.inbox_counts() == {"processed": 6, "failed": 1}
    # What happened to her orders stays readable: statuses, ids, outcomes.
    staged = shop.store.staged_orders([f"gid://shopify/Order/{BIG + n}" for n in (1001, 1002, 1003)])
    assert {order.order_name: order.status for order in staged.values()} == {
        "#1001": "exported", "#1002": "failed", "#1003": "failed"}
    assert all(order.order_json is None and order.mapped_json is None for order in staged.values())
    assert staged[f"gid://shopify/Order/{BIG + 1001}"].max_ordnum
    [refused] = [item for item in shop.store.list_errors() if item.record_key == "#1003"]
    assert refused.stage == "export" and "unknown_part" in refused.reason and refused.payload is None


def test_acting_on_the_same_redaction_twice_changes_nothing_more(shop):
    payload = compliance_payload("customers/redact", ZELDA, [1001, 1003])
    shop.post("customers/redact", payload)
    act_on_privacy_requests(shop.store)
    snapshot = _all_text(shop.store)
    shop.post("customers/redact", payload)  # Shopify retries; a new webhook id
    act_on_privacy_requests(shop.store)
    assert _all_text(shop.store) == snapshot


def test_a_data_request_reports_what_is_held_without_the_values(shop, caplog):
    caplog.set_level("DEBUG")
    shop.post("customers/data_request", compliance_payload("customers/data_request", ZELDA, [1001]))

    summary = act_on_privacy_requests(shop.store, run_id="maintenance-1")

    [acted] = summary["acted_on"]
    report = acted["result"]
    assert acted["outcome"] == "reported" and acted["data_request_id"] == "9999"
    assert report["orders"] == ["#1001", "#1002", "#1004"]  # #1003 is a guest order and not requested
    assert report["order_stage"] == {"rows": 2, "by_status": {"exported": 1, "failed": 1}}
    assert report["inbox"]["by_topic"] == {"orders/create": 2, "orders/updated": 1}
    assert report["error_queue"]["rows"] == 2 and report["audit_log"]["rows"] == 2
    shown = json.dumps(summary) + shop.store.audit_entries(entity="privacy")[0]["response"] + caplog.text
    for value in ZELDA.personal_values():
        assert value.lower() not in shown.lower(), value
    # Nothing was erased, except the request's own copy of her e-mail and phone.
    assert "order_stage.order_json" in text_columns_holding(shop.store, ZELDA.email)
    with shop.store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT payload FROM inbox WHERE topic = 'customers/data_request'")).all() == [
            (None,)]


def test_shop_redact_erases_every_customers_personal_data_and_keeps_the_records(shop):
    assert shop.post("shop/redact", example("shop/redact")) == 200
    row_counts = _row_counts(shop.store)

    summary = act_on_privacy_requests(shop.store)

    for person in (ZELDA, BARNABY):
        for value in person.personal_values():
            assert text_columns_holding(shop.store, value) == [], value
    assert text_columns_holding(shop.store, ZELDA_ABROAD) == []
    assert _row_counts(shop.store) == {**row_counts, "audit_log": row_counts["audit_log"] + 1}
    assert summary["acted_on"][0]["outcome"] == "redacted"
    # Every error item of the fixture is kept (their personal data erased): the unreadable #1004 is keyed by its gid.
    assert {item.record_key for item in shop.store.list_errors()} == {"#1002", "#1003", "#2002",
                                                                      f"gid://shopify/Order/{BIG + 1004}"}


def test_an_unreadable_compliance_delivery_is_failed_with_an_error_item_and_nothing_is_erased(shop):
    assert shop.post("customers/redact", {"shop_domain": "sandbox.myshopify.com", "customer": "who?"}) == 200

    summary = act_on_privacy_requests(shop.store)

    [error_id] = summary["unreadable_error_ids"]
    [item] = [item for item in shop.store.list_errors(entity="privacy")]
    assert item.id == error_id and item.stage == "read_request" and "no customer object" in item.reason
    assert shop.store.inbox_counts()["failed"] == 2  # this request, and the fixture's unreadable orders/updated
    assert text_columns_holding(shop.store, ZELDA.email)  # nothing was erased


def _row_counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {name: conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
                for name in ("order_stage", "inbox", "error_queue", "audit_log", "id_map")}


def _all_text(store) -> dict[str, object]:
    """Every row's personal columns, keyed by table and id (for comparing two states of the store)."""
    return {f"{table}/{row['id']}": tuple(row.get(c) for c in columns)
            for table, columns in store.PERSONAL_DATA_COLUMNS.items()
            for row in store.personal_data_rows(table, every_row=True, limit=10_000)}
