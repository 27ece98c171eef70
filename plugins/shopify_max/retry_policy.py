"""Retries of HTTP calls to Shopify and to the MAX gateway: what is retried, how long to wait, how often, and
the log line each retry writes. This module is the one place these rules live; ``shopify/client.py``,
``shopify/bulk.py`` and ``exactmax/hook.py`` apply them.

**What is retried** (one named predicate per API):
- Shopify, :func:`shopify_retry_reason`: THROTTLED (HTTP 200 with ``extensions.code`` THROTTLED), 429, 5xx,
  timeouts, dropped connections and truncated bodies. Never 401/403/404, GraphQL errors or MAX_COST_EXCEEDED.
  After a 5xx or a transport fault a mutation may have run, so only a keyed or naturally idempotent one is
  sent again (the client raises ``ShopifyOutcomeUnknownError`` for the rest).
- MAX gateway, :func:`exactmax_retry_reason`: 429, 5xx, connection failures and timeouts. Never 401/403, 404,
  409 or 422. Writes are never re-sent blindly: after an ambiguous failure the hook waits (this module's
  wait), looks the record up, and sends again only when the lookup finds nothing.

**How long to wait** (:meth:`RetryPolicy.wait_seconds`):
- the server's ``Retry-After`` when it gives one (capped by ``retry_after_cap_seconds`` when set);
- THROTTLED: exactly what Shopify's cost numbers say; the pacer computes it
  (:func:`shopify_max.shopify.pacing.throttle_wait_seconds`) and the client passes it in as the retry-after;
- otherwise capped exponential back-off with jitter: ``d = min(cap, base × 2^retry)``, then a wait drawn from
  ``[d × (1 − jitter), d]`` (``jitter`` 1 is "full jitter"; MAX uses 0.5, so a write waits at least half of
  ``d`` for a send still in flight to commit before the hook looks it up).

**How often**: ``max_attempts`` sends in all. Shopify's THROTTLED and 429 waits are exact, so they have their
own larger budget (``max_throttle_retries``); MAX counts 429 with the rest.

**Logs**: one WARNING line per retry on ``shopify_max.shopify`` or ``shopify_max.exactmax``,
``<api> op=<operation> retry=<n>/<limit> wait=<s> reason=<reason> status=<HTTP status> error=<type>``, and
``gave up after <n> retries`` in place of ``retry=… wait=…`` when the budget is spent. It names the operation
(a GraphQL operation name or ``METHOD /path``), never a token, a URL, a query string or a body.

Task-level retries (Airflow's, after a call has given up) are decided in
:mod:`shopify_max.airflow_glue.task_failures`: an error that cannot pass fails the task at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from shopify_max.exactmax.errors import ExactMaxConnectionError, ExactMaxUnavailableError
from shopify_max.shopify.errors import (
    ShopifyConnectionError,
    ShopifyRateLimitedError,
    ShopifyThrottledError,
    ShopifyUnavailableError,
)


class RetryReason(StrEnum):
    """Why a call is tried again."""

    THROTTLED = "throttled"  # Shopify's cost bucket is empty (SHOPIFY.md §2); the request did not run
    RATE_LIMITED = "rate_limited"  # HTTP 429; the request did not run
    UNAVAILABLE = "unavailable"  # HTTP 5xx; the request may have run
    CONNECTION = "connection"  # refused, dropped, timed out or truncated; the request may have run

    @property
    def request_may_have_run(self) -> bool:
        return self in (RetryReason.UNAVAILABLE, RetryReason.CONNECTION)

    @property
    def wait_is_exact(self) -> bool:
        """The server named the wait (THROTTLED's cost numbers, 429's Retry-After)."""
        return self in (RetryReason.THROTTLED, RetryReason.RATE_LIMITED)


def shopify_retry_reason(exc: BaseException) -> RetryReason | None:
    """What Shopify may retry: THROTTLED, 429, 5xx, dropped connections and timeouts. None: not retryable."""
    if isinstance(exc, ShopifyThrottledError):
        return RetryReason.THROTTLED
    if isinstance(exc, ShopifyRateLimitedError):
        return RetryReason.RATE_LIMITED
    if isinstance(exc, ShopifyUnavailableError):
        return RetryReason.UNAVAILABLE
    if isinstance(exc, ShopifyConnectionError):
        return RetryReason.CONNECTION
    return None


def exactmax_retry_reason(exc: BaseException) -> RetryReason | None:
    """What the MAX gateway may retry: 429, 5xx, connection failures and timeouts. None: not retryable."""
    if isinstance(exc, ExactMaxUnavailableError):
        return RetryReason.RATE_LIMITED if exc.status == 429 else RetryReason.UNAVAILABLE
    if isinstance(exc, ExactMaxConnectionError):
        return RetryReason.CONNECTION
    return None


def is_retryable_shopify_error(exc: BaseException) -> bool:
    return shopify_retry_reason(exc) is not None


def is_retryable_exactmax_error(exc: BaseException) -> bool:
    return exactmax_retry_reason(exc) is not None


def parse_retry_after(value: str | None, default: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``default`` when absent or unreadable."""
    if value is None or not value.strip():
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt limits and back-off of one API. The defaults are Shopify's (:data:`SHOPIFY_RETRY_POLICY`)."""

    max_attempts: int = 6  # sends in all, for 5xx and transport faults
    max_throttle_retries: int | None = 30  # THROTTLED/429 retries, counted apart; None: counted in max_attempts
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0
    jitter: float = 1.0  # share of the back-off drawn at random: 1 full jitter, 0 none
    retry_after_cap_seconds: float | None = None  # None: wait whatever the server asks

    def backoff_seconds(self, retry: int, rng: random.Random) -> float:
        """Capped exponential back-off for the ``retry``-th retry (1, 2, …), with jitter."""
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** retry)
        return ceiling - rng.uniform(0, ceiling * self.jitter)

    def wait_seconds(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Retry-After (or THROTTLED's exact wait) when given, else :meth:`backoff_seconds`."""
        if retry_after is None:
            return self.backoff_seconds(retry, rng)
        if self.retry_after_cap_seconds is not None:
            return min(retry_after, self.retry_after_cap_seconds)
        return retry_after


SHOPIFY_RETRY_POLICY = RetryPolicy()
# MAX reads: 5 sends; writes (settled by lookup) 3. Connection extras read_attempts/write_attempts override.
EXACTMAX_READ_RETRY_POLICY = RetryPolicy(max_attempts=5, max_throttle_retries=None, jitter=0.5,
                                         retry_after_cap_seconds=30.0)
EXACTMAX_WRITE_RETRY_POLICY = replace(EXACTMAX_READ_RETRY_POLICY, max_attempts=3)


def log_retry(api: str, operation: str, reason: RetryReason, *, retry: int, limit: int, wait: float | None,
              status: int | None = None, error: BaseException | None = None) -> None:
    """The one line a retry writes; ``wait`` None means the budget is spent and the error goes to the caller."""
    outcome = f"retry={retry}/{limit} wait={wait:.3f}s" if wait is not None else f"gave up after {retry - 1} retries"
    logging.getLogger(f"shopify_max.{api}").warning(
        "%s op=%s %s reason=%s status=%s error=%s", api, operation, outcome, reason.value,
        status if status is not None else "-", type(error).__name__ if error is not None else "-")


class Retries:
    """The retries of one call, counted against a policy: each failure gives the wait and writes the log line.

    For loops that do more between attempts than wait (Shopify's pacer, MAX's lookup after a write, a
    download that resumes); plain calls use :func:`retrying`.
    """

    def __init__(self, policy: RetryPolicy, *, api: str, operation: str,
                 rng: random.Random | None = None) -> None:
        self.policy, self.api, self.operation = policy, api, operation
        self._rng = rng or random.Random()
        self.backoff_retries = 0
        self.exact_wait_retries = 0
        self.exhausted = False

    @property
    def retries(self) -> int:
        return self.backoff_retries + self.exact_wait_retries

    def after_failure(self, reason: RetryReason, *, retry_after: float | None = None, status: int | None = None,
                      error: BaseException | None = None) -> float:
        """Count a failed attempt and return the wait before the next one. Sets :attr:`exhausted` when no
        attempt is left (the wait is still returned: a MAX write waits before its last lookup)."""
        policy = self.policy
        if reason.wait_is_exact and policy.max_throttle_retries is not None:
            self.exact_wait_retries += 1
            retry, limit = self.exact_wait_retries, policy.max_throttle_retries
        else:
            self.backoff_retries += 1
            retry, limit = self.backoff_retries, policy.max_attempts - 1
        self.exhausted = retry > limit
        wait = policy.wait_seconds(retry, retry_after, self._rng)
        log_retry(self.api, self.operation, reason, retry=self.retries if self.exhausted else retry, limit=limit,
                  wait=None if self.exhausted else wait, status=status, error=error)
        return wait


def retrying(policy: RetryPolicy, reason_of: Callable[[BaseException], RetryReason | None], *, api: str,
             operation: str, sleep: Callable[[float], None], rng: random.Random | None = None) -> Retrying:
    """A tenacity ``Retrying`` for a plain call: ``reason_of`` names what is retryable, the policy the wait and
    the limit, and each retry writes :func:`log_retry`'s line. Re-raises the last error when it gives up."""
    rng = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return policy.wait_seconds(state.attempt_number, getattr(exc, "retry_after", None), rng)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = reason_of(exc) if exc is not None else None
        if reason is not None:
            log_retry(api, operation, reason, retry=state.attempt_number, limit=policy.max_attempts - 1,
                      wait=state.upcoming_sleep, status=getattr(exc, "status", None), error=exc)

    def after(state: RetryCallState) -> None:  # the last retryable failure: the budget is spent, say so
        exc = state.outcome.exception() if state.outcome else None
        reason = reason_of(exc) if exc is not None else None
        if reason is not None and state.attempt_number >= policy.max_attempts:
            log_retry(api, operation, reason, retry=state.attempt_number, limit=policy.max_attempts - 1, wait=None,
                      status=getattr(exc, "status", None), error=exc)

    return Retrying(retry=retry_if_exception(lambda exc: reason_of(exc) is not None),
                    stop=stop_after_attempt(policy.max_attempts), wait=wait, before_sleep=before_sleep, after=after,
                    sleep=sleep, reraise=True)
