"""The fulfilment dry run's stand-in writer: it counts each create or move a real run would send, and updates an
in-memory copy of the order, so the next shipment of that order (and the close) is judged against what Shopify would
then hold (``fulfilment.dry_run``)."""


from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.dry_run import DryRunReport
from shopify_max.fulfilment.match import ENDED, OrderClaims, PartDecision
from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.fulfilment.shipments import (
    BY_HAND,
    claims_for,
)
from shopify_max.shopify.models import Fulfillment
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.shipment_sync import ShipmentRow
from shopify_max.sync_store.states import ShipmentErrorStage, ShipmentOutcomeCode, ShipmentStatus

FIELDS = {
    ShipmentOutcomeCode.ON_HOLD: "fulfillmentOrder.status",
    ShipmentOutcomeCode.FULFILLMENT_ORDER_CLOSED: "fulfillmentOrder.status",
    ShipmentOutcomeCode.OTHER_LOCATION: "fulfillmentOrder.assignedLocation",
    ShipmentOutcomeCode.OVER_SHIPMENT: "lines.quantity",
    ShipmentOutcomeCode.ORDER_NOT_IN_SHOPIFY: "ORDNUM",
}


def shipment_record(row: ShipmentRow) -> str:
    return f"MAX shipment {row.shipment_id} (order {row.ordnum})"


@dataclass
class DryRunOrderWriter:
    """Stands in for :class:`.shipments.OrderWriter` in :func:`.shipments.fulfil_order`: reads Shopify and the sync
    store as the real writer does; a write is counted in the report and applied to an in-memory copy of the order."""

    store: SyncStore
    api: Any
    ordnum: str
    order_gid: str
    rules: FulfilmentRules
    report: DryRunReport
    line_map_source: Callable[[str, str], list | None] | None = None
    location_names: dict[str, str] = field(default_factory=dict)  # Shopify location gid -> name, for the report
    state: Any = None  # Shopify's order as this run would leave it
    read: bool = False
    rebuilt_line_map: list | None = None
    _claims: OrderClaims | None = None
    _sends: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # shipment id -> what is sent

    def read_state(self) -> Any:
        if not self.read:
            self.state, self.read = self.api.order_fulfilment_state(self.order_gid), True
        return self.state

    def claims(self) -> OrderClaims:
        if self._claims is None:
            self._claims = claims_for(self.store, self.ordnum)
        return self._claims

    def line_map(self, counts: dict[str, int]) -> list:
        line_map = self.store.order_line_map(self.ordnum)
        if not line_map and self.line_map_source is not None:
            self.rebuilt_line_map = self.line_map_source(self.ordnum, self.order_gid)
            if self.rebuilt_line_map:
                counts["line_maps_rebuilt"] += 1
                self.report.notes.append(f"MAX order {self.ordnum} has no line map (exported before line maps were "
                                         "recorded): a real run rebuilds it from MAX and Shopify and records it")
                return self.rebuilt_line_map
        return line_map

    def sending_since(self, row: ShipmentRow) -> datetime | None:
        return row.sending_since

    def fail(self, row: ShipmentRow, status: ShipmentStatus, code: ShipmentOutcomeCode,
             stage: ShipmentErrorStage | None, reason: str, detail: dict[str, Any] | None = None) -> None:
        if stage is not None:  # an error-queue item in a real run; a wait by rule is not
            problems = (detail or {}).get("problems") or []
            self.report.fail(shipment_record(row), problems[0]["field"] if problems else FIELDS.get(code, str(stage)),
                             str(code), reason)
        self._row(row, "failed" if stage is not None else "skipped", code, reason)  # as the run summary buckets it

    def skip(self, row: ShipmentRow, code: ShipmentOutcomeCode, reason: str) -> None:
        self._row(row, "skipped", code, reason)

    def record_part(self, row: ShipmentRow, location: str, decision: PartDecision, fulfillment_gid: str | None,
                    numbers: list[str]) -> None:
        claims = self.claims()
        if fulfillment_gid and fulfillment_gid != BY_HAND:
            claims.fulfillment_gids.add(fulfillment_gid)
        for item, units in decision.by_hand.items():
            claims.by_hand[item] = claims.by_hand.get(item, 0) + units
        if decision.kind == "adopt":
            self._sends[row.shipment_id].append(f"{decision.message} (nothing sent)")

    def move(self, row: ShipmentRow, decision: PartDecision, location: str) -> str | None:
        self.report.add_write("fulfillment_order_moves")
        self._sends[row.shipment_id].append(f"move {_describe_lines(self.state, decision.move[1])} to "
                                            f"{self.location_names.get(location, location)}")
        self.state = moved_in_memory(self.state, decision, location, self.location_names.get(location))
        return None

    def send_fulfilment(self, row: ShipmentRow, location: str, decision: PartDecision, tracking: Any) -> str | None:
        self.report.add_write("fulfilments")
        lines = [line for lines in decision.lines_by_fulfillment_order.values() for line in lines]
        self._sends[row.shipment_id].append(f"fulfil {_describe_lines(self.state, lines)} from "
                                            f"{self.location_names.get(location, location)}")
        gid = f"dry-run:{row.shipment_id}:{location}"
        self.state = fulfilled_in_memory(self.state, decision, location, gid, tracking)
        return gid

    def settle_fulfilled(self, row: ShipmentRow, code: ShipmentOutcomeCode) -> None:
        self._row(row, "fulfilled", code, "")

    def _row(self, row: ShipmentRow, outcome: str, code: ShipmentOutcomeCode, reason: str) -> None:
        shipment = row.shipment
        numbers = [str(t.get("tracking_number") or "") for t in shipment.get("tracking") or []]
        self.report.tables.setdefault("fulfilments", []).append({
            "shipment_id": row.shipment_id, "ordnum": row.ordnum, "order_gid": self.order_gid, "outcome": outcome,
            "code": str(code), "would_send": "; ".join(self._sends.get(row.shipment_id, [])),
            "ship_via": shipment.get("SHPVIA", ""), "tracking": ", ".join(n for n in numbers if n), "reason": reason})


def _describe_lines(state: Any, lines: Iterable[tuple[str, int]]) -> str:
    """``SKU x2, SKU x1`` for fulfillment-order lines (ids as Shopify gives them)."""
    skus = {line.id: line.sku or line.line_item_id for order in state.fulfillment_orders for line in order.line_items}
    return ", ".join(f"{skus.get(line_id, line_id)} x{quantity}" for line_id, quantity in lines)


def fulfilled_in_memory(state: Any, decision: PartDecision, location: str, gid: str, tracking: Any) -> Any:
    """Shopify's order after the decision's ``fulfillmentCreate``: the quantities taken off their fulfillment
    orders, and a fulfilment at the location with the tracking numbers."""
    taking = {order_id: dict(lines) for order_id, lines in decision.lines_by_fulfillment_order.items()}
    orders, shipped = [], defaultdict(int)
    for order in state.fulfillment_orders:
        take = taking.get(order.id, {})
        lines = []
        for line in order.line_items:
            if take.get(line.id):
                shipped[line.line_item_id] += take[line.id]
            lines.append(line.model_copy(update={"remaining_quantity": line.remaining_quantity - take.get(line.id, 0)}))
        orders.append(order.model_copy(update={"line_items": lines}))
    fulfilment = Fulfillment.model_validate({
        "id": gid, "name": "(dry run)", "status": "SUCCESS", "createdAt": utcnow().isoformat(),
        "location": {"id": location}, "trackingInfo": [{"number": n} for n in (tracking.numbers if tracking else [])],
        "fulfillmentLineItems": [{"lineItem": {"id": item}, "quantity": quantity} for item, quantity in shipped.items()]})
    left = any(line.remaining_quantity > 0 for order in orders if order.status not in ENDED for line in order.line_items)
    return state.model_copy(update={"fulfillment_orders": orders, "fulfillments": [*state.fulfillments, fulfilment],
                                    "display_fulfillment_status": "PARTIALLY_FULFILLED" if left else "FULFILLED"})


def moved_in_memory(state: Any, decision: PartDecision, location: str, location_name: str | None = None) -> Any:
    """Shopify's order after the decision's ``fulfillmentOrderMove``: the lines on a fulfillment order at ``location``."""
    order_id, lines = decision.move
    moving = dict(lines)
    orders = []
    for order in state.fulfillment_orders:
        if order.id != order_id:
            orders.append(order)
            continue
        kept = [line.model_copy(update={"total_quantity": line.total_quantity - moving.get(line.id, 0),
                                        "remaining_quantity": line.remaining_quantity - moving.get(line.id, 0)})
                for line in order.line_items]
        moved = [line.model_copy(update={"total_quantity": moving[line.id], "remaining_quantity": moving[line.id]})
                 for line in order.line_items if moving.get(line.id)]
        orders += [order.model_copy(update={"line_items": kept}),
                   order.model_copy(update={"id": f"{order.id}:moved", "location_id": location, "status": "OPEN",
                                            "location_name": location_name, "line_items": moved})]
    return state.model_copy(update={"fulfillment_orders": orders})
