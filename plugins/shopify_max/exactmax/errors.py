"""Typed errors of the MAX gateway contract.

A field-level rejection (:class:`ExactMaxRejected`) is a per-record outcome: the record goes to the error
queue and the batch goes on. Outages and unresolved ambiguous writes are task failures, so Airflow retries the
task; auth and configuration failures fail it at once (:mod:`shopify_max.airflow_glue.task_failures`). What the
hook itself retries: :func:`shopify_max.retry_policy.exactmax_retry_reason`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldRejection:
    """One broken rule: the eMAXExact element, the line (LINNUM) when there is one, the rule and a message."""

    element: str
    rule: str
    message: str
    line: str | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.element}{where}: {self.rule}: {self.message}"


class ExactMaxError(Exception):
    """Base class of every gateway error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ExactMaxRejected(ExactMaxError):
    """The gateway refused the transaction (HTTP 422); nothing was written. A per-record outcome."""

    def __init__(self, errors: list[FieldRejection], status: int = 422) -> None:
        super().__init__("; ".join(str(e) for e in errors) or "rejected", status)
        self.errors = errors

    def has_rule(self, rule: str, element: str | None = None) -> bool:
        return any(e.rule == rule and (element is None or e.element == element) for e in self.errors)


class ExactMaxAlreadyExists(ExactMaxRejected):
    """409: the gateway already holds a record for this key (a sales order or credit memo for the CUSTPO).

    Nothing was written. ``key`` names the existing record (its ``ORDNUM``): the write had already happened."""

    def __init__(self, errors: list[FieldRejection], key: str | None) -> None:
        super().__init__(errors, 409)
        self.key = key


class ExactMaxAuthError(ExactMaxError):
    """401/403: the connection's credentials are wrong. A task failure, never retried."""


class ExactMaxConfigurationError(ExactMaxError):
    """The ``exactmax_default`` connection is incomplete (no host). A task failure, never retried."""


class ExactMaxNotFound(ExactMaxError):
    """404 on a read by key."""


class ExactMaxUnavailableError(ExactMaxError):
    """429 or 5xx: the gateway (or MAX behind it) cannot answer now. Retryable; carries Retry-After."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class ExactMaxConnectionError(ExactMaxError):
    """No answer: connection refused or dropped, or a timeout.

    ``request_sent`` is False only when the request certainly never reached the gateway (connect failure);
    otherwise a write may or may not have been applied.
    """

    def __init__(self, message: str, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class ExactMaxAmbiguousWriteError(ExactMaxError):
    """A write may have been applied, and the CUSTPO lookup could not settle it. A task failure: the next try
    looks up by CUSTPO again before sending."""


class ExactMaxProtocolError(ExactMaxError):
    """The gateway answered something the contract does not allow (for example two orders for one CUSTPO)."""


class ExactMaxDuplicateCustpo(ExactMaxProtocolError):
    """MAX holds several customer orders for one CUSTPO (made before the gateway's CUSTPO rule, or by hand): which
    one is the Shopify order is a person's decision. A per-record outcome, not a task failure."""

    def __init__(self, custpo: str, ordnums: list[str]) -> None:
        super().__init__(f"CUSTPO {custpo!r} matches {len(ordnums)} MAX orders: {', '.join(ordnums)}")
        self.custpo = custpo
        self.ordnums = ordnums
