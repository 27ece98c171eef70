"""``order_line_map``: which Shopify line each MAX sales-order row came from, recorded at export.

One row per MAX ``SO_Detail`` row (``ORDNUM`` + ``LINNUM`` + ``DELNUM``). A MAX shipment or invoice names its lines
by those keys; this table turns them back into Shopify line items, with the UOM factor the export used
(MAX quantity = Shopify quantity x ``uom_factor``). Rules:

- an order's map is recorded whole, in one transaction;
- recording the same map again is a no-op (an export settled by ``id_map`` or the CUSTPO lookup records it again);
- a different map for an ``ORDNUM`` already mapped (another row for the same ``LINNUM``/``DELNUM``, or another set
  of rows) raises :class:`OrderLineMapConflict`, naming the recorded row and the new one; nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess
from shopify_max.sync_store.tables import order_line_map

LINE_KINDS = ("line_item", "shipping")  # shipping: a freight row from a Shopify shipping line, no line item


class OrderLineMapConflict(Exception):
    """A MAX order's rows are already mapped to other Shopify lines (or another set of rows)."""


@dataclass(frozen=True)
class OrderLineMapRow:
    """One MAX sales-order row and the Shopify line it came from."""

    ordnum: str
    linnum: str
    delnum: str
    order_gid: str
    line_kind: str  # LINE_KINDS
    part_number: str
    uom_factor: int  # MAX quantity = Shopify quantity x uom_factor
    max_quantity: int  # ORGQTY of this row, in MAX units
    line_item_gid: str | None = None  # None for shipping rows
    sku: str | None = None  # None for shipping and custom (no SKU) lines
    sales_uom: str | None = None  # None: the part's own sales UOM

    def __post_init__(self) -> None:
        for name in ("ordnum", "linnum", "delnum"):
            object.__setattr__(self, name, str(getattr(self, name)).strip())
        if self.line_kind not in LINE_KINDS:
            raise ValueError(f"line_kind {self.line_kind!r}: expected one of {LINE_KINDS}")
        if (self.line_kind == "line_item") != (self.line_item_gid is not None):
            raise ValueError(f"{self.key_text()}: a line_item row names its line item; a shipping row names none")
        if self.uom_factor < 1 or self.max_quantity < 1:
            raise ValueError(f"{self.key_text()}: uom_factor and max_quantity are whole numbers >= 1")

    @property
    def key(self) -> tuple[str, str, str]:
        return self.ordnum, self.linnum, self.delnum

    def key_text(self) -> str:
        return f"ORDNUM {self.ordnum} LINNUM {self.linnum} DELNUM {self.delnum}"

    def describe(self) -> str:
        what = self.line_item_gid if self.line_kind == "line_item" else "shipping"
        return (f"{self.key_text()} -> {what} of {self.order_gid} (sku {self.sku}, part {self.part_number}, "
                f"uom {self.sales_uom}, factor {self.uom_factor}, qty {self.max_quantity})")


_COLUMNS = [f.name for f in fields(OrderLineMapRow)]


def _row(record) -> OrderLineMapRow:  # noqa: ANN001 - a SQLAlchemy Row
    return OrderLineMapRow(**{name: getattr(record, name) for name in _COLUMNS})


class OrderLineMap(TableAccess):
    def record_order_line_map(self, rows: Iterable[OrderLineMapRow], *, run_id: str | None = None) -> int:
        """Record the map of one or more MAX orders; returns how many rows were new (0: already recorded so).

        Raises :class:`OrderLineMapConflict` when an order is already mapped otherwise; nothing is written then."""
        rows = list(rows)
        keys = [row.key for row in rows]
        if len(keys) != len(set(keys)):
            raise ValueError("a map names each ORDNUM/LINNUM/DELNUM once")
        for attempt in range(2):
            try:
                return self._record(rows, run_id)
            except IntegrityError:  # another writer recorded the same order meanwhile: compare with its rows
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(self, rows: list[OrderLineMapRow], run_id: str | None) -> int:
        ordnums = sorted({row.ordnum for row in rows})
        with self.engine.begin() as conn:
            recorded = {r.key: r for r in map(_row, conn.execute(
                select(order_line_map).where(order_line_map.c.ordnum.in_(ordnums))))}
            wanted = {row.key: row for row in rows}
            problems = [f"recorded {recorded[key].describe()}; new {row.describe()}"
                        for key, row in wanted.items() if key in recorded and recorded[key] != row]
            for ordnum in ordnums:
                mapped = {key for key in recorded if key[0] == ordnum}
                if mapped and mapped != {key for key in wanted if key[0] == ordnum}:
                    problems.append(f"ORDNUM {ordnum} is recorded with rows {sorted(k[1:] for k in mapped)}, the new map "
                                    f"has {sorted(k[1:] for k in wanted if k[0] == ordnum)}")
            if problems:
                raise OrderLineMapConflict("the line map conflicts with the one recorded: " + "; ".join(problems))
            new = [row for key, row in wanted.items() if key not in recorded]
            if new:
                now = utcnow()
                conn.execute(order_line_map.insert(), [
                    {**{name: getattr(row, name) for name in _COLUMNS}, "run_id": run_id, "recorded_at": now}
                    for row in new])
            return len(new)

    def order_line_map(self, ordnum: str) -> list[OrderLineMapRow]:
        """The recorded rows of a MAX order, by LINNUM and DELNUM (empty: no map recorded)."""
        with self.engine.begin() as conn:
            return [_row(r) for r in conn.execute(
                select(order_line_map).where(order_line_map.c.ordnum == str(ordnum).strip())
                .order_by(order_line_map.c.linnum, order_line_map.c.delnum))]

    def order_line(self, ordnum: str, linnum: str, delnum: str = "01") -> OrderLineMapRow | None:
        """The Shopify line of one MAX row, or None when none is recorded."""
        with self.engine.begin() as conn:
            record = conn.execute(select(order_line_map).where(
                order_line_map.c.ordnum == str(ordnum).strip(), order_line_map.c.linnum == str(linnum).strip(),
                order_line_map.c.delnum == str(delnum).strip())).first()
        return None if record is None else _row(record)
