"""The gateway starts with one command on loopback, and its fault knobs behave as documented."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from max_gateway_helpers import TOKEN, make_order

from shopify_max.exactmax.errors import ExactMaxConnectionError
from shopify_max.exactmax.xml_builder import build_sales_order_xml

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow  # starts the gateway as its own process
def test_gateway_starts_with_one_command_and_seeds_its_database(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "EXACTMAX_GATEWAY_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.exactmax", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", f"sqlite:///{tmp_path / 'max.sqlite'}", "--products", "12"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/openapi.yaml", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{base}/health", headers=headers, timeout=5).json() == {"status": "ok", "backend": "reference"}
        parts = requests.get(f"{base}/parts", headers=headers, timeout=5).json()["items"]
        assert [p["PRTNUM_01"] for p in parts] == ["FREIGHT", "MISC"] + [
            f"PRT-{i:05d}" for i in range(1, 13) if i != 7] + ["PRT-90001", "PRT-90002"]  # the MAX-only parts last
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_latency_knob_delays_contract_calls_but_not_sandbox_calls(shared_gateway) -> None:
    shared_gateway.set_faults([], latency_ms=300)
    started = time.monotonic()
    shared_gateway.http.get(f"{shared_gateway.base_url}/code-tables", timeout=10)
    delayed = time.monotonic() - started
    shared_gateway.set_faults([])
    assert delayed >= 0.3


def test_error_knob_answers_the_status_with_retry_after_and_writes_nothing(shared_gateway) -> None:
    order = make_order()
    shared_gateway.set_faults([{"kind": "error", "status": 500, "count": 1, "path": "/sales-orders"}])
    response = shared_gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml)
    assert (response.status_code, response.headers["Retry-After"]) == (500, "1")
    assert shared_gateway.count_orders(order.CUSTPO) == 0
    assert shared_gateway.post_xml("/sales-orders", build_sales_order_xml(order).xml).status_code == 201


def test_unknown_fault_kind_is_refused(shared_gateway) -> None:
    response = shared_gateway.http.put(f"{shared_gateway.base_url}/_sandbox/faults",
                                       json={"rules": [{"kind": "meteor"}]})
    assert response.status_code == 422 and response.json()["errors"][0]["element"] == "rules"


def test_unreachable_gateway_is_an_outage_not_an_ambiguous_write(shared_gateway, make_hook, monkeypatch) -> None:
    from shopify_max.exactmax.hook import ExactMaxHook

    make_hook(shared_gateway)
    monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT",
                       f'{{"conn_type": "http", "host": "127.0.0.1", "port": {_free_port()}, "extra": {{"token": "x"}}}}')
    hook = ExactMaxHook(timeout=2, backoff_base=0.01, max_retry_wait=0.05, write_attempts=2)
    ok, message = hook.test_connection()
    assert not ok and "ExactMaxConnectionError" in message
    with pytest.raises(ExactMaxConnectionError) as raised:
        hook.create_sales_order(make_order())
    assert raised.value.request_sent is False
