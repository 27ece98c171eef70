"""Reading Shopify's compliance payloads, and telling a person's values apart from the rest of a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopify_max.privacy import UnreadableRequest, read_compliance_request
from shopify_max.privacy.personal_values import SCRUBBED, Scrubber, personal_values

WEBHOOKS = Path(__file__).resolve().parents[2] / "include" / "vendor" / "shopify" / "webhooks"


def example(topic: str) -> dict:
    return json.loads((WEBHOOKS / f"{topic.replace('/', '.')}.json").read_text())["response"]


def read(topic: str, payload) -> object:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return read_compliance_request(topic=topic, inbox_id=7, webhook_id="wh-7", payload=body)


def test_shopifys_customers_redact_example_is_read_with_every_id_as_text():
    request = read("customers/redact", example("customers/redact"))
    assert (request.customer_id, request.email, request.phone) == ("191167", "john@example.com", "555-625-1199")
    assert request.order_gids == ("gid://shopify/Order/299938", "gid://shopify/Order/280263",
                                  "gid://shopify/Order/220458")
    assert request.shop_domain == "{shop}.myshopify.com"


def test_ids_beyond_2_to_the_53_are_kept_exactly():
    payload = '{"customer": {"id": 115310627314723954}, "orders_to_redact": [820982911946154508]}'
    request = read("customers/redact", payload)
    assert request.customer_gid == "gid://shopify/Customer/115310627314723954"
    assert request.order_gids == ("gid://shopify/Order/820982911946154508",)


def test_a_data_request_carries_its_request_id_and_describe_leaves_out_email_and_phone():
    request = read("customers/data_request", example("customers/data_request"))
    assert request.data_request_id == "9999" and len(request.order_ids) == 3
    described = json.dumps(request.describe())
    assert "john@example.com" not in described and "555-625-1199" not in described


def test_shop_redact_names_the_shop():
    assert read("shop/redact", example("shop/redact")).shop_domain == "{shop}.myshopify.com"


@pytest.mark.parametrize(("topic", "payload", "why"), [
    ("customers/redact", "not json", "not JSON"),
    ("customers/redact", "[1, 2]", "not a JSON object"),
    ("customers/redact", {"customer": {}}, "names no customer"),
    ("customers/redact", {"customer": {"id": "abc"}}, "not a Shopify id"),
    ("customers/redact", {"customer": {"id": 1}, "orders_to_redact": 5}, "not a list"),
    ("shop/redact", {}, "names no shop"),
])
def test_an_unreadable_request_says_what_is_missing(topic, payload, why):
    with pytest.raises(UnreadableRequest, match=why):
        read(topic, payload)


def test_personal_values_are_found_by_structure_not_by_guessing():
    order = example("orders/create")
    values = personal_values(json.dumps(order))
    assert {"Steve Shipper", "123 Shipping Street", "john@example.com", "John", "Smith", "123 Elm St.",
            "Ottawa", "K2H7A8", "123-123-1234"} <= values
    assert "#9999" not in values and "Aviator sunglasses" not in values  # the order's and a line's "name"


def test_max_documents_and_the_rules_applied_to_them_give_their_personal_values():
    xml = "<eMAXExact><SO_Master><NAME_27>Zo&amp;e Muller</NAME_27><CUSTPO_27>SHOP#1</CUSTPO_27></SO_Master></eMAXExact>"
    assert personal_values(xml) == {"Zo&e Muller"}
    mapped = {"sales_order": {"CUSTID": "S1", "NAME": "ZOE", "ADDR1": "1 Long Rd", "CUSTPO": "SHOP#1"},
              "rules_applied": [{"field": "ship_to.NAME", "rule": "continue_into_next_line",
                                 "before": "Zoë Ångström-Longname", "after": "Zoë | Ångström-Longname"},
                                {"field": "line 01.PRICE", "rule": "round", "before": "1.005", "after": "1.01"}]}
    values = personal_values(json.dumps(mapped))
    assert {"ZOE", "1 Long Rd", "Zoë Ångström-Longname", "Ångström-Longname", "Angstrom-Longname"} <= values
    assert not {"SHOP#1", "1.005", "S1"} & values


def test_scrubbing_replaces_whole_values_in_any_case_and_keeps_json_structure():
    scrub = Scrubber({"Zelda Quillfeather", "Al"})
    assert scrub.text("NAME 'ZELDA QUILLFEATHER' is too long; Already Al") == (
        f"NAME '{SCRUBBED}' is too long; Already {SCRUBBED}")
    detail = json.dumps({"failures": [{"column": "NAME", "value": "Zelda Quillfeather"}], "order_gid": "g"})
    assert json.loads(scrub.json_text(detail)) == {"failures": [{"column": "NAME", "value": SCRUBBED}],
                                                   "order_gid": "g"}
