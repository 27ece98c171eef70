"""Fuzz: whatever a ``refunds/create`` body holds, reading it ends as an ``UnreadableRefundPayload`` naming a field
and a rule, or as a refund that ``map_refund`` turns into a memo or into problems that each name a field; through
the real sync store, every bad delivery is an error-queue item and failed in the inbox, every good one staged.

A fixed-seed subset runs here; benchmarks/bench_refunds.py runs more. Failures the fuzz found in the library are
listed in ``refund_fuzz.KNOWN_BUGS``; each keeps a minimal body below as a strict xfail (a fix turns it XPASS:
then drop the entry)."""

from __future__ import annotations

import collections
import copy
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from refund_fuzz import KNOWN_BUGS, example, fuzzed_bodies, rebalance, run_case, valid_body
from sqlalchemy import select

from shopify_max.refunds.pipeline import REFUNDS_TOPIC, capture_refunds
from shopify_max.shopify.refund_models import ShopifyRefund
from shopify_max.shopify.refund_payload import UnreadableRefundPayload, refund_from_webhook_body
from shopify_max.sync_store.inbox import InboxDelivery
from shopify_max.sync_store.states import InboxStatus
from shopify_max.sync_store.tables import inbox

pytestmark = pytest.mark.slow  # 200 generated bodies through reading and mapping, and the store on both databases
OUTCOMES: collections.Counter[str] = collections.Counter()
KNOWN_SEEN: collections.Counter[str] = collections.Counter()
RECEIVER_BODY_LIMIT = 2 * 1024 * 1024  # the webhook receiver refuses bigger bodies: they never reach the inbox
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
              HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]


@settings(max_examples=200, derandomize=True, database=None, deadline=None, suppress_health_check=SUPPRESSED)
@given(body=fuzzed_bodies())
def test_every_generated_refund_body_ends_unreadable_with_a_named_field_or_mapped(body):
    result = run_case(body)
    OUTCOMES[result.outcome] += 1
    KNOWN_SEEN.update(code for code in result.failure_codes() if code in KNOWN_BUGS)
    # Only UnreadableRefundPayload naming a field and a rule, or a MappedRefund (memo, or problems naming a field),
    # with reasons the error queue can store: anything else is a new failure.
    assert not result.new_failures(), result.new_failures()
    if result.outcome == "unreadable":
        assert result.field
    for problem in result.mapped.problems if result.mapped else []:
        assert problem.field and problem.message


def test_the_fixed_seed_subset_reaches_every_outcome():
    """Runs after the property above: a subset that never reached a memo would prove little."""
    if not OUTCOMES:
        pytest.skip("runs with the property test above")
    assert {"unreadable", "problems", "memo"} <= set(OUTCOMES), OUTCOMES
    assert OUTCOMES["memo"] >= 5 and OUTCOMES["unreadable"] >= 40, OUTCOMES  # restock types are checked: fewer memos


class NoRefundedOrders:
    """The Shopify source: its poll finds nothing (the inbox is under test here, not the poll)."""

    def iter_refunded_orders(self, start, end):  # noqa: ANN001, ANN201
        return iter(())

    def refunds_of_order(self, order_gid):  # noqa: ANN001, ANN201
        return []


_webhook_ids = itertools.count(1)
_good_refunds = itertools.count(1)


def _deliver(store, bodies: list[str]) -> list[int]:  # noqa: ANN001
    """Each body as a refunds/create delivery; their inbox ids, in order."""
    ids = []
    for body in bodies:
        webhook_id = f"fuzz-{next(_webhook_ids)}"
        assert store.add_inbox_delivery(InboxDelivery(webhook_id=webhook_id, topic=REFUNDS_TOPIC, payload=body))
        with store.engine.begin() as conn:
            ids.append(conn.execute(select(inbox.c.id).where(inbox.c.webhook_id == webhook_id)).scalar_one())
    return ids


def _capture(store) -> dict:  # noqa: ANN001
    now = datetime.now(UTC)
    return capture_refunds(store, NoRefundedOrders(), run_id="fuzz", window=(now - timedelta(hours=1), now),
                           overlap=timedelta(minutes=5))


def _read(body: str) -> tuple[ShopifyRefund | None, str | None]:
    """What capture_refunds makes of a body: the refund, or None and the field the refusal names."""
    try:
        return refund_from_webhook_body(body), None
    except UnreadableRefundPayload as exc:
        return None, exc.field


def _check_nothing_lost(store, bodies: list[str], inbox_ids: list[int]) -> None:  # noqa: ANN001
    with store.engine.begin() as conn:
        status = dict(conn.execute(select(inbox.c.id, inbox.c.status).where(inbox.c.id.in_(inbox_ids))).all())
    items = {item.detail.get("inbox_id"): item for item in store.list_errors(entity="refund")}
    for body, inbox_id in zip(bodies, inbox_ids, strict=True):
        refund, field = _read(body)
        if refund is None:
            assert status[inbox_id] == InboxStatus.FAILED, (inbox_id, status[inbox_id], body[:200])
            item = items.get(inbox_id)
            assert item is not None and item.stage == "capture", (inbox_id, body[:200])
            assert field in item.reason, (field, item.reason)  # a body that is not JSON is named "(body)"
        else:
            assert status[inbox_id] == InboxStatus.PROCESSED, (inbox_id, status[inbox_id], body[:200])
            assert store.staged_refund_ids([refund.id]), (refund.id, body[:200])
            assert inbox_id not in items


# What can reach the inbox (the receiver takes 2 MiB at most), and what capture survives today (KNOWN_BUGS: the
# bodies that make it raise have their own test below).
_inbox_bodies = fuzzed_bodies(big=False).filter(lambda body: len(body) <= RECEIVER_BODY_LIMIT
                                                and not run_case(body).breaks_capture)


@settings(max_examples=25, derandomize=True, database=None, deadline=None, suppress_health_check=SUPPRESSED)
@given(bad=st.lists(_inbox_bodies, min_size=2, max_size=5), good=st.integers(1, 3))
def test_capture_fails_every_bad_delivery_with_a_named_item_and_stages_every_good_one(sync_store, bad, good):
    bodies = [valid_body(next(_good_refunds)) for _ in range(good)] + bad
    inbox_ids = _deliver(sync_store, bodies)
    counts = _capture(sync_store)
    assert counts["deliveries"] == len(bodies)
    _check_nothing_lost(sync_store, bodies, inbox_ids)


# ------------------------------------------------------------------------------ the bugs the fuzz found


def _body(change, balance: bool = True) -> str:  # noqa: ANN001
    payload = example()
    change(payload)
    if balance:
        rebalance(payload)
    return json.dumps(payload)


def _lines(payload: dict, count: int) -> None:
    lines = payload["refund_line_items"]
    payload["refund_line_items"] = [copy.deepcopy(lines[n % len(lines)]) for n in range(count)]


def _unknown_item_with_sku(payload: dict) -> None:
    payload["refund_line_items"][0]["line_item"].update(sku="SKU\ud800", admin_graphql_api_id="gid://shopify/LineItem/404")


MINIMAL_BODIES = {
    "unreadable_names_body": _body(lambda p: p["total_duties_set"].update(shop_money=[])),
    "untyped:InvalidOperation@mapper.py:_rows":
        _body(lambda p: p["refund_line_items"][0]["subtotal_set"]["shop_money"].update(amount="1e30")),
    "untyped:InvalidOperation@mapper.py:map_refund":
        _body(lambda p: p["transactions"][0].update(amount="1e400"), balance=False),
    "untyped:ValidationError@mapper.py:_rows": _body(lambda p: _lines(p, 100)),
    "not_json_unnamed": valid_body(0)[:100],
    "unstorable:unreadable": _body(lambda p: p["total_duties_set"]["shop_money"].update(currency_code="\ud800")),
    "unstorable:problems": _body(_unknown_item_with_sku),
}


def test_every_known_bug_has_a_minimal_body():
    assert set(KNOWN_BUGS) <= set(MINIMAL_BODIES)


FIXED = sorted(set(MINIMAL_BODIES) - set(KNOWN_BUGS))


@pytest.mark.parametrize("code", FIXED)
def test_bugs_the_fuzz_found_stay_fixed(sync_store, code):
    """Each body once broke reading, mapping or storing; now it ends typed and named, and capture loses nothing."""
    assert not run_case(MINIMAL_BODIES[code]).failure_codes()
    bodies = [valid_body(next(_good_refunds)), MINIMAL_BODIES[code], valid_body(next(_good_refunds))]
    inbox_ids = _deliver(sync_store, bodies)
    _capture(sync_store)
    _check_nothing_lost(sync_store, bodies, inbox_ids)


@pytest.mark.parametrize("code", [pytest.param(code, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[code]))
                                  for code in KNOWN_BUGS])
def test_known_bug(code):
    """Each fails today with its code: when it passes (XPASS, a failure under strict), drop it from KNOWN_BUGS."""
    result = run_case(MINIMAL_BODIES[code])
    assert code not in result.failure_codes(), result.untyped or result.unnamed or result.unstorable
    assert not result.failure_codes()


CAPTURE_BREAKERS = [code for code in KNOWN_BUGS if run_case(MINIMAL_BODIES[code]).breaks_capture]


@pytest.mark.parametrize("code", [pytest.param(code, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[code]))
                                  for code in CAPTURE_BREAKERS])
def test_known_bug_loses_deliveries_at_capture(sync_store, code):
    """The bodies that make capture_refunds raise: the claimed deliveries stay ``processing`` (no refunds step
    requeues them), so the good delivery claimed with the bad one is neither staged nor failed."""
    bodies = [valid_body(next(_good_refunds)), MINIMAL_BODIES[code], valid_body(next(_good_refunds))]
    inbox_ids = _deliver(sync_store, bodies)
    _capture(sync_store)
    _check_nothing_lost(sync_store, bodies, inbox_ids)
