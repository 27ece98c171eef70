"""The refunds export's decisions on a real sync store (SQLite and PostgreSQL): the order's cap, the wait for an
invoice and its limit, and a refund already in id_map. MAX is a small stand-in holding one order and counting the
credit memos written (the gateway's own writes are tested in tests/exactmax and end to end)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from test_refund_mapping import ITEM_1, LINE_MAP, MAX_ORDER, ORDER, refund

from shopify_max.exactmax.models import SalesOrderResult
from shopify_max.refunds.pipeline import RefundExport
from shopify_max.refunds.rules import RefundRules
from shopify_max.sync_store.states import RefundStatus


class OneOrderMax:
    def __init__(self, order) -> None:
        self.order, self.written = order, []

    def get_sales_order(self, ordnum):
        return self.order if ordnum == self.order.ORDNUM else None

    def get_credit_memo(self, ordnum):
        written = self.written[int(ordnum[-1]) - 1] if ordnum.startswith("0020000") else None
        return None if written is None else type("Memo", (), {"total": sum(
            line.PRICE * line.ORGQTY for line in written.lines)})()

    def find_credit_memos_by_custpo(self, custpo):
        return []

    def create_credit_memo(self, memo, before_send=None):
        before_send()
        self.written.append(memo)
        return SalesOrderResult(ORDNUM=f"0020000{len(self.written)}", CUSTPO=memo.CUSTPO, STYPE="CR")


def stage(store, refund_id: str, amount: str, created_at: datetime | None = None) -> str:
    body = refund(lines=[(ITEM_1, 1, "NO_RESTOCK", amount, "0")]).model_dump(mode="json")
    gid = f"gid://shopify/Refund/{refund_id}"
    body.update(id=gid, created_at=(created_at or datetime.now(UTC)).isoformat())
    store.stage_refund(gid, ORDER, body, source="webhook")
    return gid


def export(store, max_hook, run_id: str) -> dict:
    return RefundExport(store, max_hook, RefundRules(), lambda memos: [], run_id=run_id, task_id="t",
                        lease=timedelta(minutes=5)).run()


def test_an_orders_credit_memos_never_exceed_what_max_holds_for_it(sync_store):
    sync_store.record_id_mapping("order", ORDER, MAX_ORDER.ORDNUM)
    sync_store.record_order_line_map(LINE_MAP)
    max_hook = OneOrderMax(MAX_ORDER)  # holds 30.00 + 11.00 + 7.50 of lines and 2.87 of tax: 51.37
    first = stage(sync_store, "1", "30.00")
    assert export(sync_store, max_hook, "r1") == {"exported": 1}
    second = stage(sync_store, "2", "25.00")  # 55.00 in all: 3.63 more than MAX holds
    export(sync_store, max_hook, "r2")
    staged = sync_store.staged_refunds([first, second])
    assert staged[first].credit_memo_total == Decimal("30.00") and staged[second].status == RefundStatus.FAILED
    [item] = sync_store.list_errors(entity="refund")
    assert item.stage == "excess" and "excess 3.63" in item.reason and "earlier memos 30.00" in item.reason
    assert len(max_hook.written) == 1
    # id_map holds the first: a refund taken up again is never written twice
    sync_store.record_id_mapping("refund", second, "00299999")
    sync_store.reopen_refund(second)
    assert export(sync_store, max_hook, "r3") == {"already_exported": 1} and len(max_hook.written) == 1


def test_a_refund_waits_for_its_invoice_and_a_long_wait_reaches_the_error_queue(sync_store):
    sync_store.record_id_mapping("order", ORDER, MAX_ORDER.ORDNUM)
    sync_store.record_order_line_map(LINE_MAP)
    not_invoiced = OneOrderMax(MAX_ORDER.model_copy(update={"INVCE": None}))
    recent = stage(sync_store, "3", "10.00")
    old = stage(sync_store, "4", "10.00", created_at=datetime.now(UTC) - timedelta(days=30))
    assert export(sync_store, not_invoiced, "r1") == {"waiting_for_invoice": 2}
    staged = sync_store.staged_refunds([recent, old])
    assert {row.status for row in staged.values()} == {RefundStatus.WAITING}
    assert staged[recent].error_queue_id is None and staged[old].error_queue_id is not None
    assert "waiting 30 day(s)" in sync_store.list_errors(entity="refund")[0].reason
    assert not not_invoiced.written
