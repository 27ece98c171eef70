"""The one HTTP retry policy (``shopify_max.retry_policy``): what each API retries, how long it waits, how often."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from shopify_max.exactmax.errors import (
    ExactMaxAlreadyExists,
    ExactMaxAuthError,
    ExactMaxConnectionError,
    ExactMaxNotFound,
    ExactMaxRejected,
    ExactMaxUnavailableError,
)
from shopify_max.retry_policy import (
    EXACTMAX_READ_RETRY_POLICY,
    EXACTMAX_WRITE_RETRY_POLICY,
    SHOPIFY_RETRY_POLICY,
    Retries,
    RetryPolicy,
    RetryReason,
    exactmax_retry_reason,
    parse_retry_after,
    shopify_retry_reason,
)
from shopify_max.shopify.errors import (
    ShopifyAuthenticationError,
    ShopifyConnectionError,
    ShopifyGraphQLError,
    ShopifyNotFoundError,
    ShopifyPermissionError,
    ShopifyQueryCostError,
    ShopifyRateLimitedError,
    ShopifyThrottledError,
    ShopifyUnavailableError,
)


@pytest.mark.parametrize(("error", "reason"), [
    (ShopifyThrottledError("THROTTLED", status=200, retry_after=0.4), RetryReason.THROTTLED),
    (ShopifyRateLimitedError("HTTP 429", status=429, retry_after=1.0), RetryReason.RATE_LIMITED),
    (ShopifyUnavailableError("HTTP 503", status=503), RetryReason.UNAVAILABLE),
    (ShopifyConnectionError("ReadTimeout"), RetryReason.CONNECTION),
    (ShopifyAuthenticationError("401", status=401), None),
    (ShopifyPermissionError("403", status=403), None),
    (ShopifyNotFoundError("404", status=404), None),
    (ShopifyGraphQLError("bad field", status=200), None),
    (ShopifyQueryCostError("MAX_COST_EXCEEDED", status=200), None),
    (ValueError("not an HTTP error"), None),
])
def test_shopify_retries_throttled_429_5xx_and_transport_faults_only(error, reason):
    assert shopify_retry_reason(error) == reason


@pytest.mark.parametrize(("error", "reason"), [
    (ExactMaxUnavailableError("busy", 429, 2.0), RetryReason.RATE_LIMITED),
    (ExactMaxUnavailableError("down", 503), RetryReason.UNAVAILABLE),
    (ExactMaxConnectionError("timeout", request_sent=True), RetryReason.CONNECTION),
    (ExactMaxAuthError("refused", 401), None),
    (ExactMaxNotFound("no such order", 404), None),
    (ExactMaxRejected([]), None),
    (ExactMaxAlreadyExists([], "00001234"), None),
])
def test_max_retries_429_5xx_and_connection_failures_only(error, reason):
    assert exactmax_retry_reason(error) == reason


def test_only_5xx_and_transport_faults_leave_the_outcome_of_a_request_unknown():
    assert {reason for reason in RetryReason if reason.request_may_have_run} == {
        RetryReason.UNAVAILABLE, RetryReason.CONNECTION}


def test_retry_after_is_honoured_as_given_unless_the_policy_caps_it():
    rng = random.Random(1)
    assert SHOPIFY_RETRY_POLICY.wait_seconds(1, 45.0, rng) == 45.0
    assert EXACTMAX_READ_RETRY_POLICY.wait_seconds(1, 45.0, rng) == 30.0
    assert SHOPIFY_RETRY_POLICY.wait_seconds(3, 0.0, rng) == 0.0  # THROTTLED with points already back


def test_backoff_is_exponential_capped_and_jittered():
    rng = random.Random(7)
    full = RetryPolicy(backoff_base_seconds=0.5, backoff_cap_seconds=4.0, jitter=1.0)
    half = RetryPolicy(backoff_base_seconds=0.5, backoff_cap_seconds=4.0, jitter=0.5)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 4.0)]:
        waits = [full.wait_seconds(retry, None, rng) for _ in range(200)]
        assert all(0 <= wait <= ceiling for wait in waits) and len(set(waits)) > 1
        floors = [half.wait_seconds(retry, None, rng) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in floors)


def test_a_max_write_waits_at_least_half_the_backoff_before_it_looks_the_order_up():
    assert EXACTMAX_WRITE_RETRY_POLICY.jitter == 0.5 and EXACTMAX_WRITE_RETRY_POLICY.max_attempts == 3
    assert EXACTMAX_WRITE_RETRY_POLICY.backoff_seconds(1, random.Random(0)) >= 0.5


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("0.25", 0.25), ("-2", 0.0), (None, None),
                                                  ("", None), ("soon", None)])
def test_retry_after_header_in_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_header_as_an_http_date_and_a_default_when_unreadable():
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= parse_retry_after(in_ten) <= 10
    assert parse_retry_after("soon", 1.0) == 1.0
    assert parse_retry_after(None, 1.0) == 1.0


def test_shopify_counts_exact_waits_apart_from_backoff_retries():
    retries = Retries(RetryPolicy(max_attempts=3, max_throttle_retries=2), api="shopify", operation="Shop")
    for _ in range(2):
        retries.after_failure(RetryReason.THROTTLED, retry_after=0.1)
        retries.after_failure(RetryReason.UNAVAILABLE, status=503)
    assert not retries.exhausted  # 2 of 2 exact-wait retries, 2 of 2 back-off retries
    retries.after_failure(RetryReason.RATE_LIMITED, retry_after=1.0)
    assert retries.exhausted


def test_max_counts_429_with_every_other_retry():
    retries = Retries(EXACTMAX_READ_RETRY_POLICY, api="exactmax", operation="GET /stock")
    for _ in range(4):
        retries.after_failure(RetryReason.RATE_LIMITED, retry_after=0.0)
        assert not retries.exhausted
    retries.after_failure(RetryReason.UNAVAILABLE, status=503)
    assert retries.exhausted  # the 5th send failed: read_attempts is 5


def test_each_retry_is_one_log_line_and_giving_up_says_so(caplog):
    caplog.set_level(logging.WARNING)
    retries = Retries(RetryPolicy(max_attempts=2), api="shopify", operation="Locations", rng=random.Random(0))
    retries.after_failure(RetryReason.CONNECTION, error=ShopifyConnectionError("ReadTimeout"))
    retries.after_failure(RetryReason.UNAVAILABLE, status=502)
    first, last = [r.getMessage() for r in caplog.records]
    assert first.startswith("shopify op=Locations retry=1/1 wait=")
    assert first.endswith("reason=connection status=- error=ShopifyConnectionError")
    assert last == "shopify op=Locations gave up after 1 retries reason=unavailable status=502 error=-"
    assert {r.name for r in caplog.records} == {"shopify_max.shopify"}
