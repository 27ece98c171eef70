"""Generated orders for the fuzz suite (tests/orders/test_fuzz_orders.py) and its benchmark
(benchmarks/bench_fuzz_orders.py): Shopify's example payload, broken in the ways real bodies break.

``fuzzed_payloads()`` changes the live example by one to four mutations: a key dropped, a value of another JSON
type, nasty text (unicode, control characters, lone surrogates, long), odd numbers (1e30, sub-cent, NaN,
60 digits), odd ids and dates, and shapes (no lines, 120 lines, no customer, no address). Half of the
payloads then get a total that adds up again, so that many reach MAX's XML.

``run_case()`` sends one payload the way the pipeline does (JSON text → ``order_from_webhook_payload`` →
stored and read back → ``map_order_to_sales_order`` → ``build_sales_order_xml`` / ``build_customer_xml``)
and parses each built document with the reference gateway's own parser (sandboxes/exactmax/xml_rules.py).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from order_payloads import EXAMPLE_ORDER

from max_gateway.xml_rules import (
    CUSTOMER_FIELDS,
    SHIP_TO_FIELDS,
    SO_DETAIL_FIELDS,
    SO_MASTER_FIELDS,
    SO_NOTE_FIELDS,
    FieldError,
    TransactionRejected,
    parse_document,
    parse_record,
)
from shopify_max.exactmax.xml_builder import build_customer_xml, build_sales_order_xml
from shopify_max.mappings.loader import Mappings
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.outcome import RECORDED_TEXT_CHARS
from shopify_max.orders.webhook_payload import UnreadableOrderPayload, order_from_webhook_body
from shopify_max.shopify.models import Order


def live_example() -> dict[str, Any]:
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update(cancelled_at=None, cancel_reason=None, test=False)
    return payload


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _value_at(payload: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        payload = payload[part]
    return payload


_EXAMPLE = live_example()
ALL_PATHS = _paths(_EXAMPLE)
TEXT_PATHS = [p for p in ALL_PATHS if isinstance(_value_at(_EXAMPLE, p), str)]
AMOUNT_PATHS = [p for p in ALL_PATHS if p[-1] in ("amount", "price", "rate", "total_price", "quantity")]
ID_PATHS = [p for p in ALL_PATHS if p[-1] in ("admin_graphql_api_id", "id", "variant_id")]
DATE_PATHS = [p for p in ALL_PATHS if str(p[-1]).endswith("_at")] + [("processed_at",), ("created_at",)]
ADDRESS_TEXT_PATHS = [p for p in TEXT_PATHS if p[0] in ("shipping_address", "billing_address", "customer")]

LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
XML_ILLEGAL = [chr(code) for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)] + ["\ufffe", "\uffff"]

_text_piece = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), max_size=12),
    st.sampled_from(LONE_SURROGATES + XML_ILLEGAL + ["\t", "\n", "\r", " ", "\u00a0", "\ufffd", "&<>\"'", "\U0001F600"]),
    st.builds(lambda word, count: word * count, st.sampled_from(["Word ", "a", "Straße ", " "]),
              st.integers(1, 400)),
    st.builds(lambda count: "x" * count, st.sampled_from([31, 255, 256, 1_000, 1_001, 3_000, 20_000])),
)
nasty_text = st.lists(_text_piece, max_size=4).map("".join)

nasty_number = st.one_of(
    st.sampled_from(["1e30", "0.001", "0.005", "-5.00", "-0.00", "1e400", "1e99", "1e101", "NaN", "Infinity", "abc",
                     "", " 5 ", "1_000", "0x10", "9" * 13, "999999999999.99", "1E-999999", "12.345678",
                     "1e999999999"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=10**6).map(str),
    st.integers(-10**60, 10**60),
    st.floats(),
)

odd_ids = st.sampled_from([
    "gid://shopify/Customer/abc", "gid://shopify/Customer/" + "9" * 60, "gid://shopify/Customer/12²", "", "/",
    "gid://shopify/Customer/-1", "gid://shopify/Customer/0", "gid://shopify/Order/" + "1" * 40, "gid://shopify/x/\x00",
    "gid://shopify/Order/\ud800", 123, None, "gid://shopify/Customer/٣٤",
])

odd_dates = st.sampled_from([
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1968-12-31T23:59:59Z", "1969-01-01T00:00:00Z",
    "2068-12-31T23:59:59Z", "2069-01-01T00:00:00Z", "2021-02-30T00:00:00Z", "not a date", "2021-12-31",
    1640995200, -1, "2021-12-31T19:00:00+14:00", "",
])

odd_values = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1.5, "", "x", [], {}, [1], {"a": 1}, [None], [{}], 10**60]),
    nasty_text, nasty_number,
)


def _set(payload: Any, path: tuple[Any, ...], value: Any) -> None:
    try:
        target = _value_at(payload, path[:-1])
        if isinstance(target, dict) or (isinstance(target, list) and path[-1] < len(target)):
            target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass  # an earlier mutation changed the shape: this one does nothing


def _drop(payload: Any, path: tuple[Any, ...]) -> None:
    try:
        target = _value_at(payload, path[:-1])
        if isinstance(target, dict):
            target.pop(path[-1], None)
    except (KeyError, IndexError, TypeError):
        pass


def _money(amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


def rebalance(payload: Any) -> None:
    """Set the total to lines − discounts + shipping + tax, where the figures allow: the order can then map."""
    try:
        lines = sum((Decimal(str(item["price_set"]["shop_money"]["amount"])) * item["quantity"]
                     for item in payload["line_items"]), Decimal(0))
        discounts = Decimal(str(payload["total_discounts_set"]["shop_money"]["amount"]))
        shipping = sum((Decimal(str(line["price_set"]["shop_money"]["amount"])) for line in payload["shipping_lines"]),
                       Decimal(0))
        payload["total_shipping_price_set"] = _money(str(shipping))
        payload["total_price_set"] = _money(str(lines - discounts + shipping))
    except Exception:  # noqa: BLE001 - a payload broken beyond arithmetic stays as it is
        pass


@st.composite
def fuzzed_payloads(draw: st.DrawFn) -> Any:
    payload = live_example()
    if draw(st.integers(0, 99)) == 0:
        return draw(st.sampled_from([None, [], "an order", 42, [payload]]))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["drop", "retype", "text", "address_text", "number", "id", "date", "shape",
                                     "known"]))
        if kind == "drop":
            _drop(payload, draw(st.sampled_from(ALL_PATHS)))
        elif kind == "retype":
            _set(payload, draw(st.sampled_from(ALL_PATHS)), draw(odd_values))
        elif kind == "text":
            _set(payload, draw(st.sampled_from(TEXT_PATHS)), draw(nasty_text))
        elif kind == "address_text":
            _set(payload, draw(st.sampled_from(ADDRESS_TEXT_PATHS)), draw(nasty_text))
        elif kind == "number":
            _set(payload, draw(st.sampled_from(AMOUNT_PATHS)), draw(nasty_number))
        elif kind == "id":
            _set(payload, draw(st.sampled_from(ID_PATHS + [("customer", "admin_graphql_api_id")] * 4)), draw(odd_ids))
        elif kind == "date":
            _set(payload, draw(st.sampled_from(DATE_PATHS)), draw(odd_dates))
        elif kind == "shape":
            _reshape(payload, draw(st.sampled_from(["no_lines", "many_lines", "no_customer", "no_addresses",
                                                    "no_shipping", "duplicate_line", "foreign_currency"])),
                     draw(st.integers(1, 150)))
        else:
            _known_case(payload, draw(st.sampled_from(["customer_gid_text", "customer_id_60_digits",
                                                       "discount_no_lines", "price_1e30", "sub_cent_allocation",
                                                       "long_name_no_address", "lone_surrogate", "control_char"])))
    if draw(st.booleans()):
        rebalance(payload)
    return payload


def _reshape(payload: dict[str, Any], shape: str, count: int) -> None:
    if shape == "no_lines":
        payload["line_items"] = []
    elif shape == "many_lines" and payload.get("line_items"):
        payload["line_items"] = [copy.deepcopy(payload["line_items"][0]) for _ in range(count)]
    elif shape == "no_customer":
        payload["customer"] = None
    elif shape == "no_addresses":
        payload.update(shipping_address=None, billing_address=None)
    elif shape == "no_shipping":
        payload["shipping_lines"] = []
    elif shape == "duplicate_line" and payload.get("line_items"):
        payload["line_items"].append(copy.deepcopy(payload["line_items"][-1]))
    elif shape == "foreign_currency":
        payload["presentment_currency"] = "CAD"


def _known_case(payload: dict[str, Any], case: str) -> None:
    """The cases the adversarial run found (issue items 4 and 5)."""
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else None
    if case == "customer_gid_text" and customer:
        customer["admin_graphql_api_id"] = "gid://shopify/Customer/not-a-number"
    elif case == "customer_id_60_digits" and customer:
        customer["admin_graphql_api_id"] = "gid://shopify/Customer/" + "7" * 60
    elif case == "discount_no_lines":
        payload["line_items"] = []
    elif case == "price_1e30":
        _set(payload, ("line_items", 0, "price_set"), _money("1e30"))
    elif case == "sub_cent_allocation":
        _set(payload, ("line_items", 0, "discount_allocations"),
             [{"amount_set": _money("0.005"), "discount_application_index": 0}])
    elif case == "long_name_no_address" and customer:
        payload.update(shipping_address=None, billing_address=None)
        customer.update(default_address=None, first_name="Bartholomew " * 5, last_name="Featherstonehaugh")
    elif case == "lone_surrogate":
        _set(payload, ("shipping_address", "city"), "Shipping\ud800ton")
    elif case == "control_char":
        _set(payload, ("shipping_address", "address1"), "123 Shipping\x00 Street")


# The order rules a case maps under: the project's defaults, or another choice a shop may make.
rule_choices = st.one_of(st.just({}), st.fixed_dictionaries({
    "text_overflow": st.sampled_from(["continue", "abbreviate", "error"]),
    "transliteration": st.sampled_from(["transliterate", "flag", "keep"]),
    "customer_strategy": st.sampled_from(["per_customer", "web_account"]),
    "zero_price_lines": st.sampled_from(["export", "skip"]),
    "gift_card_lines": st.sampled_from(["skip", "error"]),
}))


@dataclass
class CaseResult:
    outcome: str  # unreadable, skipped, failed, mapped, or untyped (an exception that is not ours)
    untyped: str | None = None  # "TypeError: ..." for anything raised but UnreadableOrderPayload
    unparseable: list[FieldError] = field(default_factory=list)  # the gateway parser rejected a built document
    field_errors: list[FieldError] = field(default_factory=list)  # the gateway's static field rules refused a value
    unnamed: list[str] = field(default_factory=list)  # failures without a field and a rule, or unsafe to store
    documents: int = 0


def _stored(text: str) -> bool:
    """What the error queue and audit log store must encode as UTF-8, without NUL, within the length cap."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _parse(xml: bytes, table: str, record: str, specs: dict, child: str | None,
           child_specs: dict | None, grandchild: str | None, result: CaseResult) -> None:
    result.documents += 1
    try:
        element = parse_document(xml, table, record)
    except TransactionRejected as exc:
        result.unparseable += exc.errors
        return
    errors: list[FieldError] = []
    parsed = parse_record(element, specs, errors, child_tags=(child,) if child else ())
    for row in parsed.children.get(child, []) if child else []:
        line = row.findtext("LINNUM_28")
        inner = parse_record(row, child_specs, errors, line=line, child_tags=(grandchild,) if grandchild else ())
        for note in inner.children.get(grandchild, []) if grandchild else []:
            parse_record(note, SO_NOTE_FIELDS, errors, line=line)
    result.field_errors += errors


def run_case(payload: Any, mappings: Mappings, rules: dict[str, Any] | None = None) -> CaseResult:
    """One payload through capture, mapping, XML and the gateway's parser (``rules`` override the order rules);
    never raises."""
    if rules:
        mappings = dataclasses.replace(mappings, rules=dataclasses.replace(mappings.rules, **rules))
    try:
        body = json.dumps(payload)  # the body Shopify signs: ASCII JSON, lone surrogates as "\ud800" escapes
        try:
            order = order_from_webhook_body(body)
        except UnreadableOrderPayload as exc:
            result = CaseResult("unreadable")
            if not (exc.field and exc.rule and _stored(exc.reason) and len(exc.reason) <= RECORDED_TEXT_CHARS):
                result.unnamed.append(f"unreadable payload without a storable field/rule reason: {exc.reason!r}")
            return result
        order = Order.model_validate_json(order.model_dump_json())  # staged, then read back by the map step
        mapped = map_order_to_sales_order(order, mappings)
        result = CaseResult(mapped.outcome)
        records = [e.as_dict() for e in mapped.errors] + [r.as_dict() for r in mapped.rules_applied]
        if not _stored(json.dumps(records, ensure_ascii=False)) or not _stored(mapped.error_reason()):
            result.unnamed.append("a rule record or error item cannot be stored")
        result.unnamed += [f"error without field or rule: {e}" for e in mapped.errors if not (e.field and e.rule)]
        result.unnamed += [f"unexpected: {e}" for e in mapped.errors if e.rule == "unexpected"]
        if mapped.sales_order is not None:
            # ascii_only (a connection setting) transliterates again at build time: with the mapping's own
            # transliteration on, it changes nothing. With "keep" it may lengthen a full field ("ß" → "ss"),
            # which the gateway refuses as too_long: a limit of ascii_only itself, left out here.
            for ascii_only in (False, True) if mappings.rules.transliteration == "transliterate" else (False,):
                xml = build_sales_order_xml(mapped.sales_order, ascii_only=ascii_only).xml
                _parse(xml, "SO_Master_Table", "SO_Master", SO_MASTER_FIELDS, "SO_Detail", SO_DETAIL_FIELDS,
                       "SO_Note", result)
        if mapped.new_customer is not None and mapped.sales_order is not None:
            xml = build_customer_xml(mapped.new_customer).xml
            _parse(xml, "Customer_Master_Table", "Customer_Master", CUSTOMER_FIELDS, "Shipping_Master",
                   SHIP_TO_FIELDS, None, result)
        return result
    except Exception as exc:  # noqa: BLE001 - what the suite counts: anything untyped
        return CaseResult("untyped", untyped=f"{type(exc).__name__}: {exc}"[:500])
