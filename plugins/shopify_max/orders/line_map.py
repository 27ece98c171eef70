"""The line map recorded at export: which Shopify line each MAX sales-order row came from (``order_line_map``).

The mapper notes, per ``LINNUM``, the Shopify line it priced (``line_sources`` in ``mapped_json``: a line item's
gid, SKU and UOM factor, or a shipping line). At export each ``SO_Detail`` row of the document (``LINNUM`` +
``DELNUM``: a line split to the cent is two deliveries of one line item) becomes one map row. The map is recorded
however the export settles: written now, found by the CUSTPO lookup, refused as a duplicate CUSTPO (409) or
already in ``id_map``, so an order exported by an earlier attempt gets its map too.

Recording never changes the export's outcome. When the MAX order's rows (as the gateway answered or the lookup
found them) are not the document's rows, or a different map is already recorded, nothing is recorded and a
warning names both: the fulfilment flow then finds no (or the first) map for that order.
Discounts are never MAX rows (``PRICE`` is the net price), so the map has no discount rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from shopify_max.exactmax.models import SalesOrder
from shopify_max.sync_store import OrderLineMapConflict, OrderLineMapRow, SyncStore

log = logging.getLogger(__name__)


def line_map_rows(order_gid: str, ordnum: str, mapped: dict, sales_order: SalesOrder) -> list[OrderLineMapRow] | None:
    """One map row per ``SO_Detail`` row of ``sales_order``; None when the mapping noted no line sources (an order
    mapped before line maps were recorded) or not one for every ``LINNUM``."""
    sources = {source["LINNUM"]: source for source in mapped.get("line_sources") or []}
    if not sources or any(line.LINNUM not in sources for line in sales_order.lines):
        return None
    return [OrderLineMapRow(
        ordnum=ordnum, linnum=line.LINNUM, delnum=line.DELNUM, order_gid=order_gid,
        line_kind=sources[line.LINNUM]["line_kind"], part_number=line.PRTNUM,
        uom_factor=int(sources[line.LINNUM]["uom_factor"]), max_quantity=int(line.ORGQTY),
        line_item_gid=sources[line.LINNUM]["line_item_gid"], sku=sources[line.LINNUM]["sku"], sales_uom=line.SLSUOM,
    ) for line in sales_order.lines]


def record_line_map(store: SyncStore, *, order_gid: str, order_name: str, ordnum: str, mapped: dict,
                    sales_order: SalesOrder, max_lines: Iterable[Any] | None = None,
                    run_id: str | None = None) -> bool:
    """Record the order's line map (a no-op when recorded already). ``max_lines``: the rows MAX holds (objects with
    ``LINNUM``, ``DELNUM``, ``PRTNUM``), checked against the document's first. True when the map is recorded."""
    rows = line_map_rows(order_gid, ordnum, mapped, sales_order)
    if rows is None:
        log.warning("order %s (ORDNUM %s): its mapping notes no Shopify line per LINNUM (mapped before line maps "
                    "were recorded); no line map recorded", order_name, ordnum)
        return False
    max_rows = {tuple(getattr(line, key, None) for key in ("LINNUM", "DELNUM", "PRTNUM")) for line in max_lines or []}
    if any(None in key for key in max_rows):
        max_rows = set()  # not rows as the gateway answers them: nothing to check against
    ours = {(row.linnum, row.delnum, row.part_number) for row in rows}
    if max_rows and max_rows != ours:
        log.warning("order %s: MAX order %s holds rows %s, this mapping %s; no line map recorded", order_name,
                    ordnum, sorted(max_rows), sorted(ours))
        return False
    try:
        new = store.record_order_line_map(rows, run_id=run_id)
    except OrderLineMapConflict as conflict:
        log.warning("order %s: %s", order_name, conflict)
        return False
    if new:
        log.info("order %s: line map of ORDNUM %s recorded (%d row(s))", order_name, ordnum, new)
    return True
