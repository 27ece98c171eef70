"""Failure alerts: one per task that failed for good, to a webhook and/or by e-mail.

Every task carries :data:`FAILURE_ALERT` as its ``on_failure_callback`` (``DEFAULT_ARGS`` in ``dag_defaults``).
Airflow calls it in the task's own process once the task ends ``failed``: after its last retry, or at its first
try when retrying cannot help (``task_failures``). A try that will be retried (``up_for_retry``) calls
``on_retry_callback`` instead, which alerts nobody; a task that never ran (``upstream_failed``) calls nothing. So
on-call gets exactly one alert per failed task. There is no DAG-level callback: it would repeat the same failure.

Where alerts go, read at each failure (a change needs no deploy):

- connection ``alerts_default`` (type ``http``; no connection, or no host: no webhook): ``host`` is the whole URL
  (``https://hooks.slack.com/services/…``), or a host name with ``schema`` as the scheme, ``port`` and
  ``extra.endpoint`` as the path, as for Airflow's HTTP hook. ``password``, when set, is sent as
  ``Authorization: Bearer …``. The body is JSON (:meth:`FailureAlert.as_payload`), with a ``text`` field that
  Slack and Teams show as it is.
- Variable ``failure_alert_emails``: comma-separated addresses, sent through Airflow's SMTP connection
  (``[email] email_conn_id``, default ``smtp_default``; sender ``[email] from_email`` or the connection's).

Neither set: one log line says alerts are off. An alert names the DAG, run, task, try and the first line of the
error (secrets redacted, at most :data:`MAX_ERROR_CHARS`), and links the task log; it never carries a payload, a
connection's values or a traceback. A delivery that fails is logged and never changes the task's outcome: the
task is already ``failed`` when the callback runs, and nothing raised here leaves this module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)

ALERT_CONN_ID = "alerts_default"
ALERT_EMAILS_VARIABLE = "failure_alert_emails"
MAX_ERROR_CHARS = 300
WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class FailureAlert:
    """What on-call needs to act on one failed task, and nothing else."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    max_tries: int
    error: str
    log_url: str

    @property
    def headline(self) -> str:
        task = self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"
        return (f"Airflow task failed: {self.dag_id}.{task} (run {self.run_id}, try {self.try_number} of "
                f"{self.max_tries + 1}): {self.error}")

    def as_payload(self) -> dict[str, Any]:
        return {"text": f"{self.headline}\nLog: {self.log_url}", "event": "task_failed", **asdict(self)}


def first_line_of(error: BaseException | str | None) -> str:
    """``Type: first line of the message``, secrets redacted, cut to :data:`MAX_ERROR_CHARS`."""
    from shopify_max.redaction import redact_text

    if error is None:
        return "(no exception recorded)"
    if isinstance(error, BaseException):
        message = str(error).strip().splitlines()
        text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    else:
        text = (str(error).strip().splitlines() or ["(empty error)"])[0]
    text = redact_text(text)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def alert_from_context(context: Any) -> FailureAlert:
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return FailureAlert(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=-1 if map_index is None else int(map_index),
        try_number=int(ti.try_number),
        max_tries=int(getattr(ti, "max_tries", 0) or 0),
        error=first_line_of(context.get("exception")),
        log_url=str(getattr(ti, "log_url", "")),
    )


def _webhook_connection() -> Any | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(ALERT_CONN_ID)
    except AirflowNotFoundException:
        return None
    return conn if (conn.host or "").strip() else None  # declared without a URL (airflow_settings.yaml): off


def webhook_url(conn: Any) -> str:
    """The URL a connection of type http names (see the module docstring)."""
    host = (conn.host or "").strip()
    if "://" in host:
        base = host
    else:
        base = f"{conn.schema or 'https'}://{host}" + (f":{conn.port}" if conn.port else "")
    endpoint = str((conn.extra_dejson or {}).get("endpoint") or "")
    if endpoint and not endpoint.startswith("/") and not base.endswith("/"):
        endpoint = "/" + endpoint
    return base + endpoint


def _alert_emails() -> list[str]:
    from airflow.sdk import Variable

    value = Variable.get(ALERT_EMAILS_VARIABLE, default=None) or ""
    return [address.strip() for address in str(value).split(",") if address.strip()]


def post_webhook(conn: Any, alert: FailureAlert) -> None:
    """POST the alert as JSON; raise on a transport error or a non-2xx answer (the URL is never logged: a Slack
    or Teams webhook URL is itself a secret)."""
    import httpx

    headers = {"Content-Type": "application/json"}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    response = httpx.post(webhook_url(conn), content=json.dumps(alert.as_payload()), headers=headers,
                          timeout=WEBHOOK_TIMEOUT_SECONDS)
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"the receiver answered HTTP {response.status_code}")


def send_email(addresses: list[str], alert: FailureAlert) -> None:
    from html import escape

    from airflow.configuration import conf
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    body = (f"<p>{escape(alert.headline)}</p><p><a href=\"{escape(alert.log_url)}\">Task log</a></p>"
            f"<pre>{escape(json.dumps(asdict(alert), indent=2))}</pre>")
    with SmtpHook(smtp_conn_id=conf.get("email", "email_conn_id", fallback="smtp_default")) as hook:
        hook.send_email_smtp(to=addresses, subject=alert.headline[:200], html_content=body,
                             from_email=conf.get("email", "from_email", fallback=None) or hook.from_email)


def deliver(alert: FailureAlert) -> dict[str, str]:
    """Send ``alert`` everywhere configured; returns what happened per channel. Never raises."""
    outcome: dict[str, str] = {}
    try:
        conn = _webhook_connection()
    except Exception as exc:  # noqa: BLE001 - a broken secrets backend must not hide the task failure
        conn, outcome["webhook"] = None, f"not sent: connection {ALERT_CONN_ID} unreadable ({type(exc).__name__})"
    if conn is not None:
        try:
            post_webhook(conn, alert)
            outcome["webhook"] = "sent"
        except Exception as exc:  # noqa: BLE001 - any delivery failure is logged, never raised
            reason = str(exc).replace(webhook_url(conn), "<webhook URL>")  # the URL may hold the receiver's key
            outcome["webhook"] = f"not sent: {type(exc).__name__}: {first_line_of(reason)}"
    try:
        addresses = _alert_emails()
    except Exception as exc:  # noqa: BLE001
        addresses, outcome["email"] = [], f"not sent: Variable {ALERT_EMAILS_VARIABLE} unreadable ({type(exc).__name__})"
    if addresses:
        try:
            send_email(addresses, alert)
            outcome["email"] = f"sent to {len(addresses)} address(es)"
        except Exception as exc:  # noqa: BLE001
            outcome["email"] = f"not sent: {type(exc).__name__}: {first_line_of(str(exc))}"
    return outcome


class FailureAlertNotifier(BaseNotifier):
    """The ``on_failure_callback`` every task carries (module docstring)."""

    def notify(self, context: Any) -> None:
        try:
            alert = alert_from_context(context)
            outcome = deliver(alert)
        except Exception:  # noqa: BLE001 - an alert bug must not hide the task failure
            log.exception("failure alert: could not be built or sent")
            return
        where = f"{alert.dag_id}.{alert.task_id} try {alert.try_number}"
        if not outcome:
            log.info("failure alerts are off: no connection %s and no Variable %s (%s)", ALERT_CONN_ID,
                     ALERT_EMAILS_VARIABLE, where)
        for channel, result in outcome.items():
            if result.startswith("sent"):
                log.info("failure alert for %s: %s %s", where, channel, result)
            else:
                log.error("failure alert for %s: %s %s; the task failure itself stands", where, channel, result)


FAILURE_ALERT = FailureAlertNotifier()
