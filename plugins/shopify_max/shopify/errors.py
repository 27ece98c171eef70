"""Typed errors of the Shopify client: each names its cause, so callers and Airflow retries can tell them apart.

THROTTLED, 429, 5xx and transport faults are retried inside the client (the rules:
:mod:`shopify_max.retry_policy`); when it gives up the caller gets :class:`ShopifyRetryExhaustedError` or
:class:`ShopifyOutcomeUnknownError`. Everything else here is final for that request. ``userErrors`` are not
exceptions: they come back in typed results.
"""

from __future__ import annotations

from typing import Any


class ShopifyError(Exception):
    """Base class for every error the Shopify client raises."""

    def __init__(self, message: str, *, status: int | None = None, operation: str | None = None,
                 retry_after: float | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.operation = operation
        self.retry_after = retry_after
        self.errors = errors or []


class ShopifyAuthenticationError(ShopifyError):
    """401: the access token is missing, wrong or revoked. Not retried."""


class ShopifyPermissionError(ShopifyError):
    """403: the app lacks an access scope for this operation. Not retried."""


class ShopifyNotFoundError(ShopifyError):
    """404: wrong shop domain or API version. Not retried."""


class ShopifyGraphQLError(ShopifyError):
    """The document was rejected (validation, bad arguments, MAX_COST_EXCEEDED) or failed. Not retried."""

    @property
    def codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code")) for e in self.errors]


class ShopifyQueryCostError(ShopifyGraphQLError):
    """MAX_COST_EXCEEDED: the document asks for more than one query may cost; use smaller pages or bulk."""


class ShopifyConfigurationError(ShopifyError):
    """The ``shopify_default`` connection is incomplete (no shop domain). Not retried: a person fixes it."""


class ShopifyThrottledError(ShopifyError):
    """THROTTLED (HTTP 200): the cost bucket is empty; ``retry_after`` is the exact wait its numbers give."""


class ShopifyRateLimitedError(ShopifyError):
    """429: too many requests; ``retry_after`` from the header."""


class ShopifyUnavailableError(ShopifyError):
    """5xx: Shopify (or the bulk result's storage) could not answer. The request may have run."""


class ShopifyConnectionError(ShopifyError):
    """No complete answer: connection refused or dropped, a timeout, a truncated body. The request may have run."""


class ShopifyRetryExhaustedError(ShopifyError):
    """5xx, timeouts, dropped connections or throttling persisted beyond the retry budget."""


class ShopifyOutcomeUnknownError(ShopifyError):
    """A non-idempotent mutation hit a 5xx or transport fault: it may or may not have applied. Re-read first."""


class ShopifyBulkOperationError(ShopifyError):
    """A bulk operation ended FAILED, CANCELED or EXPIRED, or could not start."""
