"""The bulk result download against the sandbox: faults on the download URL are retried under the client's retry
policy, a download cut short resumes (or restarts), and the caller never sees a row twice or half a row."""

from __future__ import annotations

import logging

import pytest
from shopify_helpers import make_client

from shopify_max.retry_policy import RetryPolicy
from shopify_max.shopify import bulk, documents
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.errors import ShopifyBulkOperationError, ShopifyRetryExhaustedError
from shopify_max.shopify.models import BulkOperation

DOWNLOAD_FAULTS = {"bulk_download_drops": 0, "bulk_download_5xx": 0, "bulk_download_ranges": True}


@pytest.fixture
def download_faults(admin):
    """Set download faults for one test; always put them back."""
    yield lambda **knobs: admin.post("faults", {**DOWNLOAD_FAULTS, **knobs})
    admin.post("faults", DOWNLOAD_FAULTS)


@pytest.fixture(scope="module")
def finished_operation(sandbox) -> BulkOperation:
    """One completed bulk operation (every inventory level): its result file is downloaded by each test."""
    runner = BulkOperationRunner(make_client(sandbox), poll_interval=0.05)
    return runner.wait(runner.start(documents.BULK_ALL_INVENTORY_LEVELS))


@pytest.fixture(autouse=True)
def small_read_chunks(monkeypatch):
    """Read the (small) sandbox file in 1 KiB chunks, so a cut half-way lands after whole lines were read."""
    monkeypatch.setattr(bulk, "DOWNLOAD_CHUNK_BYTES", 1024)


@pytest.fixture
def runner(sandbox) -> BulkOperationRunner:
    waits: list[float] = []
    runner = BulkOperationRunner(make_client(sandbox), poll_interval=0.05, sleep=waits.append)
    runner.waits = waits
    return runner


@pytest.fixture
def clean_rows(sandbox, finished_operation) -> list[dict]:
    return list(BulkOperationRunner(make_client(sandbox)).rows(finished_operation))


def _downloads(admin) -> dict[str, int]:
    stats = admin.get("state")["stats"]
    return {key: stats.get(key, 0) for key in ("bulk_downloads", "bulk_download_range_requests",
                                               "bulk_download_dropped", "bulk_download_5xx")}


def test_a_download_dropped_half_way_resumes_from_the_last_whole_line(admin, download_faults, runner,
                                                                      finished_operation, clean_rows):
    assert len(clean_rows) > 100  # a file long enough to be cut mid-way
    download_faults(bulk_download_drops=1)
    before = _downloads(admin)
    rows = list(runner.rows(finished_operation))
    after = _downloads(admin)
    assert rows == clean_rows  # every row once, in order: nothing lost, nothing doubled, no half line
    assert after["bulk_download_dropped"] - before["bulk_download_dropped"] == 1
    assert after["bulk_downloads"] - before["bulk_downloads"] == 2
    assert after["bulk_download_range_requests"] - before["bulk_download_range_requests"] == 1  # resumed
    assert len(runner.waits) == 1


def test_a_resumed_download_dropped_again_still_yields_each_row_once(admin, download_faults, runner,
                                                                     finished_operation, clean_rows):
    download_faults(bulk_download_drops=3)
    rows = list(runner.rows(finished_operation))
    assert rows == clean_rows
    assert len({(row["id"], row.get("__parentId")) for row in rows}) == len(rows)


def test_a_server_that_ignores_range_makes_the_download_restart_and_skip_what_was_read(
        admin, download_faults, runner, finished_operation, clean_rows):
    download_faults(bulk_download_drops=1, bulk_download_ranges=False)
    assert list(runner.rows(finished_operation)) == clean_rows


def test_5xx_on_the_download_is_retried_with_one_log_line_per_retry(admin, download_faults, runner,
                                                                    finished_operation, clean_rows, caplog):
    caplog.set_level(logging.WARNING, logger="shopify_max.shopify")
    download_faults(bulk_download_5xx=2)
    assert list(runner.rows(finished_operation)) == clean_rows
    lines = [r.getMessage() for r in caplog.records if "op=bulk result download" in r.getMessage()]
    assert len(lines) == 2 and all("reason=unavailable status=503" in line for line in lines)
    assert not any("_sandbox/bulk" in line for line in lines)  # the signed URL is never logged


def test_a_download_that_keeps_failing_ends_in_a_typed_error_after_the_retry_budget(
        admin, download_faults, sandbox, finished_operation):
    download_faults(bulk_download_5xx=10)
    before = _downloads(admin)
    runner = BulkOperationRunner(make_client(sandbox, retry=RetryPolicy(max_attempts=3, backoff_base_seconds=0.001)),
                                 sleep=lambda seconds: None)
    with pytest.raises(ShopifyRetryExhaustedError, match="bulk result download: gave up after 2 retries"):
        list(runner.rows(finished_operation))
    assert _downloads(admin)["bulk_download_5xx"] - before["bulk_download_5xx"] == 3


def test_an_expired_or_unknown_result_url_is_not_retried(admin, runner, finished_operation):
    before = _downloads(admin)
    gone = finished_operation.model_copy(update={"url": finished_operation.url.replace(".jsonl", "-gone.jsonl")})
    with pytest.raises(ShopifyBulkOperationError, match="HTTP 404") as raised:
        list(runner.rows(gone))
    assert raised.value.status == 404
    assert _downloads(admin)["bulk_downloads"] == before["bulk_downloads"]  # 404 before the counted path
    assert runner.waits == []
