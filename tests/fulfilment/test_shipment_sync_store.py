"""The fulfilment flow's state in the sync store, on SQLite and PostgreSQL: a shipment staged once whatever the
re-reads, each fulfilment recorded at once, one writer per order whatever the number of workers."""

from __future__ import annotations

import threading
from datetime import timedelta

from fulfilment_fixtures import MAIN, ORDER, shipment

from shopify_max.sync_store.states import ShipmentOutcomeCode, ShipmentStatus


def test_a_shipment_is_staged_once_and_keeps_its_state_when_read_again(sync_store):
    first = shipment([("01", "1", "MAIN")], shipment_id="1")
    assert sync_store.stage_shipments([first, shipment([("02", "12", "MAIN")], shipment_id="2")], run_id="r1") == 2
    sync_store.record_shipment_fulfilment("1", MAIN, "gid://shopify/Fulfillment/9", ["1Z1"], order_gid=ORDER,
                                          by_hand={"gid://shopify/LineItem/3": 1})
    sync_store.settle_shipment("1", ShipmentStatus.FULFILLED, ShipmentOutcomeCode.FULFILLED, "done", run_id="r1")
    assert sync_store.stage_shipments([first], run_id="r2") == 0  # a backfill or a retry reads it again
    row = sync_store.shipments(["1"])["1"]
    assert row.status == ShipmentStatus.FULFILLED and row.run_id == "r1"
    assert row.fulfillments == {MAIN: "gid://shopify/Fulfillment/9", "by_hand:gid://shopify/LineItem/3": "1"}
    assert [r.shipment_id for r in sync_store.open_shipments()] == ["2"]


def test_a_tracking_change_waits_on_its_shipment_until_sent_and_a_newer_one_is_kept(sync_store):
    sync_store.stage_shipments([shipment([("01", "1", "MAIN")], shipment_id="1")])
    assert not sync_store.note_tracking_change("404", [{"carrier": "UPS", "tracking_number": "X"}])
    first = [{"carrier": "UPS", "tracking_number": "NEW1"}]
    assert sync_store.note_tracking_change("1", first)
    assert sync_store.shipments(["1"])["1"].shipment["tracking"] == first  # a later create sends the new numbers
    newer = [{"carrier": "UPS", "tracking_number": "NEW2"}]
    sync_store.note_tracking_change("1", newer)  # arrives while NEW1 is being sent
    sync_store.record_tracking_sent("1", ["NEW1"], first)
    row = sync_store.shipments(["1"])["1"]
    assert row.tracking == ["NEW1"] and row.tracking_pending == newer
    sync_store.record_tracking_sent("1", ["NEW2"], newer)
    assert sync_store.shipments_with_tracking_changes() == []


def test_one_writer_holds_an_order_whatever_the_workers_and_takes_it_over_only_once_expired(sync_store):
    winners = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        if sync_store.take_fulfilment_lease("00100001", owner=f"w{n}", ttl=timedelta(minutes=5)):
            winners.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    holder = f"w{winners[0]}"
    assert sync_store.renew_fulfilment_lease("00100001", owner=holder, ttl=timedelta(minutes=5))
    assert not sync_store.renew_fulfilment_lease("00100001", owner="zombie", ttl=timedelta(minutes=5))
    # the holder stalls past its lease (a zombie): another may take the order, and the zombie's renewal fails
    assert sync_store.take_fulfilment_lease("00100001", owner=holder, ttl=timedelta(seconds=-1))
    assert sync_store.take_fulfilment_lease("00100001", owner="retry", ttl=timedelta(minutes=5))
    assert not sync_store.renew_fulfilment_lease("00100001", owner=holder, ttl=timedelta(minutes=5))
    sync_store.release_fulfilment_lease("00100001", owner=holder)  # a zombie's release frees nothing
    assert not sync_store.take_fulfilment_lease("00100001", owner="third", ttl=timedelta(minutes=5))


def test_invoices_are_staged_once_and_a_replay_checks_them_again(sync_store):
    sync_store.record_id_mapping("order", ORDER, "00100001")
    assert sync_store.enrol_exported_orders() == 1 and sync_store.enrol_exported_orders() == 0
    invoice = {"INVCE": "00000042", "ORDNUM": "00100001"}
    assert sync_store.stage_invoice("00000042", "00100001", ORDER, invoice, capture_wanted=True)
    assert not sync_store.stage_invoice("00000042", "00100001", ORDER, invoice, capture_wanted=True)
    sync_store.update_invoice("00000042", check_status="mismatch", capture_status="blocked")
    sync_store.record_order_status("00100001", max_status="invoiced", run_id="r1")
    assert sync_store.reopen_invoice("00000042")
    [row] = sync_store.invoices_of_order("00100001")
    assert (row.check_status, row.capture_status) == ("pending", "pending")
    assert sync_store.order_status_rows(["00100001"])["00100001"].due
