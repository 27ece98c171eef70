"""The fulfilment flow's other reads, made by the sandbox operations and read back over HTTP (SQLite and PostgreSQL):
tracking numbers changed after a shipment was read, order statuses by ORDNUM (cancelled vs closed), and payments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from max_gateway_helpers import make_order

from shopify_max.exactmax.models import CreditMemo, MaxOrderStatus, Payment, Shipment


def rejected(client, operation: str, **body) -> dict:  # noqa: ANN001
    response = client.http.post(f"{client.base_url}/_sandbox/{operation}", json=body, timeout=30)
    assert response.status_code == 422, response.text
    return response.json()["errors"][0]


def get(client, path: str, **params):  # noqa: ANN001, ANN201
    return client.http.get(f"{client.base_url}{path}", params=params, timeout=30)


def shipped_order(client, hook, *tracking_numbers: str, lines: int = 2) -> tuple[str, str]:  # noqa: ANN001
    """A new order, shipped whole with these tracking numbers (UPS): its ORDNUM and shipment id."""
    ordnum = hook.create_sales_order(make_order(lines=lines)).ORDNUM
    first, *more = tracking_numbers
    shipment = client.sandbox("ship", ORDNUM=ordnum, carrier="UPS", tracking_number=first,
                              tracking=[{"tracking_number": number} for number in more])
    return ordnum, shipment["shipment_id"]


# ---------------------------------------------------------------- tracking changes


def test_a_shipment_retracked_twice_reads_back_once_with_its_latest_tracking_and_seq(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    _, shipment_id = shipped_order(shared_gateway, hook, "1Z0000000000000001", "1Z0000000000000002")
    first = shared_gateway.sandbox("retrack", shipment_id=shipment_id, tracking=[
        {"carrier": "UPS", "tracking_number": "1Z0000000000000003"}])
    latest = shared_gateway.sandbox("retrack", shipment_id=shipment_id, tracking=[
        {"carrier": "FedEx", "tracking_number": "781234567890"}, {"carrier": "FedEx", "tracking_number": "781234567891"}])
    assert int(latest["change_seq"]) > int(first["change_seq"])

    [changed] = [s for s in hook.iter_tracking_changes(since_cursor=int(first["change_seq"]) - 1)
                 if s.shipment_id == shipment_id]
    assert isinstance(changed, Shipment) and changed.change_seq == latest["change_seq"]
    assert [(t.carrier, t.tracking_number) for t in changed.tracking] == [("FedEx", "781234567890"),
                                                                          ("FedEx", "781234567891")]
    assert (changed.carrier, changed.tracking_number) == ("FedEx", "781234567890")  # X_Shipment_Tracking: the first
    [shipment] = get(shared_gateway, "/shipments", since=int(shipment_id) - 1, limit=1).json()["items"]
    [item] = get(shared_gateway, "/shipments/tracking-changes", since=int(latest["change_seq"]) - 1).json()["items"]
    assert item == shipment | {"change_seq": latest["change_seq"]}  # exactly the /shipments shape, plus change_seq


def test_tracking_changes_page_by_change_oldest_first_and_resume_from_the_cursor(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    a, b, c = (shipped_order(shared_gateway, hook, f"1Z00000000000001{n}0")[1] for n in range(3))
    seqs = [shared_gateway.sandbox("retrack", shipment_id=shipment_id,
                                   tracking=[{"tracking_number": f"1Z00000000000002{n}0"}])["change_seq"]
            for n, shipment_id in enumerate([a, b, a, c])]
    since = int(seqs[0]) - 1

    page = get(shared_gateway, "/shipments/tracking-changes", since=since, limit=3).json()
    assert [(i["shipment_id"], i["change_seq"]) for i in page["items"]] == [(b, seqs[1]), (a, seqs[2])]
    assert (page["next_cursor"], page["has_more"]) == (seqs[2], True)
    rest = get(shared_gateway, "/shipments/tracking-changes", since=page["next_cursor"], limit=3).json()
    assert ([(i["shipment_id"], i["change_seq"]) for i in rest["items"]], rest["has_more"]) == ([(c, seqs[3])], False)
    assert rest["next_cursor"] == seqs[3]
    empty = get(shared_gateway, "/shipments/tracking-changes", since=seqs[3]).json()
    assert empty == {"items": [], "next_cursor": seqs[3], "has_more": False}

    one_by_one = [(s.shipment_id, s.change_seq) for s in hook.iter_tracking_changes(since, page_size=1)]
    assert one_by_one == list(zip([a, b, a, c], seqs, strict=True))
    assert [s.tracking_number for s in hook.iter_tracking_changes(seqs[2])] == ["1Z0000000000000230"]


def test_a_new_shipment_is_not_a_tracking_change(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    before = [s.change_seq for s in hook.iter_tracking_changes()]
    shipped_order(shared_gateway, hook, "1Z0000000000000301")
    assert [s.change_seq for s in hook.iter_tracking_changes(before[-1] if before else 0)] == []


def test_retracking_is_checked(shared_gateway, make_hook):
    _, shipment_id = shipped_order(shared_gateway, make_hook(shared_gateway), "1Z0000000000000401")
    assert rejected(shared_gateway, "retrack", shipment_id="999999999", tracking=[
        {"tracking_number": "1Z1"}])["rule"] == "unknown_shipment"
    assert rejected(shared_gateway, "retrack", shipment_id=shipment_id, tracking=[
        {"tracking_number": "1Z1"}, {"tracking_number": "1Z1"}])["rule"] == "duplicate_key"


def test_tracking_changes_refuse_a_negative_cursor(shared_gateway):
    response = get(shared_gateway, "/shipments/tracking-changes", since=-1)
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "bad_parameter"


# ---------------------------------------------------------------- order statuses


def test_order_statuses_tell_open_partly_shipped_invoiced_closed_and_cancelled_apart(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    open_, partly, invoiced, closed, cancelled = (hook.create_sales_order(make_order(lines=2)).ORDNUM
                                                  for _ in range(5))
    shared_gateway.sandbox("ship", ORDNUM=partly, lines=[{"LINNUM": "02", "quantity": "1"}])
    shared_gateway.sandbox("ship", ORDNUM=invoiced)
    invce = shared_gateway.sandbox("invoice", ORDNUM=invoiced)["INVCE"]
    shared_gateway.sandbox("ship", ORDNUM=closed, lines=[{"LINNUM": "01", "quantity": "1"}])
    shared_gateway.sandbox("close", ORDNUM=closed)
    hook.cancel_sales_order(cancelled, reason="CX")

    statuses = hook.order_statuses([open_, partly, invoiced, closed, cancelled, "99999999", open_])
    assert list(statuses) == [open_, partly, invoiced, closed, cancelled]  # unknown ORDNUMs are absent
    assert all(isinstance(s, MaxOrderStatus) for s in statuses.values())

    def summary(ordnum: str) -> tuple:
        s = statuses[ordnum]
        return (s.STATUS, s.REASON, s.INVCE, s.cancelled,
                [(x.LINNUM, x.STATUS, x.ORGQTY, x.SHPQTY, x.BCKQTY, x.INVQTY) for x in s.lines])

    assert summary(open_) == ("3", "", "", False, [("01", "3", 1, 0, 0, 0), ("02", "3", 2, 0, 0, 0)])
    assert summary(partly) == ("3", "", "", False, [("01", "3", 1, 0, 0, 0), ("02", "3", 2, 1, 0, 0)])
    assert summary(invoiced) == ("4", "", invce, False, [("01", "4", 1, 1, 0, 1), ("02", "4", 2, 2, 0, 2)])
    assert summary(closed) == ("4", "", "", False, [("01", "4", 1, 1, 0, 0), ("02", "4", 2, 0, 0, 0)])
    assert summary(cancelled) == ("4", "CX", "", True, [("01", "4", 1, 0, 0, 0), ("02", "4", 2, 0, 0, 0)])
    assert (statuses[open_].STYPE, statuses[open_].CUSTPO) == ("CU", hook.get_sales_order(open_).CUSTPO)


def test_order_statuses_answer_decimal_strings_straight_from_the_tables(shared_gateway, make_hook):
    ordnum = make_hook(shared_gateway).create_sales_order(make_order(lines=1)).ORDNUM
    body = get(shared_gateway, "/sales-orders/status", ordnum=[ordnum, "00000000"]).json()
    assert body["items"][0]["lines"] == [{"LINNUM": "01", "DELNUM": "01", "PRTNUM": "PRT-00001", "STATUS": "3",
                                          "ORGQTY": "1", "SHPQTY": "0", "BCKQTY": "0", "INVQTY": "0"}]
    assert len(body["items"]) == 1


def test_the_status_read_takes_at_most_200_ordnums_and_the_hook_asks_in_batches(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    known = [hook.create_sales_order(make_order(lines=1)).ORDNUM for _ in range(2)]
    unknown = [f"9{n:07d}" for n in range(420)]
    assert get(shared_gateway, "/sales-orders/status", ordnum=unknown[:200]).status_code == 200
    response = get(shared_gateway, "/sales-orders/status", ordnum=unknown[:201])
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "bad_parameter"
    assert get(shared_gateway, "/sales-orders/status").status_code == 422  # at least one
    assert list(hook.order_statuses([known[0], *unknown, known[1]])) == known
    assert hook.order_statuses([]) == {}


# ---------------------------------------------------------------- payments


def invoiced_order(client, hook) -> dict:  # noqa: ANN001
    ordnum = hook.create_sales_order(make_order(lines=2)).ORDNUM  # 1 x 12.50 + 2 x 12.50
    client.sandbox("ship", ORDNUM=ordnum)
    return client.sandbox("invoice", ORDNUM=ordnum)


def test_a_partial_payment_then_the_rest_read_back_with_running_totals(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    invoice = invoiced_order(shared_gateway, hook)
    partial = shared_gateway.sandbox("pay", invoice=invoice["INVCE"], amount="10.00", paid_date="2026-12-05")
    assert (partial["paid_total"], partial["unpaid"]) == ("10", "27.5")
    rest = shared_gateway.sandbox("pay", invoice=invoice["INVCE"])
    assert (rest["amount"], rest["paid_total"], rest["unpaid"]) == ("27.5", "37.5", "0")

    payments = [p for p in hook.iter_payments(int(partial["payment_id"]) - 1, page_size=1)
                if p.INVCE == invoice["INVCE"]]
    assert all(isinstance(p, Payment) for p in payments)
    assert [(p.payment_id, p.amount, p.paid_total, p.paid_in_full) for p in payments] == [
        (partial["payment_id"], Decimal("10"), Decimal("10"), False),
        (rest["payment_id"], Decimal("27.5"), Decimal("37.5"), True)]
    first = payments[0]
    [stored] = [i for i in hook.iter_invoices() if i.INVCE == invoice["INVCE"]]
    assert first.invoice_total == stored.LNETOT + stored.TAX1 - stored.ORDDSC == Decimal("37.50")
    assert (first.ORDNUM, first.CUSTPO, str(first.paid_date)) == (
        invoice["ORDNUM"], hook.get_sales_order(invoice["ORDNUM"]).CUSTPO, "2026-12-05")
    assert [p.payment_id for p in hook.iter_payments(partial["payment_id"])] == [rest["payment_id"]]
    page = get(shared_gateway, "/payments", since=int(partial["payment_id"]) - 1, limit=1).json()
    assert (len(page["items"]), page["next_cursor"], page["has_more"]) == (1, partial["payment_id"], True)


@pytest.mark.parametrize(("amount", "rule"), [("37.51", "over_paid"), ("0", "not_positive"), ("1.001", "bad_number")])
def test_a_payment_over_the_unpaid_rest_or_not_in_whole_cents_is_refused(shared_gateway, make_hook, amount, rule):
    invoice = invoiced_order(shared_gateway, make_hook(shared_gateway))
    assert rejected(shared_gateway, "pay", invoice=invoice["INVCE"], amount=amount)["rule"] == rule


def test_an_invoice_paid_in_full_takes_no_more_and_unknown_invoices_none(shared_gateway, make_hook):
    invoice = invoiced_order(shared_gateway, make_hook(shared_gateway))
    shared_gateway.sandbox("pay", invoice=invoice["INVCE"], amount="30")
    assert rejected(shared_gateway, "pay", invoice=invoice["INVCE"], amount="7.51")["rule"] == "over_paid"
    shared_gateway.sandbox("pay", invoice=invoice["INVCE"])
    assert rejected(shared_gateway, "pay", invoice=invoice["INVCE"])["rule"] == "over_paid"
    assert rejected(shared_gateway, "pay", invoice="99999999")["rule"] == "unknown_invoice"


def test_a_credit_memo_is_not_paid(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    invoice = invoiced_order(shared_gateway, hook)
    memo = make_order(lines=1)
    memo = CreditMemo(**memo.model_dump(exclude={"STYPE", "APPINV"}), APPINV=invoice["INVCE"])
    credit = shared_gateway.sandbox("invoice", ORDNUM=hook.create_credit_memo(memo).ORDNUM)
    assert credit["kind"] == "credit_memo"
    assert rejected(shared_gateway, "pay", invoice=credit["INVCE"])["rule"] == "not_payable"
