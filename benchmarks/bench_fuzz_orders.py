"""Orders under fuzz: generated webhook bodies through capture, mapping, XML and the gateway's parser; and
the peak memory of one 2 MiB webhook (the receiver's body limit).

1. 10,000 cases (``--quick``: 1,000) from ``tests/orders/order_fuzz.py``: Shopify's example order broken by
   hypothesis (fixed seed, generation only, no shrinking), each sent the way the pipeline does:
   ``order_from_webhook_payload`` → stored and read back → ``map_order_to_sales_order`` →
   ``build_sales_order_xml`` (and ``build_customer_xml``) → the reference gateway's ``parse_document`` /
   ``parse_record``. Counted: untyped exceptions (anything but ``UnreadableOrderPayload``), documents the
   gateway cannot parse, documents its static field rules refuse, failures without a field and a rule.
   Target for each count: 0. The GX suite is left out (slow, and not what is fuzzed here).
2. Peak memory (tracemalloc: Python allocations, the body itself included) of reading a 2 MiB body whose
   address1 is one long text (capture refuses it), of mapping that address when it comes from the GraphQL
   poll (no capture limit in front), and of a 2 MiB body made of line items. Bound: 100 MB each.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from figures import Figure

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "orders"))  # order_payloads, order_fuzz: shared with the tests

TWO_MIB = 2 * 1024 * 1024
MEMORY_BOUND_MB = 100
SEED = 20261129


def _fuzz(count: int, mappings) -> list[Figure]:
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from order_fuzz import fuzzed_payloads, rule_choices, run_case

    outcomes: Counter[str] = Counter()
    totals = Counter()
    samples: dict[str, str] = {}

    @seed(SEED)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(payload=fuzzed_payloads(), rules=rule_choices)
    def one_case(payload, rules) -> None:
        result = run_case(payload, mappings, rules)
        outcomes[result.outcome] += 1
        totals["documents"] += result.documents
        totals["unparseable"] += bool(result.unparseable)
        totals["field_errors"] += bool(result.field_errors)
        totals["unnamed"] += bool(result.unnamed)
        for key, problem in (("untyped", result.untyped), ("unparseable", result.unparseable),
                             ("field_errors", result.field_errors), ("unnamed", result.unnamed)):
            if problem and key not in samples:
                samples[key] = str(problem)[:300]

    started = time.perf_counter()
    one_case()
    wall = time.perf_counter() - started
    cases = sum(outcomes.values())
    for key, sample in samples.items():
        print(f"   first {key}: {sample}", flush=True)
    spread = ", ".join(f"{name} {n:,}" for name, n in sorted(outcomes.items()))
    return [
        Figure("orders fuzz: cases run", cases, "cases", note=spread),
        Figure("orders fuzz: untyped exceptions (target 0)", outcomes["untyped"], "cases"),
        Figure("orders fuzz: built documents the gateway cannot parse (target 0)", totals["unparseable"], "cases",
               note=f"{totals['documents']:,} documents built"),
        Figure("orders fuzz: built documents its static field rules refuse (target 0)", totals["field_errors"],
               "cases"),
        Figure("orders fuzz: failures without field + rule, or unsafe to store (target 0)", totals["unnamed"],
               "cases"),
        Figure("orders fuzz: throughput, generation included", cases / wall, "cases/s", note=f"wall {wall:.1f} s"),
    ]


def _peak_mb(action) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _memory(mappings) -> list[Figure]:
    from order_fuzz import live_example

    from shopify_max.orders.mapper import map_order_to_sales_order
    from shopify_max.orders.webhook_payload import UnreadableOrderPayload, order_from_webhook_payload
    from shopify_max.shopify.models import Order

    payload = live_example()
    payload["shipping_address"]["address1"] = "a " * (TWO_MIB // 2)
    address_body = json.dumps(payload)

    def capture_huge_address() -> None:
        try:
            order_from_webhook_payload(json.loads(address_body))
        except UnreadableOrderPayload:
            pass

    polled = json.loads(order_from_webhook_payload(live_example()).model_dump_json())
    polled["shipping_address"]["address1"] = "a " * (TWO_MIB // 2)
    polled_json = json.dumps(polled)

    def map_polled_address() -> None:
        map_order_to_sales_order(Order.model_validate(json.loads(polled_json)), mappings)

    payload = live_example()
    line = payload["line_items"][0]
    copies = TWO_MIB // len(json.dumps(line))
    payload["line_items"] = [copy.deepcopy(line) for _ in range(copies)]
    lines_body = json.dumps(payload)

    def capture_and_map_lines() -> None:
        map_order_to_sales_order(order_from_webhook_payload(json.loads(lines_body)), mappings)

    figures = []
    for name, action, body in (
            ("2 MiB webhook, one huge address1: read (refused at capture)", capture_huge_address, address_body),
            ("the same address from the poll path: mapped (refused by the text rules)", map_polled_address,
             polled_json),
            (f"2 MiB webhook of {copies:,} line items: read and mapped", capture_and_map_lines, lines_body)):
        peak = _peak_mb(action)
        figures.append(Figure(f"orders memory: peak, {name}", peak, "MB", ratio=peak / MEMORY_BOUND_MB,
                              note=f"body {len(body) / 1e6:.1f} MB; ratio = peak / {MEMORY_BOUND_MB} MB bound"))
    return figures


def run(quick: bool) -> list[Figure]:
    from order_payloads import write_mapping_files

    from shopify_max.mappings import load_mappings

    mappings = load_mappings(write_mapping_files(Path(tempfile.mkdtemp(prefix="bench-fuzz-")) / "mappings"))
    return _memory(mappings) + _fuzz(1_000 if quick else 10_000, mappings)
