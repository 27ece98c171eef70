"""ORDNUM: 8 digits, assigned by the gateway in sequence from a configurable range, safe under concurrent writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from max_gateway_helpers import make_order

from shopify_max.exactmax.errors import ExactMaxRejected
from shopify_max.exactmax.xml_builder import build_sales_order_xml

WRITERS = 8
ORDERS_PER_WRITER = 6


def test_concurrent_writers_get_unique_gap_free_order_numbers(gateway, make_hook) -> None:
    make_hook(gateway)  # sets the connection; each writer thread builds its own hook (own HTTP session)

    def write(_writer: int) -> list[str]:
        from shopify_max.exactmax.hook import ExactMaxHook

        hook = ExactMaxHook(timeout=60)
        return [hook.create_sales_order(make_order(lines=3)).ORDNUM for _ in range(ORDERS_PER_WRITER)]

    with ThreadPoolExecutor(WRITERS) as pool:
        numbers = [n for batch in pool.map(write, range(WRITERS)) for n in batch]
    assert all(len(n) == 8 and n.isdigit() for n in numbers)
    assert sorted(int(n) for n in numbers) == list(range(100001, 100001 + WRITERS * ORDERS_PER_WRITER))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_order_number_range_is_configurable_and_exhaustion_is_a_field_error(gateway_factory, backend: str) -> None:
    gateway = gateway_factory(backend, ordnum_first=4200, ordnum_last=4201)
    numbers = [gateway.post_xml("/sales-orders", build_sales_order_xml(make_order()).xml).json()["ORDNUM"]
               for _ in range(2)]
    assert numbers == ["00004200", "00004201"]
    response = gateway.post_xml("/sales-orders", build_sales_order_xml(make_order()).xml)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["element"], e["rule"]) for e in errors] == [("ORDNUM_27", "range_exhausted")]


def test_hook_reports_range_exhaustion_as_a_rejection(gateway_factory, make_hook) -> None:
    gateway = gateway_factory("sqlite", ordnum_first=1, ordnum_last=0)
    with pytest.raises(ExactMaxRejected) as raised:
        make_hook(gateway).create_sales_order(make_order())
    assert raised.value.has_rule("range_exhausted", "ORDNUM_27")
