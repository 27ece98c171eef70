"""``FulfilmentReads``: the reads of what MAX did with an order after export, mixed into ``ExactMaxHook``.

Each ``iter_*`` read is a ``since`` feed (oldest first); a flow stores the last item's cursor as its watermark:
``shipment_id`` of shipments, ``INVCE`` of invoices, ``change_seq`` of tracking changes, ``payment_id`` of payments.
The status read is by ORDNUM, for orders a flow already knows. Contract: ``max_gateway/openapi.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from shopify_max.exactmax.models import Invoice, MaxOrderStatus, Payment, Shipment

MAX_ORDNUMS_PER_STATUS_READ = 200  # the gateway refuses more in one request (422)


class FulfilmentReads:
    """Shipments, tracking changes, invoices, order statuses and payments. Needs the hook's ``_read``/``_paginate``."""

    if TYPE_CHECKING:
        def _read(self, path: str, params: dict | None = None) -> Any: ...

        def _paginate(self, path: str, params: dict | None = None, cursor_param: str = "cursor",
                      cursor: str | None = None) -> Iterator[dict]: ...

    def iter_shipments(self, since_cursor: str | int = 0, page_size: int = 200) -> Iterator[Shipment]:
        """Shipments after ``since_cursor``, oldest first; store the last ``shipment_id`` as the watermark."""
        for item in self._paginate("/shipments", {"limit": page_size}, cursor_param="since", cursor=str(since_cursor)):
            yield Shipment.model_validate(item)

    def iter_tracking_changes(self, since_cursor: str | int = 0, page_size: int = 200) -> Iterator[Shipment]:
        """Shipments whose tracking numbers changed after ``since_cursor`` (a ``change_seq``), oldest change first,
        each as it is now with its latest ``change_seq``; store the last ``change_seq`` as the watermark. A shipment
        changed several times within one page comes once; across pages it may come again, newer."""
        for item in self._paginate("/shipments/tracking-changes", {"limit": page_size}, cursor_param="since",
                                   cursor=str(since_cursor)):
            yield Shipment.model_validate(item)

    def iter_invoices(self, since_cursor: str = "", page_size: int = 200) -> Iterator[Invoice]:
        """Invoices and credit memos after ``since_cursor`` (an INVCE), oldest first."""
        for item in self._paginate("/invoices", {"limit": page_size}, cursor_param="since", cursor=since_cursor):
            yield Invoice.from_gateway(item)

    def order_statuses(self, ordnums: Iterable[str]) -> dict[str, MaxOrderStatus]:
        """Status and line quantities of each order, by ORDNUM; an ORDNUM MAX does not hold is absent.
        Asks in batches of :data:`MAX_ORDNUMS_PER_STATUS_READ`. Cancelled vs closed: ``MaxOrderStatus.cancelled``."""
        wanted = list(dict.fromkeys(ordnum for ordnum in ordnums if ordnum))
        statuses: dict[str, MaxOrderStatus] = {}
        for start in range(0, len(wanted), MAX_ORDNUMS_PER_STATUS_READ):
            batch = wanted[start:start + MAX_ORDNUMS_PER_STATUS_READ]
            for item in self._read("/sales-orders/status", {"ordnum": batch})["items"]:
                status = MaxOrderStatus.model_validate(item)
                statuses[status.ORDNUM] = status
        return statuses

    def iter_payments(self, since_cursor: str | int = 0, page_size: int = 200) -> Iterator[Payment]:
        """Payments received after ``since_cursor`` (a ``payment_id``), oldest first; store the last ``payment_id``."""
        for item in self._paginate("/payments", {"limit": page_size}, cursor_param="since", cursor=str(since_cursor)):
            yield Payment.model_validate(item)
