"""The gateway's CUSTPO rule: one order per CUSTPO and STYPE, checked and written under one lock.

MAX itself does not enforce this (EXACTMAX.md); the gateway does, as the last line of exactly-once export. These
tests hit a real gateway over HTTP, on SQLite and on PostgreSQL, with real threads racing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from max_gateway_helpers import make_order, unique_custpo

from shopify_max.exactmax.xml_builder import build_sales_order_xml

WRITERS = 8
ROUNDS = 5


def test_a_second_order_for_a_custpo_is_refused_with_409_naming_the_existing_ordnum(gateway) -> None:
    order = make_order(unique_custpo("DUP"))
    first = gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml)
    assert first.status_code == 201, first.text

    second = gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml)

    assert second.status_code == 409
    body = second.json()
    assert body["ORDNUM"] == first.json()["ORDNUM"]
    assert body["errors"][0]["element"] == "CUSTPO_27" and body["errors"][0]["rule"] == "duplicate_custpo"
    assert gateway.count_orders(order.CUSTPO) == 1


def test_concurrent_writers_of_one_custpo_create_exactly_one_order(gateway) -> None:
    """Eight writers send the same order at the same instant, five rounds: one 201, seven 409s, one row."""
    for _round in range(ROUNDS):
        document = build_sales_order_xml(make_order(unique_custpo("RACE"))).xml
        custpo = make_order_custpo(document)
        start = threading.Barrier(WRITERS)

        def send(document: bytes = document, start: threading.Barrier = start) -> tuple[int, str]:
            start.wait()
            response = requests.post(gateway.base_url + "/sales-orders", data=document, timeout=30,
                                     headers={"Content-Type": "application/xml", **gateway.http.headers})
            return response.status_code, response.json().get("ORDNUM", "")

        with ThreadPoolExecutor(WRITERS) as pool:
            answers = list(pool.map(lambda _n: send(), range(WRITERS)))

        statuses = sorted(status for status, _ in answers)
        assert statuses == [201] + [409] * (WRITERS - 1), answers
        assert len({ordnum for _, ordnum in answers}) == 1  # every 409 names the order that was created
        assert gateway.count_orders(custpo) == 1


def test_the_hook_reads_409_as_already_there(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    order = make_order(unique_custpo("HOOK"))
    created = hook.create_sales_order(order)

    again = hook.create_sales_order(order)

    assert again.ORDNUM == created.ORDNUM
    assert again.already_existed and again.recovered and not created.already_existed
    assert [line.LINNUM for line in again.lines] == [line.LINNUM for line in created.lines]
    assert gateway.count_orders(order.CUSTPO) == 1


def make_order_custpo(document: bytes) -> str:
    from defusedxml.ElementTree import fromstring

    return fromstring(document).findtext(".//CUSTPO_27")
