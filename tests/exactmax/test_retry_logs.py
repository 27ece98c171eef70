"""On-call reads a task log: every HTTP retry of the MAX hook is one line naming the call, the attempt, the reason
and the wait, and no line carries a secret."""

from __future__ import annotations

import logging

from max_gateway_helpers import PASSWORD, make_order


def _retry_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shopify_max.exactmax"]


def test_each_read_retry_writes_one_line_with_its_reason_status_and_wait(shared_gateway, make_hook, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="shopify_max.exactmax")
    hook = make_hook(shared_gateway)
    shared_gateway.set_faults([{"kind": "error", "status": 503, "count": 1, "method": "GET", "path": "/code-tables"},
                               {"kind": "error", "status": 429, "count": 1, "method": "GET", "path": "/code-tables"}])
    hook.code_tables()
    shared_gateway.set_faults([])
    lines = _retry_lines(caplog)
    assert len(lines) == 2
    assert lines[0].startswith("exactmax op=GET /code-tables retry=1/4 wait=")
    assert "reason=unavailable status=503 error=ExactMaxUnavailableError" in lines[0]
    assert "retry=2/4" in lines[1] and "reason=rate_limited status=429" in lines[1]
    assert all(PASSWORD not in line for line in lines)


def test_an_ambiguous_write_logs_its_retry_and_is_settled_by_lookup(shared_gateway, make_hook, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="shopify_max.exactmax")
    hook = make_hook(shared_gateway)
    order = make_order()
    shared_gateway.set_faults([{"kind": "error", "status": 503, "count": 1, "method": "POST",
                                "path": "/sales-orders"}])
    result = hook.create_sales_order(order)
    shared_gateway.set_faults([])
    assert result.attempts == 2 and shared_gateway.count_orders(order.CUSTPO) == 1
    [line] = _retry_lines(caplog)
    assert line.startswith(f"exactmax op=POST /sales-orders (CUSTPO {order.CUSTPO!r}) retry=1/2 wait=")
    assert "reason=unavailable status=503" in line
