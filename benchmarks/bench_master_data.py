"""Master data at scale: one ``master_data_sync`` pass over 50,000 Shopify customers and 100,000 variants (``--quick``:
5,000 and 10,000), reads by bulk operation, on the Shopify sandbox's Standard preset (bucket 2,000 points, restoring
100/s).

Both sandboxes run in their own processes on loopback, so this process holds only what the pass holds. Setup, not
timed: the Shopify sandbox seeds the catalogue (``sandboxes.catalog``, ~1.1 variants per product) and then its
customers with ``sandboxes.shopify.seed.add_customers`` (started by this file, ``serve-shopify``); the MAX gateway
seeds the same catalogue, and this file adds 5,500 B2B accounts (``--quick``: 550) with
``sandboxes.exactmax.seed.add_accounts``. Of those accounts, by ``n % 11``: 7 in 11 match a Shopify customer by
e-mail, 1 by phone, 1 by company + postal code, 1 by a ``max.custid`` metafield already on the customer, and 1 has
no Shopify customer (reported). Every other Shopify customer is a web customer no account matches. The default
seeds' master-data cases (``sandboxes.master_data_cases``) are there too. ``sku_to_part.csv`` is a temporary copy
of ``include/mappings`` with a row for every mapped catalogue SKU.

The pass is the library code the DAG's three tasks run (``shopify_max.master_data.pipeline``: ``customers_step``,
``items_step``, ``codes_step``), each with its settings loaded, a ``ShopifyHook`` and an ``ExactMaxHook`` built
from ``AIRFLOW_CONN_*`` connections and the SQLite sync store, as ``airflow_glue.master_data_tasks`` builds them.

1. First pass, from a full bucket: every matched account is pushed (``customerSet`` + ``metafieldsSet``). Wall time
   per step and in all, Shopify points actually spent (the clients' ``stats.actual_cost``), against the cost-budget
   bound: the time the points spent need at the restore rate beyond the bucket available at the start,
   (points spent - available) / restore rate. Checked: matches by rule equal what was seeded, and the sandbox's
   write log (``GET /_sandbox/writes``) holds exactly one ``customerSet`` and one ``metafieldsSet`` per push.
2. Second pass, nothing changed, from a full bucket: wall time and points; Shopify writes must be 0 (write log).
3. The bulk reads alone (customers, variants): rows per second, split into the bulk operation (start + polling
   until Shopify has the file) and streaming the file; then the CPU of the coverage report over every variant.
4. Peak memory (max RSS) of this process, which runs the pass.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import requests
from figures import Figure
from harness import environment, serve_process, wait_for_full_bucket

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-shopify-token"
MAX_TOKEN = "bench-max-token-0123456789"
ORDERS = 30  # the default seed's orders: the code-table step reads the codes they carry
STEPS = ("customers", "items", "codes")
# B2B account n (1-based) is matched by RULE_OF_REMAINDER[n % 11] (None: no Shopify customer).
RULE_OF_REMAINDER = {**dict.fromkeys(range(7), "email"), 7: "phone", 8: "company_postal_code",
                     9: "custid_metafield", 10: None}
_CITIES = (("Chicago", "IL", "60601"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"),
           ("Seattle", "WA", "98104"), ("Toronto", "ON", "M5H 2N2"))


# ------------------------------------------------------------------------------------------------ the seeded data
def b2b_account(n: int):  # noqa: ANN201 - (master_data_cases.MaxAccount, ShopifyCustomerCase | None)
    """B2B account ``n``: the MAX side, and the Shopify customer its rule finds (None for an unmatched one).

    Only the rule's own key lines up: an account matched by phone has no e-mail in MAX, one matched by company has
    neither an e-mail nor a phone any Shopify customer has, so the rule order decides nothing by accident."""
    from sandboxes.master_data_cases import MaxAccount, ShopifyCustomerCase

    rule = RULE_OF_REMAINDER[n % 11]
    city, state, zip_code = _CITIES[n % len(_CITIES)]
    country = "CA" if state == "ON" else "US"
    exempt = state == "TX" and n % 2 == 1  # half the Texans: US_TX_RESELLER_EXEMPTION (tax_exemptions.csv)
    email = f"buyer{n:06d}@b2b{n % 97:02d}.example" if rule in ("email", None) else None
    phone = {"phone": f"(415) {200 + n // 10_000:03d}-{n % 10_000:04d}",
             "company_postal_code": f"(646) {300 + n // 10_000:03d}-{n % 10_000:04d}"}.get(rule, "")
    account = MaxAccount(
        custid=f"B2B-{n:06d}", name=f"Bench Supply {n:06d} LLC", city=city, state=state, zip_code=zip_code,
        country=country, phone=phone, terms=("30", "10", "PP")[n % 3], ship_via=("UP", "FX", "LT")[n % 3],
        tax_codes=("EXEMPT", "", "") if exempt else ("", "", ""), taxable="N" if exempt else "Y",
        currency="CAD" if country == "CA" else "USD", price_list=("WHOLESALE", "DEALER", "RETAIL")[n % 3],
        credit_hold=n % 50 == 0, email=email, vat_id=f"CA{n:09d}RT0001" if country == "CA" else None)
    if rule is None:
        return account, None
    customer = ShopifyCustomerCase(
        key=f"b2b-{n}", first_name="Buyer", last_name=f"{n:06d}",
        email=email.upper() if rule == "email" else f"contact{n:06d}@b2b-shop.example",  # e-mail case is ignored
        phone=f"+1415{200 + n // 10_000:03d}{n % 10_000:04d}" if rule == "phone" else None,
        company=f"Bench Supply {n:06d}, Inc." if rule == "company_postal_code" else f"Bench Supply {n:06d}",
        city=city, province_code=state, zip_code=f"{zip_code}-1234" if country == "US" else zip_code,
        country_code=country, custid_metafield=account.custid if rule == "custid_metafield" else None)
    if rule != "company_postal_code":  # a company whose postal code differs: rule 4 would find no one
        customer = replace(customer, zip_code="99999")
    return account, customer


def web_customer(n: int):  # noqa: ANN201 - master_data_cases.ShopifyCustomerCase
    """Web customer ``n``: no MAX account has its e-mail, phone or company."""
    from sandboxes.master_data_cases import ShopifyCustomerCase

    city, state, zip_code = _CITIES[n % len(_CITIES)]
    return ShopifyCustomerCase(key=f"web-{n}", first_name="Web", last_name=f"Customer {n:06d}",
                               email=f"customer{n:06d}@mail.example",
                               phone=f"+1312{n:07d}" if n % 4 == 0 else None, company=None, city=city,
                               province_code=state, zip_code=zip_code, country_code="CA" if state == "ON" else "US")


def shopify_customer_cases(count: int, accounts: int) -> Iterator:
    """``count`` customers: the Shopify side of every matched B2B account, then web customers."""
    made = 0
    for n in range(1, accounts + 1):
        customer = b2b_account(n)[1]
        if customer is not None and made < count:
            made += 1
            yield customer
    for n in range(1, count - made + 1):
        yield web_customer(n)


def _variant_count(products: int) -> int:
    from sandboxes import catalog
    from sandboxes.shopify.seed import _has_duplicate_sku as has_duplicate_sku

    return sum(len(catalog.product(i).variants) + has_duplicate_sku(i) for i in range(1, products + 1))


def _products_for_variants(wanted: int) -> int:
    low, high = 1, wanted
    while low < high:
        middle = (low + high) // 2
        if _variant_count(middle) < wanted:
            low = middle + 1
        else:
            high = middle
    return low


def serve_shopify(argv: list[str]) -> None:
    """``python benchmarks/bench_master_data.py serve-shopify …``: the Shopify sandbox with the bench's customers."""
    import uvicorn

    from sandboxes.shopify.app import SandboxConfig, create_app
    from sandboxes.shopify.seed import add_customers

    parser = argparse.ArgumentParser()
    for name in ("--port", "--products", "--orders", "--customers", "--accounts"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    app = create_app(SandboxConfig(token=args.token, products=args.products, orders=args.orders, plan="standard"))
    store = app.state.sandbox.store
    add_customers(store, shopify_customer_cases(args.customers - len(store.customers), args.accounts))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", access_log=False)


# ------------------------------------------------------------------------------------------------ harness
@contextmanager
def _quiet_logs(*names: str):
    """The library logs every Shopify request at INFO: thousands of lines here, so warnings only while measuring."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _budget_bound(points: float, available: float, rate: float) -> float:
    """The least time ``points`` take on a bucket holding ``available`` at the start, restoring ``rate`` per s."""
    return max(0.0, points - available) / rate


class StepRun(NamedTuple):  # a NamedTuple: run.py loads this file without registering it
    seconds: float
    summary: dict[str, Any]
    points: float  # Shopify points actually spent (the client's sum of actualQueryCost)
    requests: int
    waited: float  # paced and throttled waits of the Shopify client
    throttled: int


def _run_pass(store_url: str, run_id: str) -> tuple[dict[str, StepRun], float]:
    """The three steps of ``master_data_sync`` in the DAG's order, each built as its task builds it."""
    from shopify_max.clock import utcnow
    from shopify_max.dry_run import DryRunReport
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.mappings import load_mappings
    from shopify_max.master_data import pipeline
    from shopify_max.master_data.rules import load_master_data_rules
    from shopify_max.master_data.tax_exemptions import load_tax_exemptions
    from shopify_max.shopify.hook import ShopifyHook
    from shopify_max.sync_store import SyncStore

    steps: dict[str, StepRun] = {}
    started = time.perf_counter()
    for step in STEPS:
        begun = time.perf_counter()
        rules, mappings, exemptions = load_master_data_rules(), load_mappings(), load_tax_exemptions()
        shopify, max_hook = ShopifyHook(), ExactMaxHook()
        report = DryRunReport(flow="master_data")
        store = SyncStore.from_url(store_url)
        try:
            if step == "customers":
                summary = pipeline.customers_step(store, shopify, max_hook, rules, mappings, exemptions,
                                                  run_id=run_id, dry_run=False, report=report)
            elif step == "items":
                summary = pipeline.items_step(store, shopify, max_hook, rules, mappings, run_id=run_id,
                                              dry_run=False, report=report)
            else:
                summary = pipeline.codes_step(store, shopify, max_hook, rules, mappings, exemptions,
                                              since=utcnow() - timedelta(days=rules.codes_seen_days), run_id=run_id,
                                              dry_run=False, report=report)
        finally:
            store.dispose()
        stats = shopify.client.stats
        steps[step] = StepRun(time.perf_counter() - begun, summary, stats.actual_cost, stats.requests,
                              stats.waited_seconds, stats.throttled_retries)
    return steps, time.perf_counter() - started


def _timed_bulk_read(read: str) -> tuple[int, float, float, float]:
    """(rows, wall, bulk operation seconds (start + polling), points) of one bulk read, rows built but not kept."""
    from shopify_max.shopify.bulk import BulkOperationRunner
    from shopify_max.shopify.hook import ShopifyHook

    class TimedRunner(BulkOperationRunner):
        operation_seconds = 0.0

        def run(self, query, group_objects=False):  # noqa: ANN001, ANN202
            begun = time.perf_counter()
            operation = self.wait(self.start(query, group_objects))
            self.operation_seconds = time.perf_counter() - begun
            yield from self.rows(operation)

    hook = ShopifyHook()
    runner = TimedRunner(hook.client)
    started = time.perf_counter()
    rows = sum(1 for _ in getattr(hook, read)(runner=runner))
    return rows, time.perf_counter() - started, runner.operation_seconds, hook.client.stats.actual_cost


def _coverage_cpu() -> tuple[float, int, dict[str, int]]:
    """CPU seconds of ``build_coverage_report`` alone, over what ``items_step`` reads."""
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.mappings import load_mappings
    from shopify_max.master_data import facts
    from shopify_max.master_data.coverage import build_coverage_report
    from shopify_max.master_data.pipeline import coverage_settings
    from shopify_max.master_data.rules import load_master_data_rules
    from shopify_max.shopify.hook import ShopifyHook

    settings = coverage_settings(load_master_data_rules())
    max_hook = ExactMaxHook()
    uoms = {code.code: code.factor for code in max_hook.code_tables().uom if code.factor is not None}
    parts = [facts.part_facts(part) for part in max_hook.iter_parts()]
    prices = [facts.price_entry(entry) for entry in max_hook.iter_prices(settings.shop_price_list)]
    variants = [facts.variant_facts(variant) for variant in ShopifyHook().bulk_variants()]
    mappings = load_mappings().parts_by_sku
    started = time.process_time()
    report = build_coverage_report(parts, variants, prices, uoms, mappings, settings)
    return time.process_time() - started, len(variants), report.counts_by_kind()


def _writes(session: requests.Session, base: str) -> dict[str, int]:
    response = session.get(f"{base}/_sandbox/writes", timeout=60)
    response.raise_for_status()
    return response.json()["counts"]


def _expected_matches(accounts: int) -> Counter[str]:
    """Matches by rule: the B2B accounts' and those of the default seed's cases (``master_data_cases``)."""
    from sandboxes import master_data_cases as cases

    expected = Counter(RULE_OF_REMAINDER[n % 11] for n in range(1, accounts + 1))
    expected.update(rule for rule, _key in cases.EXPECTED_MATCHES.values())
    del expected[None]
    return expected


def _mappings_dir(tmp: Path, products: int) -> Path:
    """include/mappings, with a sku_to_part.csv for every mapped SKU of ``products`` catalogue products."""
    from sandboxes import catalog

    mappings = tmp / "mappings"
    shutil.copytree(ROOT / "include" / "mappings", mappings)
    catalog.write_sku_mapping(mappings / "sku_to_part.csv", products)
    return mappings


# ------------------------------------------------------------------------------------------------ the benchmark
def run(quick: bool) -> list[Figure]:
    from max_gateway.reference.database import create_gateway_engine
    from sandboxes.exactmax.seed import add_accounts
    from shopify_max.sync_store import SyncStore

    customers, variants, accounts = (5_000, 10_000, 550) if quick else (50_000, 100_000, 5_500)
    products = _products_for_variants(variants)
    tmp = Path(tempfile.mkdtemp(prefix="bench-master-data-"))
    mappings = _mappings_dir(tmp, products)
    max_url, store_url = f"sqlite:///{tmp / 'max.sqlite'}", f"sqlite:///{tmp / 'sync.sqlite'}"
    env = {**os.environ, "EXACTMAX_GATEWAY_TOKEN": MAX_TOKEN}
    seeding = time.perf_counter()
    with serve_process([sys.executable, str(Path(__file__).resolve()), "serve-shopify", "--products", str(products),
                   "--orders", str(ORDERS), "--customers", str(customers), "--accounts", str(accounts),
                   "--token", TOKEN], "/_sandbox/health", env, tmp / "shopify.log") as shop_port, \
            serve_process([sys.executable, "-m", "sandboxes.exactmax", "--products", str(products), "--database-url",
                      max_url], "/openapi.yaml", env, tmp / "max.log") as max_port:
        engine = create_gateway_engine(max_url)
        add_accounts(engine, (b2b_account(n)[0] for n in range(1, accounts + 1)))
        engine.dispose()
        SyncStore.from_url(store_url).dispose()  # migrate before timing
        seeding = time.perf_counter() - seeding
        shop, gateway = f"http://127.0.0.1:{shop_port}", f"http://127.0.0.1:{max_port}"
        admin = requests.Session()
        admin.headers["X-Shopify-Access-Token"] = TOKEN
        gateway_admin = requests.Session()
        gateway_admin.headers["Authorization"] = f"Bearer {MAX_TOKEN}"
        with environment({
            "AIRFLOW_CONN_SHOPIFY_DEFAULT": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": shop_port,
                                                        "schema": "http", "password": TOKEN,
                                                        "extra": {"timeout": 300}}),
            "AIRFLOW_CONN_EXACTMAX_DEFAULT": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": max_port,
                                                         "schema": "http", "extra": {"token": MAX_TOKEN,
                                                                                     "timeout": 120}}),
            "SHOPIFY_MAX_MAPPINGS_DIR": str(mappings)}), _quiet_logs("shopify_max", "alembic"):
            figures = _measure(shop, gateway, admin, gateway_admin, store_url, accounts, seeding)
    shutil.rmtree(tmp, ignore_errors=True)
    return figures


def _measure(shop: str, gateway: str, admin: requests.Session, gateway_admin: requests.Session, store_url: str,
             accounts: int, seeding: float) -> list[Figure]:
    state = admin.get(f"{shop}/_sandbox/state", timeout=60).json()
    in_shop = f"{state['customers']:,} customers, {state['variants']:,} variants"
    expected = _expected_matches(accounts)
    matched_wanted = sum(expected.values())

    # 1. First pass.
    shop_before, max_before = _writes(admin, shop), _writes(gateway_admin, gateway)
    bucket = wait_for_full_bucket(admin, shop)
    available, rate = bucket["currentlyAvailable"], bucket["restoreRate"]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, first_wall = _run_pass(store_url, "bench-first")
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shop_after, max_after = _writes(admin, shop), _writes(gateway_admin, gateway)
    people = first["customers"].summary
    pushed = people["pushed"]
    assert people["matched"] == matched_wanted, (people["matched"], matched_wanted, people["matched_by_rule"])
    assert Counter(people["matched_by_rule"]) == expected, (people["matched_by_rule"], dict(expected))
    assert pushed == matched_wanted and not people["push_refused"] and not people["unmapped_exemptions"], people
    new_writes = Counter(shop_after) - Counter(shop_before)
    assert new_writes == Counter({"customerSet": pushed, "metafieldsSet": pushed}), dict(new_writes)
    assert max_after == max_before, "the pass wrote to MAX"
    assert first["items"].summary["variants"] == state["variants"], first["items"].summary
    points = sum(step.points for step in first.values())
    bound = _budget_bound(points, available, rate)
    customers_bound = _budget_bound(first["customers"].points, available, rate)
    waited = sum(step.waited for step in first.values())
    throttled = sum(step.throttled for step in first.values())
    steps = ", ".join(f"{name} {first[name].seconds:.1f} s ({first[name].points:,.0f} points)" for name in STEPS)

    # 2. Second pass: nothing changed.
    wait_for_full_bucket(admin, shop)
    second, second_wall = _run_pass(store_url, "bench-second")
    assert _writes(admin, shop) == shop_after, "the second pass wrote to Shopify"
    again = second["customers"].summary
    assert again["pushed"] == 0 and again["unchanged"] == matched_wanted, again
    second_points = sum(step.points for step in second.values())

    # 3. The bulk reads alone, and the coverage report's CPU.
    wait_for_full_bucket(admin, shop)
    customer_rows, customer_wall, customer_operation, customer_points = _timed_bulk_read("bulk_customers")
    variant_rows, variant_wall, variant_operation, variant_points = _timed_bulk_read("bulk_variants")
    coverage_cpu, coverage_variants, findings = _coverage_cpu()

    items = first["items"].summary
    found = ", ".join(f"{kind} {n:,}" for kind, n in items["findings"].items() if n)
    return [
        Figure(f"master data first pass ({in_shop}, {people['accounts']:,} MAX accounts): customers + items + codes",
               first_wall, "s", ratio=first_wall / bound if bound else None,
               note=f"ratio to the cost-budget bound {bound:.1f} s ((points spent {points:,.0f} - {available:.0f} "
                    f"available at the start) / {rate:.0f} per s); steps: {steps}; paced waits {waited:.1f} s, "
                    f"throttled retries {throttled}; setup {seeding:.0f} s not counted"),
        Figure(f"master data first pass, customers step: {pushed:,} accounts pushed (customerSet + metafieldsSet)",
               first["customers"].seconds, "s",
               ratio=first["customers"].seconds / customers_bound if customers_bound else None,
               note=f"ratio to its own cost-budget bound {customers_bound:.1f} s ({first['customers'].points:,.0f} "
                    f"points, {first['customers'].points / max(pushed, 1):.1f} per push, "
                    f"{first['customers'].requests:,} requests, paced waits {first['customers'].waited:.1f} s); "
                    f"{pushed / first['customers'].seconds * 60:,.0f} pushes/min; matched {people['matched']:,} = "
                    f"seeded, by rule {people['matched_by_rule']}; ambiguous {people['ambiguous']}, "
                    f"unmatched {people['unmatched']:,}; Shopify write log: {dict(new_writes)}"),
        Figure(f"master data first pass, items step: {items['variants']:,} variants, {items['parts']:,} MAX parts",
               first["items"].seconds, "s",
               note=f"bulk variants + MAX parts and RETAIL prices (paged) + coverage report + error queue; "
                    f"{first['items'].points:.0f} points, paced waits {first['items'].waited:.1f} s; findings: "
                    f"{found}"),
        Figure("master data first pass, code tables step", first["codes"].seconds, "s",
               note=f"{first['codes'].summary['orders_scanned']} orders scanned; findings "
                    f"{first['codes'].summary['findings']}; {first['codes'].points:.0f} points, paced waits "
                    f"{first['codes'].waited:.1f} s"),
        Figure("master data second pass, nothing changed: customers + items + codes", second_wall, "s",
               ratio=second_wall / first_wall,
               note=f"ratio = second / first pass; Shopify writes 0 (write log checked), {again['unchanged']:,} "
                    f"unchanged; {second_points:,.0f} points spent; steps: " + ", ".join(
                        f"{name} {second[name].seconds:.1f} s" for name in STEPS)),
        Figure(f"bulk read alone: {customer_rows:,} customers with their metafields", customer_rows / customer_wall,
               "customers/s",
               note=f"wall {customer_wall:.1f} s = bulk operation (start + polling until the file is ready) "
                    f"{customer_operation:.1f} s + streaming and parsing {customer_wall - customer_operation:.1f} s; "
                    f"{customer_points:.0f} points"),
        Figure(f"bulk read alone: {variant_rows:,} variants", variant_rows / variant_wall, "variants/s",
               note=f"wall {variant_wall:.1f} s = bulk operation {variant_operation:.1f} s + streaming and parsing "
                    f"{variant_wall - variant_operation:.1f} s; {variant_points:.0f} points"),
        Figure(f"coverage report CPU over {coverage_variants:,} variants (build_coverage_report alone)",
               coverage_cpu, "s", ratio=coverage_cpu / 1.0,
               note="ratio to the 1 s coverage.py promises for 100,000 variants ('well under a second'); "
                    f"findings {sum(findings.values()):,}"),
        Figure("master data first pass: peak memory of the process running the pass", rss_after, "MiB",
               note=f"max RSS, {rss_before:.0f} MiB before the pass (Python, Airflow SDK, the library, the seeding "
                    "of the MAX accounts); the sandboxes run in their own processes"),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-shopify"]:
        serve_shopify(sys.argv[2:])
    else:
        raise SystemExit("usage: bench_master_data.py serve-shopify --port P --products N --orders N "
                         "--customers N --accounts N --token T  (the benchmark itself runs from benchmarks/run.py)")
