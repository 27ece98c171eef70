"""order_line_map: MAX order rows -> Shopify lines, recorded at export; the same map twice is a no-op, a different
one a conflict naming both (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from shopify_max.sync_store import OrderLineMapConflict, OrderLineMapRow

ORDER = "gid://shopify/Order/1001"


def rows(ordnum: str = "00100001", **changes) -> list[OrderLineMapRow]:
    base = [
        OrderLineMapRow(ordnum, "01", "01", ORDER, "line_item", "PRT-00001", 1, 2, "gid://shopify/LineItem/1",
                        "SKU-00001", None),
        OrderLineMapRow(ordnum, "02", "01", ORDER, "line_item", "PRT-00002", 12, 23, "gid://shopify/LineItem/2",
                        "SKU-00002-CS", "CS"),
        OrderLineMapRow(ordnum, "02", "02", ORDER, "line_item", "PRT-00002", 12, 1, "gid://shopify/LineItem/2",
                        "SKU-00002-CS", "CS"),
        OrderLineMapRow(ordnum, "03", "01", ORDER, "shipping", "FREIGHT", 1, 1),
    ]
    if changes:
        base[1] = OrderLineMapRow(**{**base[1].__dict__, **changes})
    return base


def test_a_map_is_recorded_whole_and_read_back_by_order_and_by_line(sync_store):
    assert sync_store.record_order_line_map(rows(), run_id="run-1") == 4
    assert sync_store.order_line_map("00100001") == rows()
    line = sync_store.order_line("00100001", "02", "02")
    assert (line.line_item_gid, line.uom_factor, line.max_quantity, line.sales_uom) == (
        "gid://shopify/LineItem/2", 12, 1, "CS")
    assert sync_store.order_line("00100001", "03").line_kind == "shipping"
    assert sync_store.order_line("00100001", "09") is None
    assert sync_store.order_line_map("00100002") == []


def test_recording_the_same_map_twice_is_a_no_op(sync_store):
    sync_store.record_order_line_map(rows(), run_id="run-1")
    assert sync_store.record_order_line_map(rows(), run_id="run-2") == 0
    assert sync_store.order_line_map(" 00100001 ") == rows()  # MAX pads CHAR keys: compared trimmed


def test_a_different_row_for_the_same_linnum_is_a_conflict_naming_both(sync_store):
    sync_store.record_order_line_map(rows())
    with pytest.raises(OrderLineMapConflict) as raised:
        sync_store.record_order_line_map(rows(line_item_gid="gid://shopify/LineItem/99"))
    message = str(raised.value)
    assert "ORDNUM 00100001 LINNUM 02 DELNUM 01" in message
    assert "recorded" in message and "gid://shopify/LineItem/2 " in message
    assert "new" in message and "gid://shopify/LineItem/99" in message
    assert sync_store.order_line("00100001", "02").line_item_gid == "gid://shopify/LineItem/2"


def test_a_different_uom_factor_is_a_conflict(sync_store):
    sync_store.record_order_line_map(rows())
    with pytest.raises(OrderLineMapConflict, match="factor 12.*factor 6"):
        sync_store.record_order_line_map(rows(uom_factor=6))


def test_another_set_of_rows_for_a_mapped_order_is_a_conflict_and_writes_nothing(sync_store):
    sync_store.record_order_line_map(rows()[:2])
    with pytest.raises(OrderLineMapConflict, match="ORDNUM 00100001 is recorded with rows"):
        sync_store.record_order_line_map(rows())
    assert len(sync_store.order_line_map("00100001")) == 2


def test_rows_are_checked_before_they_are_stored():
    with pytest.raises(ValueError, match="names its line item"):
        OrderLineMapRow("00100001", "01", "01", ORDER, "line_item", "PRT-00001", 1, 1)
    with pytest.raises(ValueError, match="line_kind"):
        OrderLineMapRow("00100001", "01", "01", ORDER, "discount", "PRT-00001", 1, 1)
    with pytest.raises(ValueError, match=">= 1"):
        OrderLineMapRow("00100001", "01", "01", ORDER, "shipping", "FREIGHT", 0, 1)


def test_writers_recording_the_same_map_at_once_all_succeed_and_store_it_once(sync_store):
    results, errors = [], []

    def record() -> None:
        try:
            results.append(sync_store.record_order_line_map(rows("00100007")))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results)[-1] == 4 and sum(results) == 4
    assert sync_store.order_line_map("00100007") == rows("00100007")
