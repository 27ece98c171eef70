"""Which task failures Airflow retries, and which fail the task at once.

A passing failure (an outage, a timeout, throttling beyond the client's budget, a MAX write that could not be
settled) fails the task, and Airflow retries it (``DEFAULT_ARGS``). A failure that cannot pass by waiting fails
the task at once, without retries, so on-call learns of it at the first try and not three back-offs later:

- **authentication**: ``ShopifyAuthenticationError`` (401, or no token), ``ShopifyPermissionError`` (403),
  ``ExactMaxAuthError`` (401/403);
- **configuration**: a connection or Variable that is missing (``AirflowNotFoundException``) or invalid
  (``ShopifyConfigurationError``, ``ShopifyNotFoundError``: a 404 for the shop domain or API version,
  ``ExactMaxConfigurationError``, ``SyncStoreConnectionError``, ``InvalidVariableError``) or DAG-run params
  that make no sense (``InvalidParamsError``: a reversed or empty backfill window);
- **whole batch refused**: ``InventoryPushError`` (Shopify refused a whole batch, e.g. an unknown reason code);
- **mapping file**: ``MappingFileError`` (a file in ``include/mappings/`` is missing or wrong).

Every task body in ``airflow_glue`` wears :func:`fails_at_once_when_retrying_cannot_help`, which turns these
into ``AirflowFailException``, keeping the original type name and message. Retries inside one try (HTTP
calls) are :mod:`shopify_max.retry_policy`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class InvalidParamsError(ValueError):
    """A DAG run's params cannot be acted on (a window that ends before it starts): trigger it again with
    other params; retrying the same ones cannot help."""


class PermanentFailure(StrEnum):
    """Why retrying the task cannot help; a person must act first."""

    AUTHENTICATION = "authentication"
    CONFIGURATION = "configuration"
    WHOLE_BATCH_REFUSED = "whole batch refused"
    MAPPING_FILE = "mapping file"
    DRY_RUN_WRITE = "a write attempted in a dry run"  # a bug in a dry-run path: the same run would refuse again


@functools.cache
def _never_retried() -> tuple[tuple[PermanentFailure, tuple[type[BaseException], ...]], ...]:
    # Imported on first use: the glue modules import this one, and task bodies import their libraries lazily.
    from airflow.sdk.exceptions import AirflowNotFoundException

    from shopify_max.airflow_glue.sync_store_hook import SyncStoreConnectionError
    from shopify_max.airflow_glue.variables import InvalidVariableError
    from shopify_max.dry_run import DryRunWriteRefused
    from shopify_max.exactmax.errors import ExactMaxAuthError, ExactMaxConfigurationError
    from shopify_max.inventory.push import InventoryPushError
    from shopify_max.mappings import MappingFileError
    from shopify_max.shopify.errors import (
        ShopifyAuthenticationError,
        ShopifyConfigurationError,
        ShopifyNotFoundError,
        ShopifyPermissionError,
    )

    return (
        (PermanentFailure.AUTHENTICATION, (ShopifyAuthenticationError, ShopifyPermissionError, ExactMaxAuthError)),
        (PermanentFailure.CONFIGURATION, (AirflowNotFoundException, ShopifyConfigurationError, ShopifyNotFoundError,
                                          ExactMaxConfigurationError, SyncStoreConnectionError, InvalidVariableError,
                                          InvalidParamsError)),
        (PermanentFailure.WHOLE_BATCH_REFUSED, (InventoryPushError,)),
        (PermanentFailure.MAPPING_FILE, (MappingFileError,)),
        (PermanentFailure.DRY_RUN_WRITE, (DryRunWriteRefused,)),
    )


def permanent_failure(exc: BaseException) -> PermanentFailure | None:
    """The kind of ``exc`` when retrying the task cannot help; None for everything Airflow should retry."""
    for kind, errors in _never_retried():
        if isinstance(exc, errors):
            return kind
    return None


def fails_at_once_when_retrying_cannot_help(body: Callable[P, R]) -> Callable[P, R]:
    """Wrap a task body: a :func:`permanent_failure` becomes ``AirflowFailException`` (no retries); every other
    error passes through unchanged, so Airflow retries it."""

    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return body(*args, **kwargs)
        except Exception as exc:
            kind = permanent_failure(exc)
            if kind is None:
                raise
            from airflow.sdk.exceptions import AirflowFailException

            log.error("%s: %s error, failing the task without retries: %s: %s", body.__name__, kind,
                      type(exc).__name__, exc)
            raise AirflowFailException(f"{kind} error (not retried): {type(exc).__name__}: {exc}") from exc

    return run
