"""A MAX shipment in Shopify's terms, and what to do in Shopify for it: the pure rules of docs/fulfilment.md,
on the real models parsed from GraphQL-shaped data."""

from __future__ import annotations

from datetime import UTC, datetime

from fulfilment_fixtures import MAIN, STORE, fulfillment, fulfillment_order, item, line_map, rules, shipment, state

from shopify_max.fulfilment.match import OrderClaims, decide_part
from shopify_max.fulfilment.plan import plan_shipment
from shopify_max.sync_store.states import ShipmentErrorStage, ShipmentOutcomeCode


def decide(st, want, *, claims=None, numbers=("1Z1", "1Z2"), sending_since=None, **rule_overrides):
    return decide_part(st, claims or OrderClaims(), MAIN, want, numbers=list(numbers), sending_since=sending_since,
                       skus={item(n): f"SKU-{n}" for n in range(1, 4)}, rules=rules(**rule_overrides))


def test_a_shipment_maps_back_through_the_line_map_uom_factor_and_stockroom():
    plan = plan_shipment(shipment([("01", "2", "MAIN"), ("02", "24", "OVERFLOW"), ("04", "1", "MAIN")]), line_map(),
                         rules())
    assert not plan.problems
    # 24 EA of a 12-per-unit case line is 2 Shopify units; MAIN and OVERFLOW ship from one location; freight: nothing
    assert plan.parts == {MAIN: {item(1): 2, item(2): 2}}
    assert plan.tracking.company == "UPS" and plan.tracking.numbers == ["1Z1", "1Z2"]


def test_units_that_are_not_whole_an_unknown_stockroom_and_an_unknown_line_are_each_named():
    plan = plan_shipment(shipment([("01", "1", "NOWHERE"), ("02", "18", "MAIN"), ("09", "1", "MAIN")]), line_map(),
                         rules())
    by_field = {problem.field: problem for problem in plan.problems}
    assert set(by_field) == {"lines[0].STK", "lines[1].quantity", "lines[2].LINNUM"}
    assert by_field["lines[1].quantity"].code == ShipmentOutcomeCode.NOT_WHOLE_UNITS
    assert "1.5 Shopify units" in by_field["lines[1].quantity"].message
    assert "'NOWHERE'" in by_field["lines[0].STK"].message
    assert all(problem.stage == ShipmentErrorStage.MAP for problem in plan.problems)


def test_a_carrier_without_a_shopify_name_sends_its_url_and_an_unknown_one_sends_numbers_alone():
    by_url = plan_shipment(shipment([("01", "1", "MAIN")], numbers=["PRO77"], ship_via="LT"), line_map(), rules())
    assert (by_url.tracking.company, by_url.tracking.urls) == (None, ["https://t.example/PRO77"])
    unknown = plan_shipment(shipment([("01", "1", "MAIN")], ship_via="ZZ"), line_map(), rules())
    assert unknown.tracking.company is None and unknown.unknown_ship_via == "ZZ"


def test_an_order_without_a_line_map_is_one_problem_not_a_guess():
    plan = plan_shipment(shipment([("01", "1", "MAIN")]), [], rules())
    assert [problem.code for problem in plan.problems] == [ShipmentOutcomeCode.NO_LINE_MAP]


def test_a_partial_shipment_takes_only_what_it_shipped_from_the_location():
    st = state([fulfillment_order("1", MAIN, [(1, 3, 3), (2, 2, 2), (3, 1, 1)])])
    decision = decide(st, {item(1): 1, item(2): 2})
    assert decision.kind == "create"
    assert decision.lines_by_fulfillment_order == {"gid://shopify/FulfillmentOrder/1": [
        ("gid://shopify/FulfillmentOrderLineItem/11", 1), ("gid://shopify/FulfillmentOrderLineItem/12", 2)]}


def test_our_fulfilment_whose_answer_was_lost_is_found_by_tracking_number_and_not_sent_again():
    st = state([fulfillment_order("1", MAIN, [(1, 3, 2)])], [fulfillment("70", MAIN, [(1, 1)], ["1Z2"])])
    decision = decide(st, {item(1): 1})
    assert (decision.kind, decision.fulfillment_gid, decision.code) == (
        "adopt", "gid://shopify/Fulfillment/70", ShipmentOutcomeCode.FOUND_IN_SHOPIFY)
    # once recorded for this or another shipment, the same fulfilment is never claimed twice
    claimed = decide(st, {item(1): 1}, claims=OrderClaims({"gid://shopify/Fulfillment/70"}))
    assert claimed.kind == "create"


def test_without_tracking_numbers_a_lost_answer_is_found_by_lines_and_the_time_the_send_began():
    st = state([fulfillment_order("1", MAIN, [(1, 3, 2)])],
               [fulfillment("71", MAIN, [(1, 1)], created_at="2026-11-30T10:00:30Z")])
    began = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
    assert decide(st, {item(1): 1}, numbers=(), sending_since=began).kind == "adopt"
    assert decide(st, {item(1): 1}, numbers=(), sending_since=None).kind == "create"  # never sent: a person's


def test_lines_fulfilled_by_hand_are_recorded_and_not_fulfilled_twice():
    # a person fulfilled 2 of SKU-1 without tracking; MAX then ships those 2 and 1 more of SKU-3
    st = state([fulfillment_order("1", MAIN, [(1, 3, 1), (3, 1, 1)])], [fulfillment("72", MAIN, [(1, 2)])])
    decision = decide(st, {item(1): 3, item(3): 1})
    assert decision.kind == "create" and decision.by_hand == {item(1): 2}
    assert decision.lines_by_fulfillment_order == {"gid://shopify/FulfillmentOrder/1": [
        ("gid://shopify/FulfillmentOrderLineItem/11", 1), ("gid://shopify/FulfillmentOrderLineItem/13", 1)]}
    # everything by hand: nothing to send
    all_by_hand = decide(state([fulfillment_order("1", MAIN, [(1, 3, 0)])], [fulfillment("73", MAIN, [(1, 3)])]),
                         {item(1): 3})
    assert (all_by_hand.kind, all_by_hand.code) == ("adopt", ShipmentOutcomeCode.FULFILLED_BY_HAND)
    # ... and what another shipment already attributed to hand fulfilments is not counted again
    over = decide(state([fulfillment_order("1", MAIN, [(1, 3, 0)])], [fulfillment("73", MAIN, [(1, 3)])]),
                  {item(1): 3}, claims=OrderClaims(by_hand={item(1): 3}))
    assert over.code == ShipmentOutcomeCode.OVER_SHIPMENT


def test_an_over_shipment_goes_to_the_error_queue_with_both_figures():
    st = state([fulfillment_order("1", MAIN, [(1, 3, 2)])], [fulfillment("74", MAIN, [(1, 1)], ["OURS"])])
    decision = decide(st, {item(1): 5}, claims=OrderClaims({"gid://shopify/Fulfillment/74"}))
    assert (decision.kind, decision.stage) == ("problem", ShipmentErrorStage.OVER_SHIPMENT)
    assert "MAX shipped 5 of SKU-1; Shopify still has 2 to fulfil" in decision.message


def test_a_closed_fulfillment_order_is_a_problem_and_a_held_one_follows_the_rule():
    closed = decide(state([fulfillment_order("1", MAIN, [(1, 3, 3)], status="CLOSED", actions=())]), {item(1): 1})
    assert (closed.kind, closed.code) == ("problem", ShipmentOutcomeCode.FULFILLMENT_ORDER_CLOSED)
    held = state([fulfillment_order("1", MAIN, [(1, 3, 3)], status="ON_HOLD", actions=("RELEASE_HOLD",))])
    on_hold = decide(held, {item(1): 1})
    assert (on_hold.kind, on_hold.code, on_hold.stage) == ("wait", ShipmentOutcomeCode.ON_HOLD,
                                                           ShipmentErrorStage.FULFILLMENT_ORDER)
    waiting = decide(held, {item(1): 1}, on_hold="wait")
    assert (waiting.code, waiting.stage) == (ShipmentOutcomeCode.WAITING_BY_RULE, None)


def test_quantities_assigned_to_another_location_are_moved_or_wait_by_the_rule():
    st = state([fulfillment_order("1", MAIN, [(1, 3, 1)]), fulfillment_order("2", STORE, [(1, 0, 0), (2, 2, 2)])])
    moved = decide(st, {item(1): 1, item(2): 2})
    assert moved.kind == "move" and moved.move == ("gid://shopify/FulfillmentOrder/2",
                                                   [("gid://shopify/FulfillmentOrderLineItem/22", 2)])
    errors = decide(st, {item(1): 1, item(2): 2}, other_location="error_queue")
    assert (errors.code, errors.stage) == (ShipmentOutcomeCode.OTHER_LOCATION, ShipmentErrorStage.FULFILLMENT_ORDER)
    assert STORE in errors.message
    assert decide(st, {item(1): 1, item(2): 2}, other_location="wait").code == ShipmentOutcomeCode.WAITING_BY_RULE
