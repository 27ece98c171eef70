"""Exactly once under races: two writers of one order never make two MAX orders.

Real parts only: the reference gateway runs as its own process, the sync store is SQLite or PostgreSQL, the
writers are real threads or real processes. Each test runs several rounds, each with a fresh order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import ListSource, example_order, stage_validated

from shopify_max.clock import utcnow
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.orders.pipeline import capture_orders, export_staged_orders
from shopify_max.shopify.models import Order

THREAD_ROUNDS = 8
PROCESS_ROUNDS = 2
ATTEMPT_SCRIPT = Path(__file__).with_name("export_attempt.py")
PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _one_max_order(gateway, store, order: Order) -> str:
    """The rule itself: exactly one MAX order carries the CUSTPO, and the sync store knows it and no other."""
    row = store.staged_orders([order.id])[order.id]
    custpo = json.loads(row.mapped_json)["sales_order"]["CUSTPO"]
    in_max = gateway.orders_for(custpo)
    assert len(in_max) == 1, f"CUSTPO {custpo} has {len(in_max)} MAX orders: {[o['ORDNUM_27'] for o in in_max]}"
    ordnum = in_max[0]["ORDNUM_27"]
    assert row.status == "exported" and row.max_ordnum == ordnum, (row.status, row.max_ordnum, ordnum)
    assert store.max_key_for("order", order.id) == ordnum
    assert row.lease_owner is None  # the lease was released by whoever recorded the outcome
    return ordnum


def _wait_for_lease(store, order: Order, process: subprocess.Popen | None = None, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while store.staged_orders([order.id])[order.id].lease_owner is None:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the first attempt ended ({process.returncode}) before taking the lease:\n"
                                 f"{process.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, "the first writer never took the write lease"
        time.sleep(0.02)


@pytest.mark.slow  # 8 rounds through a gateway that answers each call 100 ms late
def test_two_exporters_racing_on_one_order_create_one_max_order(sync_store, mappings, gateway):
    """Two attempts of the same run (a retry overlapping a zombie, or two workers) export at the same instant."""
    gateway.set_faults(latency_ms=100)  # every call takes a while: the window for a race is wide open
    for round_number in range(THREAD_ROUNDS):
        order = example_order()
        run_id = f"race-{round_number}"
        stage_validated(sync_store, mappings, order, run_id)
        start = threading.Barrier(2)

        def attempt(task_id: str, run_id: str = run_id, start: threading.Barrier = start) -> dict[str, int]:
            hook = ExactMaxHook(backoff_base=0.05, max_retry_wait=0.2)
            start.wait()
            return export_staged_orders(sync_store, hook, run_id=run_id, task_id=task_id,
                                        write_lease=timedelta(seconds=30))

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(attempt, ["try-1", "try-2"]))

        _one_max_order(gateway, sync_store, order)
        merged = {key: sum(r.get(key, 0) for r in results) for key in {k for r in results for k in r}}
        assert merged == {"exported": 1, "settled elsewhere": 1}, results


@pytest.mark.slow  # 3 rounds of a 1.5 s MAX write
def test_a_run_that_adopts_an_order_another_run_is_exporting_does_not_export_it_again(sync_store, mappings, gateway):
    """Run A is in the middle of its MAX write (slow gateway); run B starts, adopts unfinished orders and reads
    the same order again. B must leave it to A: the lease is live."""
    for round_number in range(3):
        order = example_order()
        stage_validated(sync_store, mappings, order, f"run-a-{round_number}")
        gateway.set_faults([{"kind": "delay", "seconds": 1.5, "method": "POST", "path": "/sales-orders"}])
        with ThreadPoolExecutor(1) as pool:
            run_a = pool.submit(export_staged_orders, sync_store, ExactMaxHook(backoff_base=0.05),
                                run_id=f"run-a-{round_number}", task_id="export", write_lease=timedelta(seconds=30))
            _wait_for_lease(sync_store, order)
            report = capture_orders(sync_store, ListSource(order), run_id=f"run-b-{round_number}",
                                    window=(order.updated_at, order.updated_at))
            run_b = export_staged_orders(sync_store, ExactMaxHook(backoff_base=0.05), run_id=f"run-b-{round_number}",
                                         task_id="export", write_lease=timedelta(seconds=30))
            assert run_a.result() == {"exported": 1}

        assert report.adopted_from_earlier_runs == 0
        assert report.decided == {"in flight (exporting), left to its writer": 1}
        assert run_b == {}
        _one_max_order(gateway, sync_store, order)
        assert sync_store.run_outcomes(f"run-b-{round_number}") == {}


def _wait_for_lease_to_expire(store, order: Order, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while (expires := store.staged_orders([order.id])[order.id].lease_expires_at) and expires >= utcnow():
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.02)


def _attempt_process(store_url: str, run_id: str, task_id: str, lease_seconds: float,
                     start_gate: Path | None = None) -> subprocess.Popen:
    gate = [str(start_gate)] if start_gate else []
    return subprocess.Popen([sys.executable, str(ATTEMPT_SCRIPT), store_url, run_id, task_id, str(lease_seconds),
                             "export", *gate],
                            env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(process: subprocess.Popen) -> dict[str, int]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, f"attempt failed ({process.returncode}):\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow  # two OS processes per round, and a 4 s MAX write
def test_an_airflow_retry_overlapping_a_zombie_attempt_leaves_one_max_order(sync_store, mappings, gateway,
                                                                            database_url, tmp_path):
    """Attempt 1 (the zombie) sends its MAX write, which hangs in the gateway past the attempt's lease. Attempt 2
    (the retry Airflow started) takes the order over once the lease expires, settles it by CUSTPO lookup (nothing
    yet), and writes. Then the zombie's write lands: the gateway's CUSTPO rule refuses it (409), and the zombie,
    no longer holding the lease, records nothing over the retry's outcome. Both are separate OS processes."""
    for round_number in range(PROCESS_ROUNDS):
        order = example_order()
        run_id = f"zombie-{round_number}"
        stage_validated(sync_store, mappings, order, run_id)
        gateway.set_faults([{"kind": "delay", "seconds": 4, "method": "POST", "path": "/sales-orders", "count": 1}])
        gate = tmp_path / f"start-retry-{round_number}"
        retry = _attempt_process(database_url, run_id, "export-try-2", lease_seconds=30, start_gate=gate)
        assert retry.stdout.readline().strip() == "ready"  # imported and waiting: it starts within milliseconds
        zombie = _attempt_process(database_url, run_id, "export-try-1", lease_seconds=1.5)
        _wait_for_lease(sync_store, order, zombie)
        gateway.wait_until_fault_fired("delay")  # the zombie's write hangs in the gateway for 4 s
        _wait_for_lease_to_expire(sync_store, order)
        gate.touch()  # Airflow starts the retry: the zombie's write is still hanging

        retry_counts, zombie_counts = _finished(retry), _finished(zombie)

        assert retry_counts == {"exported": 1}
        assert zombie_counts == {"settled elsewhere": 1}
        _one_max_order(gateway, sync_store, order)
        reason = sync_store.staged_orders([order.id])[order.id].run_outcome_reason
        assert reason.startswith("exported as ORDNUM"), reason


@pytest.mark.slow  # two OS processes per round, and a lease to wait out
def test_an_attempt_killed_after_max_committed_is_settled_by_the_retry_without_a_second_order(
        sync_store, mappings, gateway, database_url):
    """Attempt 1 is SIGKILLed after its MAX write was sent and before it learnt the answer (the gateway commits
    it a moment later). The retry waits out the dead attempt's lease, then settles the order by CUSTPO lookup."""
    for round_number in range(PROCESS_ROUNDS):
        order = example_order()
        run_id = f"killed-{round_number}"
        stage_validated(sync_store, mappings, order, run_id)
        gateway.set_faults([{"kind": "delay", "seconds": 1, "method": "POST", "path": "/sales-orders", "count": 1}])
        doomed = _attempt_process(database_url, run_id, "export-try-1", lease_seconds=2.5)
        _wait_for_lease(sync_store, order, doomed)
        gateway.wait_until_fault_fired("delay")  # its write is in the gateway's hands now
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        assert sync_store.max_key_for("order", order.id) is None  # it died before recording anything
        retry = _attempt_process(database_url, run_id, "export-try-2", lease_seconds=30)

        assert _finished(retry) == {"skipped": 1}
        _one_max_order(gateway, sync_store, order)
        reason = sync_store.staged_orders([order.id])[order.id].run_outcome_reason
        assert "found by CUSTPO" in reason, reason


def test_an_order_whose_custpo_already_matches_two_max_orders_fails_alone_and_the_batch_goes_on(
        sync_store, mappings, gateway):
    """Two MAX orders for one CUSTPO (made before the gateway's rule, or by hand) no longer wedge the export task:
    that order goes to the error queue naming both ORDNUMs, and the rest of the batch is exported."""
    import sqlalchemy as sa

    from max_gateway.sql.tables import so_detail, so_master

    duplicated, fine = example_order(), example_order()
    for order in (duplicated, fine):
        stage_validated(sync_store, mappings, order, "batch")
    custpo = json.loads(sync_store.staged_orders([duplicated.id])[duplicated.id].mapped_json)["sales_order"]["CUSTPO"]
    base = 90_000_000 + uuid.uuid4().int % 4_000_000 * 2
    ordnums = [str(base), str(base + 1)]
    engine = sa.create_engine(f"sqlite:///{gateway.database}")
    with engine.begin() as conn:  # two MAX orders with this CUSTPO, as an old duplicate would have left
        for ordnum in ordnums:
            conn.execute(so_master.insert().values(ORDNUM_27=ordnum, CUSTID_27="WEB", STYPE_27="CU", STATUS_27="3",
                                                   CUSTPO_27=custpo, ORDDTE_27=date(2026, 11, 29)))
            conn.execute(so_detail.insert().values(ORDNUM_28=ordnum, LINNUM_28="01", DELNUM_28="01", STATUS_28="3",
                                                   CUSTID_28="WEB", PRTNUM_28="PRT-00001", SLSUOM_28="EA",
                                                   PRICE_28=1, ORGPRC_28=1, ORGQTY_28=1, CURQTY_28=1, DUEQTY_28=1,
                                                   STK_28="MAIN", STYPE_28="CU"))
    engine.dispose()

    counts = export_staged_orders(sync_store, ExactMaxHook(backoff_base=0.05), run_id="batch", task_id="export")

    assert counts == {"failed": 1, "exported": 1}
    [item] = sync_store.list_errors(stage="export")
    assert ordnums[0] in item.reason and ordnums[1] in item.reason and duplicated.name in item.reason
    assert sync_store.staged_orders([duplicated.id])[duplicated.id].status == "failed"
    _one_max_order(gateway, sync_store, fine)
