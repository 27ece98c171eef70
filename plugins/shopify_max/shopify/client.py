"""The Shopify Admin GraphQL client: one POST per request, paced by cost, retried only where safe.

What is retried, how long each wait is and how often: :mod:`shopify_max.retry_policy` (THROTTLED and 429 wait
exactly what Shopify says; 5xx and transport faults back off; 401/403/404 and GraphQL errors raise a typed
error at once). Pacing before each request: :mod:`shopify_max.shopify.pacing`.
``userErrors`` are data, returned to the caller. Logs carry operation, cost and wait, never the token.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from shopify_max.dry_run import refuse_write_in_dry_run
from shopify_max.redaction import redact_text, register_secret
from shopify_max.retry_policy import (
    SHOPIFY_RETRY_POLICY,
    Retries,
    RetryPolicy,
    RetryReason,
    parse_retry_after,
    shopify_retry_reason,
)
from shopify_max.shopify.documents import Document
from shopify_max.shopify.errors import (
    ShopifyAuthenticationError,
    ShopifyConnectionError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyNotFoundError,
    ShopifyOutcomeUnknownError,
    ShopifyPermissionError,
    ShopifyQueryCostError,
    ShopifyRateLimitedError,
    ShopifyRetryExhaustedError,
    ShopifyThrottledError,
    ShopifyUnavailableError,
)
from shopify_max.shopify.limits import MAX_PAGE_SIZE
from shopify_max.shopify.pacing import MUTATION_COST, CostPacer, throttle_wait_seconds

log = logging.getLogger("shopify_max.shopify")
DEFAULT_API_VERSION = "2026-07"
# Mutations whose repetition cannot apply twice even without @idempotent (set semantics or upserts; a customerSet
# create without an identifier is safe only by its e-mail or phone, which Shopify keeps unique).
NATURALLY_IDEMPOTENT_MUTATIONS = frozenset({"TagsAdd", "MetafieldsSet", "CustomerSet", "CustomerSetAccount",
                                            "ProductVariantsBulkUpdate"})


@dataclass
class GraphQLResponse:
    """A successful response: ``data`` plus the cost block, and how long the client waited for it."""

    operation: str
    data: dict[str, Any]
    cost: dict[str, Any] = field(default_factory=dict)
    waited_seconds: float = 0.0
    attempts: int = 1

    @property
    def requested_cost(self) -> float | None:
        return self.cost.get("requestedQueryCost")

    @property
    def actual_cost(self) -> float | None:
        return self.cost.get("actualQueryCost")


@dataclass
class ClientStats:
    requests: int = 0
    throttled_retries: int = 0
    rate_limited_retries: int = 0
    transient_retries: int = 0
    waited_seconds: float = 0.0
    actual_cost: float = 0.0
    last_throttle_cost: dict[str, Any] | None = None  # the cost block of the last THROTTLED response


class ShopifyClient:
    """Send documents from :mod:`shopify_max.shopify.documents` to one shop. Usable without Airflow."""

    def __init__(self, shop_url: str, access_token: str, api_version: str = DEFAULT_API_VERSION, *,
                 timeout: float = 30.0, retry: RetryPolicy | None = None, pacer: CostPacer | None = None,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        register_secret(access_token)
        self.endpoint = f"{shop_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self.api_version = api_version
        self._token = access_token
        self.timeout = timeout
        self.retry = retry or SHOPIFY_RETRY_POLICY
        self.pacer = pacer or CostPacer()
        self.session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.stats = ClientStats()

    def clone(self) -> ShopifyClient:
        """A client for another thread: its own HTTP session, the same shop, token, retry policy and pacer
        (so concurrent senders share one view of the cost bucket)."""
        return ShopifyClient(self.endpoint.rsplit("/admin/api/", 1)[0], self._token, self.api_version,
                             timeout=self.timeout, retry=self.retry, pacer=self.pacer, sleep=self._sleep)

    def __repr__(self) -> str:  # never show the token
        return f"ShopifyClient({self.endpoint!r})"

    # ----- one request -----
    def execute(self, document: Document, variables: dict[str, Any] | None = None) -> GraphQLResponse:
        """Send ``document``; pace, retry what :func:`shopify_retry_reason` names, raise typed errors for the rest."""
        operation = document.operation_name
        if document.is_mutation and operation != "BulkOperationRunQuery":
            refuse_write_in_dry_run(f"Shopify mutation {operation}")
        waited = 0.0
        retries = Retries(self.retry, api="shopify", operation=operation, rng=self._rng)
        while True:
            wait, reserved = self.pacer.reserve(operation, MUTATION_COST if document.is_mutation else None)
            if wait > 0:
                self._sleep(wait)
                waited += wait
            started = time.perf_counter()
            cost_extension: dict[str, Any] | None = None
            try:
                payload = self._post(document, variables)
                cost_extension = (payload.get("extensions") or {}).get("cost")
                self._raise_for_graphql_errors(payload, operation)
            except ShopifyError as error:
                self.pacer.observe(reserved, cost_extension, operation)
                reason = shopify_retry_reason(error)
                if reason is None:
                    raise
                if reason.request_may_have_run and not _safe_to_resend(document):
                    raise ShopifyOutcomeUnknownError(
                        f"{operation}: {error}; not retried because the mutation is not idempotent, "
                        "re-read its target before trying again", operation=operation) from None
                self._count_retry(reason)
                delay = retries.after_failure(reason, retry_after=error.retry_after, status=error.status, error=error)
                if retries.exhausted:
                    raise ShopifyRetryExhaustedError(
                        f"{operation}: gave up after {retries.retries - 1} retries ({error})", operation=operation,
                        retry_after=error.retry_after) from None
                self._sleep(delay)
                waited += delay
                continue
            self.pacer.observe(reserved, cost_extension, operation)
            cost_extension = cost_extension or {}
            status = cost_extension.get("throttleStatus") or {}
            self.stats.requests += 1
            self.stats.waited_seconds += waited
            self.stats.actual_cost += float(cost_extension.get("actualQueryCost") or 0)
            log.info("shopify op=%s cost=%s/%s available=%s/%s wait=%.3fs took=%.3fs attempts=%d", operation,
                     cost_extension.get("actualQueryCost"), cost_extension.get("requestedQueryCost"),
                     status.get("currentlyAvailable"), status.get("maximumAvailable"), waited,
                     time.perf_counter() - started, retries.retries + 1)
            return GraphQLResponse(operation, payload.get("data") or {}, cost_extension, waited, retries.retries + 1)

    def _count_retry(self, reason: RetryReason) -> None:
        if reason is RetryReason.THROTTLED:
            self.stats.throttled_retries += 1
        elif reason is RetryReason.RATE_LIMITED:
            self.stats.rate_limited_retries += 1
        else:
            self.stats.transient_retries += 1

    def _post(self, document: Document, variables: dict[str, Any] | None) -> dict[str, Any]:
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json",
                   "Accept": "application/json"}
        body = {"query": document.text, "variables": variables or {}, "operationName": document.operation_name}
        try:
            response = self.session.post(self.endpoint, json=body, headers=headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise ShopifyConnectionError(f"{type(exc).__name__}", operation=document.operation_name) from None
        return self._classify(response, document.operation_name)

    def _classify(self, response: requests.Response, operation: str) -> dict[str, Any]:
        """Turn an HTTP response into a payload or a typed error (never a bare HTTPError)."""
        status = response.status_code
        if status == 429:  # no or an unreadable Retry-After: Shopify's documented default, 1 s
            raise ShopifyRateLimitedError("HTTP 429", status=status, operation=operation,
                                          retry_after=parse_retry_after(response.headers.get("Retry-After"), 1.0))
        if status >= 500:
            raise ShopifyUnavailableError(f"HTTP {status}", status=status, operation=operation)
        text = redact_text(response.text[:300])
        if status == 401:
            raise ShopifyAuthenticationError(f"{operation}: 401 Unauthorized, the access token was rejected: {text}",
                                             status=status, operation=operation)
        if status == 403:
            raise ShopifyPermissionError(f"{operation}: 403 Forbidden, missing access scope: {text}", status=status,
                                         operation=operation)
        if status == 404:
            raise ShopifyNotFoundError(f"{operation}: 404 Not Found, check the shop domain and API version "
                                       f"({self.api_version})", status=status, operation=operation)
        if status != 200:
            raise ShopifyGraphQLError(f"{operation}: HTTP {status}: {text}", status=status, operation=operation)
        try:
            return response.json()
        except ValueError:
            raise ShopifyConnectionError("truncated or non-JSON body", status=status,  # dropped mid-body
                                         operation=operation) from None

    def _raise_for_graphql_errors(self, payload: dict[str, Any], operation: str) -> None:
        errors = payload.get("errors")
        if not errors:
            return
        if isinstance(errors, (str, dict)):
            raise ShopifyGraphQLError(f"{operation}: {redact_text(str(errors))}", status=200, operation=operation)
        codes = [(e.get("extensions") or {}).get("code") for e in errors]
        if "THROTTLED" in codes:
            cost = (payload.get("extensions") or {}).get("cost") or {}
            self.stats.last_throttle_cost = cost
            status = cost.get("throttleStatus")
            wait = throttle_wait_seconds(cost.get("requestedQueryCost") or 0, status) if status else 1.0
            raise ShopifyThrottledError("THROTTLED", status=200, operation=operation, retry_after=wait)
        messages = "; ".join(str(e.get("message")) for e in errors)
        error_class = ShopifyQueryCostError if "MAX_COST_EXCEEDED" in codes else ShopifyGraphQLError
        raise error_class(f"{operation}: {messages}", status=200, operation=operation, errors=errors)

    # ----- pagination -----
    def paginate(self, document: Document, variables: dict[str, Any], connection_path: tuple[str, ...],
                 page_size: int = 50) -> Iterator[dict[str, Any]]:
        """Yield every node of the connection at ``connection_path`` (``pageInfo.hasNextPage/endCursor``)."""
        if not 0 < page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        after: str | None = None
        while True:
            response = self.execute(document, {**variables, "first": page_size, "after": after})
            connection: Any = response.data
            for key in connection_path:
                connection = (connection or {}).get(key)
            if connection is None:
                return
            nodes = connection.get("nodes")
            if nodes is None:
                nodes = [edge["node"] for edge in connection.get("edges", [])]
            yield from nodes
            page_info = connection["pageInfo"]
            if not page_info["hasNextPage"]:
                return
            after = page_info["endCursor"]


def _safe_to_resend(document: Document) -> bool:
    """Queries, keyed mutations and set-like mutations may be resent after a fault with an unknown outcome."""
    return (not document.is_mutation or document.uses_idempotent_key
            or document.operation_name in NATURALLY_IDEMPOTENT_MUTATIONS)
