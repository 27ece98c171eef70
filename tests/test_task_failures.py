"""Task failures that retrying cannot fix fail the task at once (``AirflowFailException``); passing ones are left
for Airflow's retries. One test per kind runs a real task body into the error; the DAG-run proof is in
``tests/dags/test_permanent_failures.py``."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from shopify_max.airflow_glue import inventory_tasks, order_tasks, store_tasks
from shopify_max.airflow_glue.sync_store_hook import SyncStoreConnectionError
from shopify_max.airflow_glue.task_failures import (
    PermanentFailure,
    fails_at_once_when_retrying_cannot_help,
    permanent_failure,
)
from shopify_max.airflow_glue.variables import InvalidVariableError
from shopify_max.dry_run import DryRunWriteRefused
from shopify_max.exactmax.errors import (
    ExactMaxAmbiguousWriteError,
    ExactMaxAuthError,
    ExactMaxConfigurationError,
    ExactMaxConnectionError,
    ExactMaxUnavailableError,
)
from shopify_max.inventory.push import InventoryPushError
from shopify_max.mappings import MappingFileError
from shopify_max.orders.write_lease import WriteLeaseHeld
from shopify_max.shopify.errors import (
    ShopifyAuthenticationError,
    ShopifyConfigurationError,
    ShopifyNotFoundError,
    ShopifyOutcomeUnknownError,
    ShopifyPermissionError,
    ShopifyRetryExhaustedError,
)


@pytest.fixture
def sync_store_connection(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'store.sqlite'}"}}))


def _fails_at_once(call, kind: PermanentFailure, error_type: type[BaseException]) -> AirflowFailException:
    with pytest.raises(AirflowFailException) as raised:
        call()
    assert type(raised.value.__cause__) is error_type
    assert str(raised.value).startswith(f"{kind} error (not retried): {error_type.__name__}: ")
    assert str(raised.value.__cause__) in str(raised.value)  # the original message, whole
    return raised.value


@pytest.mark.parametrize(("error", "kind"), [
    (ShopifyAuthenticationError("401", status=401), PermanentFailure.AUTHENTICATION),
    (ShopifyPermissionError("403", status=403), PermanentFailure.AUTHENTICATION),
    (ExactMaxAuthError("gateway refused the credentials (403)", 403), PermanentFailure.AUTHENTICATION),
    (AirflowNotFoundException("The conn_id `exactmax_default` isn't defined"), PermanentFailure.CONFIGURATION),
    (ShopifyConfigurationError("no host"), PermanentFailure.CONFIGURATION),
    (ShopifyNotFoundError("404, check the shop domain and API version", status=404), PermanentFailure.CONFIGURATION),
    (ExactMaxConfigurationError("no host"), PermanentFailure.CONFIGURATION),
    (SyncStoreConnectionError("type mysql"), PermanentFailure.CONFIGURATION),
    (InvalidVariableError("Airflow Variable x must be …"), PermanentFailure.CONFIGURATION),
    (InventoryPushError("refused the whole batch"), PermanentFailure.WHOLE_BATCH_REFUSED),
    (MappingFileError("sku_to_part.csv line 4: …"), PermanentFailure.MAPPING_FILE),
    (DryRunWriteRefused("dry run: Shopify mutation CustomerSet would have been sent"), PermanentFailure.DRY_RUN_WRITE),
])
def test_errors_that_cannot_pass_are_classified_by_kind(error, kind):
    assert permanent_failure(error) == kind


@pytest.mark.parametrize("error", [
    ExactMaxUnavailableError("down", 503), ExactMaxConnectionError("timeout", request_sent=True),
    ExactMaxAmbiguousWriteError("CUSTPO '#1001': outcome unknown"), ShopifyRetryExhaustedError("gave up"),
    ShopifyOutcomeUnknownError("re-read first"), WriteLeaseHeld("held by another attempt"), RuntimeError("a bug?"),
])
def test_passing_failures_are_left_for_airflow_to_retry(error):
    assert permanent_failure(error) is None

    @fails_at_once_when_retrying_cannot_help
    def body() -> None:
        raise error

    with pytest.raises(type(error)):
        body()


def test_the_decorator_keeps_the_return_value_and_the_name_of_the_body():
    @fails_at_once_when_retrying_cannot_help
    def summarise_run() -> dict:
        return {"read": 1}

    assert summarise_run() == {"read": 1} and summarise_run.__name__ == "summarise_run"


def test_authentication_a_shopify_connection_without_a_token_fails_capture_at_once(monkeypatch, sync_store_connection):
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({"conn_type": "http", "host": "shop.example"}))
    _fails_at_once(lambda: order_tasks.capture_orders("run-1", {}, None, None, "capture_orders"),
                   PermanentFailure.AUTHENTICATION, ShopifyAuthenticationError)


def test_configuration_a_missing_max_connection_fails_validation_at_once(monkeypatch, sync_store_connection):
    monkeypatch.delenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", raising=False)
    failure = _fails_at_once(lambda: order_tasks.validate_orders("run-1", "validate_sales_orders"),
                             PermanentFailure.CONFIGURATION, AirflowNotFoundException)
    assert "exactmax_default" in str(failure)


def test_configuration_an_unsupported_sync_store_connection_fails_at_once(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN_STORE", json.dumps({"conn_type": "mysql", "host": "x"}))
    _fails_at_once(lambda: store_tasks.prepare_sync_store("broken_store"), PermanentFailure.CONFIGURATION,
                   SyncStoreConnectionError)


@pytest.mark.parametrize(("variable", "value", "call"), [
    ("ORDERS_WRITE_LEASE_SECONDS", "ten minutes", lambda: order_tasks.export_orders("run-1", "export")),
    ("INVENTORY_FULL_RECONCILE_HOUR_UTC", "25", inventory_tasks.reconcile_hour_utc),
    ("PII_RETENTION_DAYS", "0", store_tasks.purge_expired_pii),
])
def test_configuration_a_bad_variable_fails_at_once_and_names_it(monkeypatch, sync_store_connection, variable, value,
                                                                  call):
    monkeypatch.setenv(f"AIRFLOW_VAR_{variable}", value)
    failure = _fails_at_once(call, PermanentFailure.CONFIGURATION, InvalidVariableError)
    assert variable.lower() in str(failure) and repr(value) in str(failure)


def test_whole_batch_refused_fails_the_push_at_once(monkeypatch):
    def refused(*_args, **_kwargs):  # what push_quantities raises (tests/inventory/test_push.py proves it does)
        raise InventoryPushError("InventorySetQuantities: Shopify refused the whole batch (INVALID_REASON: …)")

    monkeypatch.setattr("shopify_max.inventory.push.push_quantities", refused)
    monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps(
        {"conn_type": "http", "host": "shop.example", "password": "shpat_unused_in_this_test"}))
    monkeypatch.setattr(inventory_tasks, "open_sync_store", _no_store)
    _fails_at_once(lambda: inventory_tasks.push_changed_quantities("delta", "run-1", "push", None),
                   PermanentFailure.WHOLE_BATCH_REFUSED, InventoryPushError)


def test_a_broken_mapping_file_fails_mapping_at_once(monkeypatch, sync_store_connection, tmp_path):
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(tmp_path / "no-mappings-here"))
    failure = _fails_at_once(lambda: order_tasks.map_orders("run-1"), PermanentFailure.MAPPING_FILE,
                             MappingFileError)
    assert "sku_to_part.csv: file is missing" in str(failure)


class _no_store:  # noqa: N801 - stands in for the open_sync_store context manager
    def __enter__(self):  # noqa: ANN204
        return None

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        return None
