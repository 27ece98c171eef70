"""A line map for an order exported before line maps were recorded (sync store revisions before 0007).

Rebuilt from what both sides hold now: the MAX order's rows (``LINNUM``, ``DELNUM``, part, ``ORGQTY``) and the
Shopify order's line items, through ``sku_to_part.csv``. A row on the freight part is the shipping row; every
other ``LINNUM`` takes the first line item not yet taken whose mapped part is the row's part and whose quantity
times the UOM factor is the ``LINNUM``'s quantity (all its deliveries). One ``LINNUM`` without exactly such a line
item, and nothing is rebuilt: the shipment goes to the error queue as before, never to a guessed line.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from shopify_max.sync_store import OrderLineMapRow

log = logging.getLogger(__name__)


def rebuild_line_map(ordnum: str, order_gid: str, sales_order: Any, order: Any, parts_by_sku: dict[str, Any],
                     freight_part: str, custom_part: str | None) -> list[OrderLineMapRow] | None:
    deliveries: dict[str, list[Any]] = defaultdict(list)
    for line in sales_order.lines:
        deliveries[line.LINNUM].append(line)
    taken: set[str] = set()
    rows: list[OrderLineMapRow] = []
    for linnum in sorted(deliveries):
        lines = deliveries[linnum]
        part = lines[0].PRTNUM
        if part == freight_part:
            rows += [OrderLineMapRow(ordnum, line.LINNUM, line.DELNUM, order_gid, "shipping", part, 1,
                                     int(Decimal(line.ORGQTY))) for line in lines]  # the export sends no UOM on it
            continue
        ordered = sum((Decimal(line.ORGQTY) for line in lines), Decimal(0))
        match = None
        for item in order.line_items:
            mapping = parts_by_sku.get(item.sku or "")
            item_part, factor = (mapping.part_number, mapping.uom_factor) if mapping else (custom_part, 1)
            if item.id not in taken and item_part == part and Decimal(item.quantity * factor) == ordered:
                match = (item, factor)
                break
        if match is None:
            log.warning("MAX order %s line %s (part %s, %s ordered): no Shopify line item of %s matches; no line map "
                        "rebuilt", ordnum, linnum, part, ordered.normalize(), order_gid)
            return None
        item, factor = match
        taken.add(item.id)
        rows += [OrderLineMapRow(ordnum, line.LINNUM, line.DELNUM, order_gid, "line_item", part, factor,
                                 int(Decimal(line.ORGQTY)), item.id, item.sku, line.SLSUOM) for line in lines]
    return rows or None
