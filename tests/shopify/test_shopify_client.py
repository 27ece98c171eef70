"""The client against the sandbox over real HTTP: pacing, retries, typed errors, logs without tokens."""

from __future__ import annotations

import logging
import threading

import pytest
from shopify_helpers import TOKEN, make_client

from shopify_max.shopify import documents, fulfilment_documents
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.client import RetryPolicy
from shopify_max.shopify.documents import Document
from shopify_max.shopify.errors import (
    ShopifyAuthenticationError,
    ShopifyGraphQLError,
    ShopifyNotFoundError,
    ShopifyOutcomeUnknownError,
    ShopifyPermissionError,
    ShopifyQueryCostError,
    ShopifyRetryExhaustedError,
)
from shopify_max.shopify.models import InventoryQuantity


class RecordingSleep:
    """Really sleeps, and remembers each wait (optionally running a hook after the first)."""

    def __init__(self, after_first=None) -> None:
        self.waits: list[float] = []
        self.after_first = after_first

    def __call__(self, seconds: float) -> None:
        import time

        self.waits.append(seconds)
        time.sleep(seconds)
        if self.after_first is not None and len(self.waits) == 1:
            self.after_first()


def _first_levels(api: ShopifyAdminApi, count: int):
    skus = [f"SKU-{n:05d}" for n in range(1, count + 1)]
    refs = [refs[0] for refs in api.find_variants_by_sku(skus).matches.values() if refs]
    return api.inventory_levels([ref.inventory_item_id for ref in refs])


@pytest.mark.slow  # paces 800 points through a 40-point bucket on the real clock
def test_pacing_keeps_a_long_run_free_of_throttling(sandbox, admin):
    """A small bucket (40 points, 200/s) and 80 mutations of 10 points: the pacer waits, Shopify never throttles."""
    client = make_client(sandbox)
    api = ShopifyAdminApi(client)
    levels = _first_levels(api, 20)
    admin.post("bucket", {"bucket_size": 40, "restore_rate": 200})
    before = admin.get("state")["stats"].get("throttled", 0)
    for round_number in range(4):
        for level in levels[:20]:
            result = api.set_available_quantities(
                [InventoryQuantity(inventory_item_id=level.inventory_item_id, location_id=level.location_id,
                                   quantity=round_number, change_from_quantity=None)],
                reason="correction", idempotency_key=f"pacing-{round_number}-{level.inventory_item_id}-"
                                                     f"{level.location_id}")
            assert result.ok
    assert admin.get("state")["stats"].get("throttled", 0) == before
    assert client.stats.throttled_retries == 0
    assert client.stats.waited_seconds > 0  # it had to pace: 800 points through a 40-point bucket
    state = client.pacer.state
    assert (state.maximum_available, state.restore_rate) == (40, 200)  # learned from responses, not constants


@pytest.mark.slow  # paced on the real clock
def test_concurrent_callers_share_the_pacer_and_never_see_throttled(sandbox, admin):
    client = make_client(sandbox)
    admin.post("bucket", {"bucket_size": 50, "restore_rate": 300})
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(25):
                client.execute(documents.LOCATIONS, {"first": 3})
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert client.stats.requests == 100


def test_throttled_waits_exactly_what_the_throttle_status_says(sandbox, admin):
    admin.post("bucket", {"bucket_size": 1000, "restore_rate": 20, "currently_available": 0})
    sleep = RecordingSleep()
    client = make_client(sandbox, sleep=sleep)
    response = client.execute(documents.LOCATIONS, {"first": 5})  # requested cost 2 + 5 nodes × 1 = 7
    assert response.data["locations"]["nodes"]
    assert client.stats.throttled_retries == 1
    throttled = client.stats.last_throttle_cost
    status = throttled["throttleStatus"]
    assert throttled["requestedQueryCost"] == 7 and status["restoreRate"] == 20
    assert status["currentlyAvailable"] < 7
    assert sleep.waits[0] == (7 - status["currentlyAvailable"]) / 20  # exactly what the numbers say


def test_429_waits_exactly_retry_after_then_succeeds(sandbox, admin):
    admin.post("faults", {"throttle_429_rate": 1.0, "retry_after_seconds": 0.3})
    sleep = RecordingSleep(after_first=lambda: admin.post("faults", {"throttle_429_rate": 0}))
    client = make_client(sandbox, sleep=sleep)
    assert client.execute(documents.SHOP).data["shop"]["name"]
    assert sleep.waits[0] == 0.3
    assert client.stats.rate_limited_retries == 1


def test_throttled_storms_are_absorbed(sandbox, admin):
    admin.post("bucket", {"bucket_size": 200, "restore_rate": 1000})
    admin.post("faults", {"storm_rate": 0.3})
    client = make_client(sandbox)
    for _ in range(20):
        client.execute(documents.LOCATIONS, {"first": 3})
    assert client.stats.throttled_retries > 0


@pytest.mark.parametrize("knob", ["error_5xx_rate", "drop_rate"])
def test_5xx_and_dropped_connections_are_retried_with_backoff(sandbox, admin, knob):
    admin.post("faults", {knob: 0.3})
    client = make_client(sandbox, retry=RetryPolicy(max_attempts=12, backoff_base_seconds=0.005,
                                                    backoff_cap_seconds=0.02))
    for _ in range(30):
        assert client.execute(documents.SHOP).data["shop"]["id"] == "gid://shopify/Shop/1"
    assert client.stats.transient_retries > 0


def test_timeouts_are_retried(sandbox, admin):
    admin.post("faults", {"latency_ms": 300})
    sleep = RecordingSleep(after_first=lambda: admin.post("faults", {"latency_ms": 0}))
    client = make_client(sandbox, timeout=0.1, sleep=sleep)
    assert client.execute(documents.SHOP).data["shop"]
    assert client.stats.transient_retries >= 1


def test_persistent_5xx_ends_in_a_typed_error_after_the_retry_budget(sandbox, admin):
    admin.post("faults", {"error_5xx_rate": 1.0})
    before = admin.get("state")["stats"].get("errors_5xx", 0)
    client = make_client(sandbox, retry=RetryPolicy(max_attempts=3, backoff_base_seconds=0.01))
    with pytest.raises(ShopifyRetryExhaustedError, match="HTTP 503"):
        client.execute(documents.SHOP)
    assert admin.get("state")["stats"]["errors_5xx"] - before == 3


def test_a_non_idempotent_mutation_is_not_resent_after_a_5xx(sandbox, admin):
    admin.post("faults", {"error_5xx_rate": 1.0})
    client = make_client(sandbox)
    with pytest.raises(ShopifyOutcomeUnknownError):
        client.execute(fulfilment_documents.FULFILLMENT_CREATE, {"fulfillment": {"lineItemsByFulfillmentOrder": []}})
    assert client.stats.transient_retries == 0


def test_401_raises_authentication_error_without_retrying(sandbox, admin):
    before = admin.get("state")["stats"].get("unauthorised", 0)
    client = make_client(sandbox, token="shpat_wrongwrongwrongwrong")
    with pytest.raises(ShopifyAuthenticationError) as caught:
        client.execute(documents.SHOP)
    assert caught.value.status == 401
    assert admin.get("state")["stats"]["unauthorised"] - before == 1
    assert "shpat_wrong" not in str(caught.value)


def test_404_for_an_unknown_api_version_names_the_version(sandbox, admin):
    client = make_client(sandbox, api_version="2019-04")
    with pytest.raises(ShopifyNotFoundError, match="2019-04"):
        client.execute(documents.SHOP)


def test_graphql_validation_errors_are_typed_and_not_retried(sandbox, admin):
    client = make_client(sandbox)
    bad = Document("Bad", "query Bad { shop { id nameThatDoesNotExist } }")
    with pytest.raises(ShopifyGraphQLError) as caught:
        client.execute(bad)
    assert "nameThatDoesNotExist" in str(caught.value)
    assert caught.value.codes == ["undefinedField"]
    assert client.stats.transient_retries == 0


def test_a_query_above_the_single_query_cost_limit_raises_query_cost_error(sandbox, admin):
    client = make_client(sandbox)
    with pytest.raises(ShopifyQueryCostError, match="exceeds the single query max cost"):
        client.execute(documents.ORDERS_UPDATED, {"first": 50, "query": "", "linesFirst": 100})


def test_logs_name_operation_cost_and_wait_and_never_the_token(sandbox, admin, caplog, capfd):
    caplog.set_level(logging.INFO, logger="shopify_max.shopify")
    client = make_client(sandbox)
    client.execute(documents.LOCATIONS, {"first": 3})
    with pytest.raises(ShopifyAuthenticationError):
        make_client(sandbox, token="shpat_anotherwrongtoken123").execute(documents.SHOP)
    lines = [r.getMessage() for r in caplog.records if r.name == "shopify_max.shopify"]
    assert any("op=Locations" in line and "cost=" in line and "wait=" in line for line in lines)
    out, err = capfd.readouterr()
    for text in ["\n".join(lines), out, err, caplog.text, repr(client)]:
        assert TOKEN not in text
        assert "shpat_anotherwrongtoken123" not in text


def test_paginate_follows_cursors_and_refuses_pages_over_250(client):
    nodes = list(client.paginate(documents.LOCATIONS, {}, ("locations",), page_size=1))
    assert len(nodes) == 3 and len({n["id"] for n in nodes}) == 3
    with pytest.raises(ValueError):
        list(client.paginate(documents.LOCATIONS, {}, ("locations",), page_size=251))


def test_403_raises_permission_error_without_retrying():
    """A shop that refuses the app's scopes (a plain loopback server answering 403)."""
    import http.server

    hits: list[str] = []

    class Forbidden(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"errors":"[API] This action requires merchant approval for write_inventory scope."}'
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        from shopify_max.shopify.client import ShopifyClient

        client = ShopifyClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
        with pytest.raises(ShopifyPermissionError, match="write_inventory"):
            client.execute(documents.SHOP)
        assert len(hits) == 1
    finally:
        server.shutdown()
        server.server_close()
