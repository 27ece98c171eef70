"""Generated refunds for the fuzz suite (tests/refunds/test_fuzz_refunds.py) and the refunds benchmark
(benchmarks/bench_refunds.py): Shopify's example ``refunds/create`` body, broken in the ways real bodies break.

``fuzzed_bodies()`` changes the example by one to four mutations: a key dropped, a value of another JSON type,
nasty text (unicode, control characters, lone surrogates, long), odd numbers (1e400, sub-cent, NaN, 60 digits,
floats), negative and fractional quantities, non-numeric money, another currency, unknown restock types, odd ids
and dates, deep nesting, and shapes (no lines, 10,000 lines, a duplicated line, shipping, adjustments, gift-card
transactions). Half of the bodies then get transactions that add up to the lines again, so that many map to a
memo. The body is the JSON text Shopify signs; one in twelve is cut short.

``run_case()`` takes one body the way the pipeline does (JSON text → ``json.loads`` →
``refund_from_webhook_payload`` → staged as JSON and read back → ``map_refund`` against a MAX order and line map
built to match the example's five line items) and says how it ended; it never raises.
"""

from __future__ import annotations

import copy
import json
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from shopify_max.exactmax.models import SalesOrder
from shopify_max.refunds.mapper import MappedRefund, map_refund
from shopify_max.refunds.rules import RefundRules
from shopify_max.shopify.refund_models import ShopifyRefund
from shopify_max.shopify.refund_payload import UnreadableRefundPayload, refund_from_webhook_body
from shopify_max.sync_store import OrderLineMapRow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REFUND: dict[str, Any] = json.loads(
    (ROOT / "include/vendor/shopify/webhooks/refunds.create.json").read_text(encoding="utf-8"))["response"]
EXAMPLE_ITEMS = [item["line_item"]["admin_graphql_api_id"] for item in EXAMPLE_REFUND["refund_line_items"]]
EXAMPLE_ORDER_GID = f"gid://shopify/Order/{EXAMPLE_REFUND['order_id']}"

# The MAX order the example's order became: one MAX line per line item (the second sold in cases of 12), three
# with tax codes, then freight; invoiced, so it can be credited.
ORDNUM = "00100001"
MAX_PARTS = ["PRT-00001", "PRT-00002", "PRT-00003", "PRT-00004", "PRT-00005"]
UOM_FACTORS = [1, 12, 1, 1, 1]
MAX_ORDER = SalesOrder.model_validate({
    "ORDNUM": ORDNUM, "CUSTID": "C00042", "CUSTPO": "SHOP#1001", "ORDDTE": "2021-12-30", "INVCE": "00000007",
    "CURR": "USD", "lines": [
        {"LINNUM": "01", "DELNUM": "01", "PRTNUM": MAX_PARTS[0], "SLSUOM": "EA", "PRICE": "89.99", "ORGQTY": "1",
         "STK": "MAIN", "TAXCDE1": "IL", "TAX1": "5.62", "TAXCDE2": "ILCOOK", "TAX2": "1.57"},
        {"LINNUM": "02", "DELNUM": "01", "PRTNUM": MAX_PARTS[1], "SLSUOM": "EA", "PRICE": "1.6658", "ORGQTY": "12",
         "STK": "MAIN"},
        {"LINNUM": "03", "DELNUM": "01", "PRTNUM": MAX_PARTS[2], "SLSUOM": "EA", "PRICE": "24.99", "ORGQTY": "1",
         "STK": "MAIN", "TAXCDE1": "IL", "TAX1": "1.56"},
        {"LINNUM": "04", "DELNUM": "01", "PRTNUM": MAX_PARTS[3], "SLSUOM": "EA", "PRICE": "154.99", "ORGQTY": "1",
         "STK": "MAIN"},
        {"LINNUM": "05", "DELNUM": "01", "PRTNUM": MAX_PARTS[4], "SLSUOM": "EA", "PRICE": "119.99", "ORGQTY": "1",
         "STK": "MAIN", "TAXCDE1": "IL", "TAX1": "7.50"},
        {"LINNUM": "06", "DELNUM": "01", "PRTNUM": "FREIGHT", "PRICE": "10.00", "ORGQTY": "1", "TAXCDE1": "IL",
         "TAX1": "0.63"}]})
LINE_MAP = [OrderLineMapRow(ORDNUM, f"{n + 1:02d}", "01", EXAMPLE_ORDER_GID, "line_item", part, factor, factor, gid,
                            f"SKU-{n + 1:05d}", "EA")
            for n, (part, factor, gid) in enumerate(zip(MAX_PARTS, UOM_FACTORS, EXAMPLE_ITEMS, strict=True))]
LINE_MAP.append(OrderLineMapRow(ORDNUM, "06", "01", EXAMPLE_ORDER_GID, "shipping", "FREIGHT", 1, 1))
RULES = RefundRules()


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


def _money(amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


def example() -> dict[str, Any]:
    """The example with a shipping line refunded and an adjustment, so that every part of a refund is there to
    break (both follow Shopify's REST shapes)."""
    payload = copy.deepcopy(EXAMPLE_REFUND)
    payload["refund_shipping_lines"] = [{
        "id": 1058498307, "shipping_line_id": 1058498306, "subtotal_amount_set": _money("10.00"),
        "tax_amount_set": _money("0.63"), "shipping_line": {"id": 1058498306, "title": "Standard", "price": "10.00"}}]
    payload["order_adjustments"] = [{
        "id": 1030976842, "order_id": EXAMPLE_REFUND["order_id"], "refund_id": EXAMPLE_REFUND["id"],
        "kind": "refund_discrepancy", "reason": "Refund discrepancy", "amount": "-5.00", "tax_amount": "0.00",
        "amount_set": _money("-5.00"), "tax_amount_set": _money("0.00")}]
    return payload


_EXAMPLE = example()
ALL_PATHS = _paths(_EXAMPLE)
TEXT_PATHS = [p for p in ALL_PATHS if isinstance(_value_at(_EXAMPLE, p), str)]
AMOUNT_PATHS = [p for p in ALL_PATHS if p[-1] == "amount" or p[-2:] == ("shop_money", "amount")]
QUANTITY_PATHS = [p for p in ALL_PATHS if p[0] == "refund_line_items" and p[-1] == "quantity" and len(p) == 3]
CURRENCY_PATHS = [p for p in ALL_PATHS if p[-1] in ("currency_code", "currency")]
ID_PATHS = [p for p in ALL_PATHS if p[-1] in ("admin_graphql_api_id", "id", "order_id", "line_item_id", "location_id")]
ENUM_PATHS = [p for p in ALL_PATHS if p[-1] in ("restock_type", "kind", "status", "gateway", "reason")]
RESTOCK_PATHS = [p for p in ALL_PATHS if p[-1] == "restock_type"]

LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
CONTROL = [chr(code) for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)] + ["\ufffe", "\uffff"]

_text_piece = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), max_size=12),
    st.sampled_from(LONE_SURROGATES + CONTROL + ["\t", "\n", "\r", " ", "\u00a0", "\ufffd", "&<>\"'", "\U0001F600"]),
    st.builds(lambda word, count: word * count, st.sampled_from(["Word ", "a", "Straße ", " "]), st.integers(1, 400)),
    st.builds(lambda count: "x" * count, st.sampled_from([31, 255, 256, 1_001, 20_000, 1_000_000])),
)
nasty_text = st.lists(_text_piece, max_size=4).map("".join)

nasty_number = st.one_of(
    st.sampled_from(["1e30", "0.001", "0.005", "-5.00", "-0.00", "1e400", "1e99", "NaN", "Infinity", "-Infinity",
                     "abc", "", " 5 ", "1_000", "0x10", "9" * 13, "999999999999.99", "1E-999999", "12.345678",
                     "1e999999999", "9" * 60, "€5", "5,00", "five"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=10**6).map(str),
    st.integers(-10**60, 10**60),
    st.floats(),
)

odd_quantity = st.one_of(
    st.sampled_from([-1, 0, 1.5, 0.5, -0.0, 2.0, "1", "", None, True, 10**6, 10**12, 10**60, [1], {}]),
    st.integers(-10**9, 10**9), st.floats(),
)

odd_currency = st.sampled_from(["EUR", "usd", "", "US", "USDX", "\ud800", None, 840, ["USD"], "CAD", "XXX"])

odd_restock = st.sampled_from(["teleport", "RETURN", "return", "Return", "cancel", "legacy_restock", "", " ",
                               "restock", "no_restock\x00", None, 1, ["return"], {"type": "return"}, "\ud800"])

odd_ids = st.sampled_from([
    "gid://shopify/Refund/abc", "gid://shopify/Refund/" + "9" * 60, "gid://shopify/Refund/12²", "", "/",
    "gid://shopify/Refund/-1", "gid://shopify/Refund/0", "gid://shopify/Order/" + "1" * 40, "gid://shopify/x/\x00",
    "gid://shopify/LineItem/\ud800", "gid://shopify/LineItem/404", "gid://shopify/Order/٣٤", 123, -5, 0, 1.5,
    10**80, None, True, [1], {"id": 1},
])

odd_dates = st.sampled_from([
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1968-12-31T23:59:59Z", "2069-01-01T00:00:00Z",
    "2021-02-30T00:00:00Z", "not a date", "2021-12-31", 1640995200, -1, "2021-12-31T19:00:00+14:00", "", None,
    "2021-12-31T19:00:00\ud800",
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


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


def rebalance(payload: Any) -> None:
    """One successful refund transaction of what the lines, shipping and adjustments come to, where the figures
    allow: the refund can then reconcile and map to a memo."""
    try:
        total = Decimal(0)
        for item in payload["refund_line_items"]:
            total += Decimal(str(item["subtotal_set"]["shop_money"]["amount"]))
            total += Decimal(str(item["total_tax_set"]["shop_money"]["amount"]))
        for line in payload.get("refund_shipping_lines") or []:
            total += Decimal(str(line["subtotal_amount_set"]["shop_money"]["amount"]))
            total += Decimal(str(line["tax_amount_set"]["shop_money"]["amount"]))
        for adjustment in payload.get("order_adjustments") or []:
            if adjustment.get("kind") != "shipping_refund":
                total -= Decimal(str(adjustment["amount_set"]["shop_money"]["amount"]))
        transaction = copy.deepcopy(payload["transactions"][0])
        transaction["amount"] = str(total.quantize(Decimal("0.01")))
        payload["transactions"] = [transaction]
    except Exception:  # noqa: BLE001 - a body broken beyond arithmetic stays as it is
        pass


def _reshape(payload: dict[str, Any], shape: str, count: int) -> None:
    lines = payload.get("refund_line_items")
    if shape == "no_lines":
        payload["refund_line_items"] = []
    elif shape == "ten_thousand_lines" and isinstance(lines, list) and lines:
        payload["refund_line_items"] = [copy.deepcopy(lines[n % len(lines)]) for n in range(10_000)]
    elif shape == "many_lines" and isinstance(lines, list) and lines:
        payload["refund_line_items"] = [copy.deepcopy(lines[n % len(lines)]) for n in range(count)]
    elif shape == "duplicate_line" and isinstance(lines, list) and lines:
        lines.append(copy.deepcopy(lines[-1]))
    elif shape == "no_shipping":
        payload["refund_shipping_lines"] = []
    elif shape == "no_adjustments":
        payload["order_adjustments"] = []
    elif shape == "reducing_adjustment":
        _set(payload, ("order_adjustments", 0, "amount_set"), _money("5.00"))
    elif shape == "shipping_refund_adjustment":
        _set(payload, ("order_adjustments", 0, "kind"), "shipping_refund")
    elif shape == "no_transactions":
        payload["transactions"] = []
    elif shape == "gift_card":
        _set(payload, ("transactions", 0, "gateway"), "gift_card")
    elif shape == "failed_transaction":
        _set(payload, ("transactions", 0, "status"), "failure")
    elif shape == "transaction_in_eur":
        _set(payload, ("transactions", 0, "currency"), "EUR")
    elif shape == "tax_on_untaxed_line":
        _set(payload, ("refund_line_items", 1, "total_tax_set"), _money("1.00"))
    elif shape == "quantity_over_ordered":
        _set(payload, ("refund_line_items", 0, "quantity"), count)
    elif shape == "body_not_object":
        payload.clear()
        payload["__replace__"] = [None, [], "a refund", 42, [copy.deepcopy(_EXAMPLE)]][count % 5]


SHAPES = ["no_lines", "ten_thousand_lines", "many_lines", "duplicate_line", "no_shipping", "no_adjustments",
          "reducing_adjustment", "shipping_refund_adjustment", "no_transactions", "gift_card", "failed_transaction",
          "transaction_in_eur", "tax_on_untaxed_line", "quantity_over_ordered", "body_not_object"]


@st.composite
def fuzzed_payloads(draw: st.DrawFn, big: bool = True) -> Any:
    """The example body (decoded), broken by one to four mutations; half rebalanced. ``big=False`` leaves out the
    10,000 lines (about 20 MB of JSON: more than the webhook receiver takes, so never in the inbox)."""
    payload = example()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["drop", "retype", "text", "number", "quantity", "currency", "restock", "id",
                                     "date", "enum", "deep", "shape", "shape"]))
        if kind == "drop":
            _drop(payload, draw(st.sampled_from(ALL_PATHS)))
        elif kind == "retype":
            _set(payload, draw(st.sampled_from(ALL_PATHS)), draw(odd_values))
        elif kind == "text":
            _set(payload, draw(st.sampled_from(TEXT_PATHS)), draw(nasty_text))
        elif kind == "number":
            _set(payload, draw(st.sampled_from(AMOUNT_PATHS)), draw(nasty_number))
        elif kind == "quantity":
            _set(payload, draw(st.sampled_from(QUANTITY_PATHS)), draw(odd_quantity))
        elif kind == "currency":
            _set(payload, draw(st.sampled_from(CURRENCY_PATHS)), draw(odd_currency))
        elif kind == "restock":
            _set(payload, draw(st.sampled_from(RESTOCK_PATHS)), draw(odd_restock))
        elif kind == "id":
            _set(payload, draw(st.sampled_from(ID_PATHS)), draw(odd_ids))
        elif kind == "date":
            _set(payload, ("created_at",), draw(odd_dates))
        elif kind == "enum":
            _set(payload, draw(st.sampled_from(ENUM_PATHS)), draw(st.one_of(odd_restock, nasty_text)))
        elif kind == "deep":
            _set(payload, draw(st.sampled_from(ALL_PATHS)), _nested(draw(st.sampled_from([50, 300]))))
        else:
            shapes = SHAPES if big else [shape for shape in SHAPES if shape != "ten_thousand_lines"]
            _reshape(payload, draw(st.sampled_from(shapes)), draw(st.integers(1, 150)))
    if "__replace__" in payload:
        return payload["__replace__"]
    if draw(st.booleans()):
        rebalance(payload)
    return payload


@st.composite
def fuzzed_bodies(draw: st.DrawFn, big: bool = True) -> str:
    """A ``refunds/create`` body as delivered: JSON text (ASCII, lone surrogates as escapes), sometimes cut short,
    sometimes nested deeper than any JSON reader goes. (Values nested 300 deep stay readable.)"""
    choice = draw(st.integers(0, 23))
    if choice == 0:
        # deeper than json.loads goes (the recursion limit): never within it, wherever the stack stands
        return "[" * draw(st.sampled_from([5_000, 100_000])) + "]" * draw(st.sampled_from([0, 5_000]))
    body = json.dumps(draw(fuzzed_payloads(big)))
    if choice <= 2:
        return body[:draw(st.integers(0, max(0, len(body) - 1)))]  # truncated in flight
    return body


def valid_body(number: int) -> str:
    """A refund that maps to a memo: the example with its own ids, quantities and amounts (for the benchmark and
    the store test's good deliveries)."""
    payload = example()
    payload["admin_graphql_api_id"] = f"gid://shopify/Refund/{10**12 + number}"
    payload["id"] = 10**12 + number
    for position, item in enumerate(payload["refund_line_items"]):
        item["restock_type"] = ("return", "no_restock", "cancel")[(number + position) % 3]
        item["subtotal_set"] = _money(str(Decimal("10.00") + Decimal(number % 97) / 100 + position))
        item["total_tax_set"] = _money("0.00" if position in (1, 3) else str(Decimal(number % 13) / 10 + 1))
    if number % 2:
        payload["order_adjustments"] = []
    rebalance(payload)
    return json.dumps(payload)


# Failures the fuzz found in the library, by code (see failure_codes()): the suite lists them here rather than failing
# on them, and test_fuzz_refunds.py keeps a minimal body for each as a strict xfail, so a fix shows as XPASS and the
# entry is then removed. Anything not listed fails the property test.
KNOWN_BUGS: dict[str, str] = {
    "unreadable_names_body": "an object body the reader's catch-all refuses as '(body) has a shape the reader "
                             "cannot take', not by its field (total_duties_set.shop_money a list, refund_line_items "
                             "a number)",
}


@dataclass
class CaseResult:
    outcome: str  # not_json, unreadable, memo, problems, nothing (no memo, no problem), untyped
    untyped: str | None = None  # "TypeError: ..." for anything raised but the typed outcomes
    untyped_at: str = ""  # "mapper.py:_rows": the library's innermost frame the exception passed through
    unnamed: list[str] = field(default_factory=list)  # a reason without a field and a rule
    unstorable: str | None = None  # "unreadable" / "problems": a reason the error queue cannot store
    field: str | None = None  # unreadable: the field UnreadableRefundPayload names
    body_is_object: bool = False  # the body is a JSON object: a refusal can name a field in it
    refund: ShopifyRefund | None = None
    mapped: MappedRefund | None = None

    def failure_codes(self) -> list[str]:
        codes = [f"untyped:{self.untyped.split(':')[0]}@{self.untyped_at}"] if self.untyped else []
        if self.outcome == "not_json" and self.unnamed:
            codes.append("not_json_unnamed")
        elif self.outcome == "unreadable" and self.body_is_object and self.field == "(body)":
            codes.append("unreadable_names_body")
        elif self.unnamed:
            codes.append("unnamed:" + self.outcome)
        if self.unstorable:
            codes.append("unstorable:" + self.unstorable)
        return codes

    def new_failures(self) -> list[str]:
        """Failures not in KNOWN_BUGS, with their detail."""
        return [f"{code}: {self.untyped or self.unnamed}" for code in self.failure_codes() if code not in KNOWN_BUGS]

    @property
    def breaks_capture(self) -> bool:
        """Whether capture_refunds itself would fail on this body (not only the mapping later)."""
        return any(code.startswith("untyped:") and ("refund_payload.py" in code or "pipeline.py" in code)
                   or code == "unstorable:unreadable" for code in self.failure_codes())


def storable(text: str) -> bool:
    """What the error queue must store: encodable as UTF-8 (no lone surrogate), without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _library_frame(exc: BaseException, default: str) -> str:
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if "shopify_max" in frame.filename]
    return f"{Path(frames[-1].filename).name}:{frames[-1].name}" if frames else default


def run_case(body: str, max_order: SalesOrder = MAX_ORDER, line_map: list[OrderLineMapRow] = LINE_MAP,
             rules: RefundRules = RULES) -> CaseResult:
    """One body through the capture step's reading, staging's round trip and ``map_refund``; never raises."""
    try:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None  # not JSON: the body reader must say so, naming the body
        try:
            refund = refund_from_webhook_body(body)  # as capture_refunds reads a delivery
        except UnreadableRefundPayload as exc:
            if payload is None and exc.field == "(body)":
                return CaseResult("not_json")
            result = CaseResult("unreadable", field=exc.field, body_is_object=isinstance(payload, dict))
            if not (exc.field and exc.message and f"{exc.field} {exc.message}" in str(exc)):
                result.unnamed.append(f"unreadable without a field and a rule: {exc!r}"[:300])
            if not storable(str(exc)):
                result.unstorable = "unreadable"
            return result
        refund = ShopifyRefund.model_validate(json.loads(json.dumps(refund.model_dump(mode="json"), sort_keys=True,
                                                                    default=str)))  # staged, then read back
        mapped = map_refund(refund, max_order, line_map, rules)
        outcome = "problems" if mapped.problems else "memo" if mapped.memo is not None else "nothing"
        result = CaseResult(outcome, refund=refund, mapped=mapped)
        result.unnamed += [f"problem without a stage, field or message: {p}" for p in mapped.problems
                           if not (p.stage and p.field and p.message)]
        if mapped.memo is not None and mapped.problems:
            result.unnamed.append("both a memo and problems")
        if not storable("; ".join(p.text() for p in mapped.problems)):
            result.unstorable = "problems"
        return result
    except Exception as exc:  # noqa: BLE001 - what the suite counts: anything untyped
        return CaseResult("untyped", untyped=f"{type(exc).__name__}: {exc}"[:500],
                          untyped_at=_library_frame(exc, "?"))
