"""MAX gateway write throughput: sales orders of 10 lines each, through ExactMaxHook, over real HTTP.

The reference gateway runs as its own process (``python -m sandboxes.exactmax``, the one-command
start) on loopback, on SQLite and, when reachable, on PostgreSQL. Writers are threads, each with its own hook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import requests
from figures import Figure, free_port

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("SHOPIFY_MAX_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
LINES_PER_ORDER = 10
TOKEN = "bench-token-0123456789"


@contextmanager
def _gateway_process(database_url: str):
    port = free_port()
    env = {**os.environ, "EXACTMAX_GATEWAY_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.exactmax", "--port", str(port), "--database-url", database_url,
         "--products", "200"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/openapi.yaml", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the MAX gateway did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def _postgres_schema_url() -> tuple[str, str] | None:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine.dispose()
    except Exception:  # noqa: BLE001 - no PostgreSQL: that figure is skipped
        return None
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def _order(custpo: str):
    from shopify_max.exactmax.models import SalesOrder, SalesOrderLine

    parts = [f"PRT-{i:05d}" for i in range(1, 200) if i % 25 != 7][:LINES_PER_ORDER]
    return SalesOrder(CUSTID="WEB", CUSTPO=custpo, ORDDTE=date(2026, 11, 27), NAME="Bench & <Co>", lines=[
        SalesOrderLine(LINNUM=f"{n:02d}", PRTNUM=part, PRICE=Decimal("19.99"), ORGQTY=Decimal(n))
        for n, part in enumerate(parts, start=1)])


def _throughput(port: int, orders: int, writers: int) -> float:
    from shopify_max.exactmax.hook import ExactMaxHook

    os.environ["AIRFLOW_CONN_EXACTMAX_DEFAULT"] = json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "extra": {"token": TOKEN}})
    run = uuid.uuid4().hex[:8]
    hooks = [ExactMaxHook(timeout=60) for _ in range(writers)]
    for hook in hooks:  # warm the sessions (connection read, first request)
        hook.test_connection()
    per_writer = orders // writers

    def write(writer: int) -> None:
        for n in range(per_writer):
            hooks[writer].create_sales_order(_order(f"B-{run}-{writer}-{n}"))

    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    return per_writer * writers / (time.perf_counter() - started)


def run(quick: bool) -> list[Figure]:
    orders = 40 if quick else 400
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", f"sqlite:///{tmp}/bench.sqlite", None)]
        pg = _postgres_schema_url()
        if pg is not None:
            backends.append(("PostgreSQL", pg[0], pg[1]))
        for name, url, schema in backends:
            try:
                with _gateway_process(url) as port:
                    for writers in (1, 4):
                        rate = _throughput(port, orders, writers)
                        figures.append(Figure(
                            f"MAX gateway writes, {name}, {writers} writer(s)", rate, "orders/s",
                            note=f"{orders} sales orders x {LINES_PER_ORDER} lines via ExactMaxHook over loopback HTTP; "
                                 "gateway in its own process; 2 cores shared with the client"))
            finally:
                if schema is not None:
                    _drop_schema(schema)
    return figures
