"""Failure alerts (``airflow_glue/alerts.py``): every task carries the callback, and real DAG runs (``dag.test()``)
against a local webhook receiver send exactly one alert per task that failed for good, none for a retry that then
succeeded, and a receiver that fails never changes the task's outcome."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shopify_max.airflow_glue.alerts import FAILURE_ALERT, FailureAlertNotifier, first_line_of, webhook_url
from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE

WEBHOOK_TOKEN = "alert-receiver-token-123456"


@dataclass
class Receiver:
    url: str
    status: int = 200
    posts: list[dict] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A JSON receiver on a free loopback port that records each POST (path, headers, body)."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.posts.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def alerts_to(receiver, monkeypatch) -> Receiver:
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_DEFAULT", json.dumps(
        {"conn_type": "http", "host": f"{receiver.url}/hooks/on-call", "password": WEBHOOK_TOKEN}))
    monkeypatch.delenv("AIRFLOW_VAR_FAILURE_ALERT_EMAILS", raising=False)
    return receiver


def _one_task_dag(dag_id: str, body, tmp_path):
    """A DAG with the project's DEFAULT_ARGS and one task that may retry once, at once; serialised to the metadata
    DB as the DAG processor would, which ``dag.test()`` needs."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.sdk import DAG, task

    with DAG(dag_id, schedule=None, start_date=START_DATE, catchup=False,
             default_args={**DEFAULT_ARGS, "retries": 1, "retry_delay": timedelta(0)}) as dag:
        task(task_id="work")(body)()
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(tmp_path))
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag


def _fails_every_time():
    raise ValueError("MAX refused the order: token shpat_abcdef0123456789 rejected\nsecond line stays out")


def _fails_on_first_try_only(ti=None):
    if ti.try_number == 1:
        raise ConnectionError("gateway unreachable")
    return "ok"


def _work(dag_run):
    [ti] = dag_run.get_task_instances()
    return ti


def test_every_task_of_every_dag_carries_the_failure_alert(dag_bag):
    for dag in dag_bag.dags.values():
        for task in dag.tasks:
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert FAILURE_ALERT in callbacks, f"{dag.dag_id}.{task.task_id}"
            assert not task.on_retry_callback, "no alert per retry"
        assert not dag.on_failure_callback, "one alert per failed task: a DAG-level alert would repeat it"


@pytest.mark.e2e
def test_a_task_that_fails_for_good_sends_exactly_one_alert_after_its_last_retry(airflow_metadata_db, alerts_to, tmp_path):
    dag_run = _one_task_dag("alert_test_fails", _fails_every_time, tmp_path).test()

    ti = _work(dag_run)
    assert (ti.state, ti.try_number) == ("failed", 2)
    [post] = alerts_to.posts  # try 1 was a retry: no alert for it
    assert post["path"] == "/hooks/on-call"
    assert post["headers"]["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    alert = post["body"]
    assert alert["event"] == "task_failed"
    assert (alert["dag_id"], alert["run_id"], alert["task_id"]) == ("alert_test_fails", dag_run.run_id, "work")
    assert (alert["try_number"], alert["max_tries"]) == (2, 1)
    assert alert["error"] == "ValueError: MAX refused the order: ***REDACTED*** rejected"
    assert alert["log_url"].endswith(f"/dags/alert_test_fails/runs/{dag_run.run_id.replace(':', '%3A').replace('+', '%2B')}"
                                     "/tasks/work?try_number=2")
    assert alert["text"].startswith("Airflow task failed: alert_test_fails.work (run ")
    assert WEBHOOK_TOKEN not in json.dumps(alert) and "second line" not in json.dumps(alert)


@pytest.mark.e2e
def test_a_task_that_succeeds_on_its_retry_sends_no_alert(airflow_metadata_db, alerts_to, tmp_path):
    dag_run = _one_task_dag("alert_test_retried", _fails_on_first_try_only, tmp_path).test()

    assert (_work(dag_run).state, _work(dag_run).try_number) == ("success", 2)
    assert alerts_to.posts == []


@pytest.mark.e2e
def test_a_receiver_that_fails_leaves_the_task_failed_and_is_logged(airflow_metadata_db, alerts_to, caplog, tmp_path):
    alerts_to.status = 500
    with caplog.at_level(logging.INFO, logger="shopify_max.airflow_glue.alerts"):
        dag_run = _one_task_dag("alert_test_receiver_down", _fails_every_time, tmp_path).test()

    assert _work(dag_run).state == "failed"
    assert dag_run.state == "failed"
    assert len(alerts_to.posts) == 1
    assert "webhook not sent: RuntimeError: the receiver answered HTTP 500; the task failure itself stands" in caplog.text


def test_no_configuration_logs_that_alerts_are_off_and_sends_nothing(monkeypatch, caplog):
    monkeypatch.setattr("shopify_max.airflow_glue.alerts._webhook_connection", lambda: None)
    monkeypatch.setattr("shopify_max.airflow_glue.alerts._alert_emails", list)
    with caplog.at_level(logging.INFO, logger="shopify_max.airflow_glue.alerts"):
        FailureAlertNotifier().notify({"ti": _FakeTi(), "exception": KeyError("x")})
    assert [r.getMessage() for r in caplog.records] == [
        "failure alerts are off: no connection alerts_default and no Variable failure_alert_emails "
        "(orders_to_max.capture_orders try 4)"]


@dataclass
class _FakeTi:
    dag_id: str = "orders_to_max"
    run_id: str = "scheduled__2026-11-29T16:40:00+00:00"
    task_id: str = "capture_orders"
    map_index: int = -1
    try_number: int = 4
    max_tries: int = 3
    log_url: str = "http://localhost:8080/dags/orders_to_max/runs/x/tasks/capture_orders?try_number=4"


def test_the_error_line_is_the_first_line_redacted_and_bounded():
    assert first_line_of(RuntimeError("a\nb")) == "RuntimeError: a"
    assert first_line_of(RuntimeError()) == "RuntimeError"
    assert first_line_of(None) == "(no exception recorded)"
    assert "Bearer" not in first_line_of(RuntimeError("Authorization: Bearer abcdefgh12345678"))
    assert len(first_line_of(RuntimeError("x" * 1000))) == 300


@pytest.mark.parametrize(("conn", "url"), [
    ({"host": "https://hooks.slack.com/services/T0/B0/xyz"}, "https://hooks.slack.com/services/T0/B0/xyz"),
    ({"host": "alerts.internal", "schema": "http", "port": 9000, "extra": json.dumps({"endpoint": "hook"})},
     "http://alerts.internal:9000/hook"),
    ({"host": "alerts.internal"}, "https://alerts.internal"),
])
def test_the_webhook_url_follows_the_http_connection_conventions(conn, url):
    from airflow.sdk import Connection

    assert webhook_url(Connection(conn_id="alerts_default", conn_type="http", **conn)) == url


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    """The least SMTP server smtplib talks to (no TLS, no auth); records each message's DATA."""
    import socketserver

    messages: list[str] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 test ESMTP\r\n")
            while line := self.rfile.readline():
                verb = line.split(b" ", 1)[0].strip().upper()
                if verb == b"DATA":
                    self.wfile.write(b"354 go on\r\n")
                    data = []
                    while (row := self.rfile.readline()) not in (b".\r\n", b""):
                        data.append(row.decode())
                    messages.append("".join(data))
                if verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                if verb != b"DATA":
                    self.wfile.write(b"250 ok\r\n")
                else:
                    self.wfile.write(b"250 queued\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], messages
    server.shutdown()
    server.server_close()


def test_an_alert_by_email_goes_through_airflows_smtp_connection(smtp_server, monkeypatch):
    port, messages = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@example.com", "retry_limit": 1}}))
    monkeypatch.setenv("AIRFLOW_VAR_FAILURE_ALERT_EMAILS", "oncall@example.com, lead@example.com")
    monkeypatch.setattr("shopify_max.airflow_glue.alerts._webhook_connection", lambda: None)

    FailureAlertNotifier().notify({"ti": _FakeTi(), "exception": ConnectionError("gateway down\ntrace")})

    [message] = messages
    assert "To: oncall@example.com, lead@example.com" in message
    assert "Subject: Airflow task failed: orders_to_max.capture_orders (run scheduled__2026-11-29T16:40:00+00:00, " \
           "try 4 of 4): ConnectionError: gateway down" in message.replace("\r\n ", " ")
