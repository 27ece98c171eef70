"""Typed errors of the Shopify client: each names its cause, so callers and Airflow retries can tell them apart.

Only transport faults, 5xx, 429 and THROTTLED are retried (inside the client); everything here that reaches a
caller is final for that request. ``userErrors`` are not exceptions: they come back in typed results.
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


class ShopifyRetryExhaustedError(ShopifyError):
    """5xx, timeouts, dropped connections or throttling persisted beyond the retry budget."""


class ShopifyOutcomeUnknownError(ShopifyError):
    """A non-idempotent mutation hit a 5xx or transport fault: it may or may not have applied. Re-read first."""


class ShopifyBulkOperationError(ShopifyError):
    """A bulk operation ended FAILED, CANCELED or EXPIRED, or could not start."""
