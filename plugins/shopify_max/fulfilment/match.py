"""What to do in Shopify for one part of a shipment (one location's lines), given what Shopify holds now (pure).

In this order (docs/fulfilment.md, "Exactly once"):

1. **Ours, answer lost.** A fulfilment no shipment has recorded, at the part's location, whose lines fit the part
   and that carries one of the shipment's tracking numbers (or, for a shipment without numbers, was made after
   our send began): it is ours; record it, send nothing.
2. **By hand.** When Shopify has less left to fulfil than MAX shipped, fulfilments no shipment has recorded
   (made by a person) cover the difference: recorded as fulfilled by hand, never sent again. What is left beyond
   them is an over-shipment (or a closed fulfillment order), with both figures.
3. **Create** from the fulfillment orders at the part's location that can take it (``CREATE_FULFILLMENT``);
   quantities held there wait by the ``on_hold`` rule; quantities assigned to another location follow the
   ``other_location`` rule (move them here, wait, or the error queue).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.sync_store.states import ShipmentErrorStage, ShipmentOutcomeCode

FULFILLABLE = ("OPEN", "IN_PROGRESS")
HELD = ("ON_HOLD", "SCHEDULED", "INCOMPLETE")
ENDED = ("CLOSED", "CANCELLED")
NOT_A_FULFILMENT = ("CANCELLED", "ERROR", "FAILURE")
SEND_CLOCK_SLACK = timedelta(minutes=2)  # Shopify's createdAt against our clock, for sends without numbers


@dataclass
class OrderClaims:
    """What the order's other shipments already account for."""

    fulfillment_gids: set[str] = field(default_factory=set)
    by_hand: dict[str, int] = field(default_factory=dict)  # line item gid -> units attributed to hand fulfilments


@dataclass
class PartDecision:
    kind: Literal["adopt", "create", "move", "wait", "problem"]
    code: ShipmentOutcomeCode | None = None
    fulfillment_gid: str | None = None
    by_hand: dict[str, int] = field(default_factory=dict)
    lines_by_fulfillment_order: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    move: tuple[str, list[tuple[str, int]]] | None = None  # (fulfillment order id, [(line id, qty)])
    stage: ShipmentErrorStage | None = None
    message: str = ""


def tracking_numbers_of(fulfillment: Any) -> set[str]:
    numbers = set()
    for info in fulfillment.tracking or []:
        numbers.update(n for n in (getattr(info, "numbers", None) or []) if n)
        if info.number:
            numbers.add(info.number)
    return numbers


def lines_of(fulfillment: Any) -> dict[str, int]:
    lines: dict[str, int] = defaultdict(int)
    for line in fulfillment.lines:
        lines[line.line_item_id] += line.quantity
    return dict(lines)


def _fits(lines: dict[str, int], want: dict[str, int]) -> bool:
    return bool(lines) and all(want.get(item, 0) >= quantity for item, quantity in lines.items())


def find_our_lost_fulfilment(state: Any, claims: OrderClaims, location: str, want: dict[str, int],
                             numbers: list[str], sending_since: datetime | None) -> Any | None:
    for fulfillment in state.fulfillments:
        if fulfillment.id in claims.fulfillment_gids or fulfillment.status in NOT_A_FULFILMENT:
            continue
        if fulfillment.location_id not in (None, location) or not _fits(lines_of(fulfillment), want):
            continue
        if numbers and tracking_numbers_of(fulfillment) & set(numbers):
            return fulfillment
        created = getattr(fulfillment, "created_at", None)
        if not numbers and sending_since and created and created >= sending_since - SEND_CLOCK_SLACK:
            return fulfillment
    return None


def _describe(want: dict[str, int], skus: dict[str, str | None]) -> str:
    return ", ".join(f"{skus.get(item) or item} x{quantity}" for item, quantity in sorted(want.items()))


def decide_part(state: Any, claims: OrderClaims, location: str, want: dict[str, int], *, numbers: list[str],
                sending_since: datetime | None, skus: dict[str, str | None], rules: FulfilmentRules,
                moves_left: int = 2) -> PartDecision:
    lost = find_our_lost_fulfilment(state, claims, location, want, numbers, sending_since)
    if lost is not None:
        found = lines_of(lost)
        rest = {item: quantity - found.get(item, 0) for item, quantity in want.items() if quantity > found.get(item, 0)}
        return PartDecision("adopt", ShipmentOutcomeCode.FOUND_IN_SHOPIFY, fulfillment_gid=lost.id, by_hand=rest,
                            message=f"found fulfilment {lost.id} in Shopify (sent before, its answer lost)")
    fulfilled: dict[str, int] = defaultdict(int)
    ours: dict[str, int] = defaultdict(int)
    for fulfillment in state.fulfillments:
        if fulfillment.status in NOT_A_FULFILMENT:
            continue
        for item, quantity in lines_of(fulfillment).items():
            fulfilled[item] += quantity
            if fulfillment.id in claims.fulfillment_gids:
                ours[item] += quantity
    open_here: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    held_here: dict[str, int] = defaultdict(int)  # on hold (or unable to take a fulfilment), at any location
    elsewhere: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    ended: dict[str, int] = defaultdict(int)
    for order in state.fulfillment_orders:
        for line in order.line_items:
            if line.remaining_quantity <= 0 or line.line_item_id not in want:
                continue
            if order.status in ENDED:
                ended[line.line_item_id] += line.remaining_quantity
            elif order.status not in FULFILLABLE or not order.can_create_fulfillment:
                held_here[line.line_item_id] += line.remaining_quantity  # held here or elsewhere: the hold rules
            elif order.location_id != location:
                elsewhere[line.line_item_id].append((order, line))
            else:
                open_here[line.line_item_id].append((order, line))
    by_hand: dict[str, int] = {}
    need: dict[str, int] = {}
    for item, quantity in want.items():
        remaining = (sum(line.remaining_quantity for _o, line in open_here[item]) + held_here[item]
                     + sum(line.remaining_quantity for _o, line in elsewhere[item]))
        deficit = quantity - remaining
        if deficit > 0:
            hand = max(fulfilled[item] - ours[item] - claims.by_hand.get(item, 0), 0)
            if hand >= deficit:
                by_hand[item] = deficit
            else:
                code, stage = ((ShipmentOutcomeCode.FULFILLMENT_ORDER_CLOSED, ShipmentErrorStage.FULFILLMENT_ORDER)
                               if ended[item] else (ShipmentOutcomeCode.OVER_SHIPMENT, ShipmentErrorStage.OVER_SHIPMENT))
                what = "a closed or cancelled fulfillment order holds the rest" if ended[item] else "over-shipment"
                return PartDecision("problem", code, stage=stage, message=(
                    f"{what}: MAX shipped {quantity} of {skus.get(item) or item}; Shopify still has {remaining} to "
                    f"fulfil ({fulfilled[item]} fulfilled already, {hand} of them by hand and not yet accounted "
                    f"for). Fulfil or adjust it in Shopify by hand, then resolve the item"))
        if quantity - by_hand.get(item, 0) > 0:
            need[item] = quantity - by_hand.get(item, 0)
    lines_by_order: dict[str, list[tuple[str, int]]] = defaultdict(list)
    held: list[str] = []
    to_move: list[tuple[Any, Any, int]] = []
    for item, quantity in need.items():
        left = quantity
        for order, line in open_here[item]:
            take = min(left, line.remaining_quantity)
            if take:
                lines_by_order[order.id].append((line.id, take))
                left -= take
        for order, line in elsewhere[item]:
            if left <= 0:
                break
            take = min(left, line.remaining_quantity)
            to_move.append((order, line, take))
            left -= take
        if left > 0 and held_here[item]:
            held.append(f"{skus.get(item) or item} x{min(left, held_here[item])}")
    if held:
        waiting = rules.on_hold == "wait"
        return PartDecision("wait", ShipmentOutcomeCode.WAITING_BY_RULE if waiting else ShipmentOutcomeCode.ON_HOLD,
                            stage=None if waiting else ShipmentErrorStage.FULFILLMENT_ORDER, message=(
                                f"the fulfillment order at this location is on hold (or cannot take a fulfilment) "
                                f"for {', '.join(held)}; release the hold in Shopify and the next run fulfils it"))
    if to_move:
        where = sorted({order.location_id or "?" for order, _line, _take in to_move})
        if rules.other_location == "move" and moves_left > 0:
            order = to_move[0][0]
            lines = [(line.id, take) for o, line, take in to_move if o.id == order.id]
            return PartDecision("move", move=(order.id, lines),
                                message=f"moving {len(lines)} line(s) of {order.id} to the shipping location")
        waiting = rules.other_location == "wait"
        return PartDecision("wait", ShipmentOutcomeCode.WAITING_BY_RULE if waiting else ShipmentOutcomeCode.OTHER_LOCATION,
                            stage=None if waiting else ShipmentErrorStage.FULFILLMENT_ORDER, message=(
                                f"Shopify assigned {_describe(need, skus)} to {', '.join(where)}, not to {location} "
                                "that MAX shipped from; move the fulfillment order in Shopify (or set other_location: "
                                "move) and the next run fulfils it"))
    if not lines_by_order:
        return PartDecision("adopt", ShipmentOutcomeCode.FULFILLED_BY_HAND, by_hand=by_hand,
                            message=f"fulfilled by hand in Shopify: {_describe(by_hand, skus)}; recorded, not sent")
    return PartDecision("create", ShipmentOutcomeCode.FULFILLED, by_hand=by_hand,
                        lines_by_fulfillment_order=dict(lines_by_order))
