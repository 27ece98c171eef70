"""The customer pass's per-record decisions on a real sync store (SQLite and PostgreSQL), with Shopify and MAX
writers that record what they are asked (the pass decides; the e2e test drives the real sandboxes):
duplicates in MAX are never created twice, a claimed customer never gets a web account, an e-mail a customer
already has is never upserted onto, every push is audited as it is made, and an id_map race is one record's
conflict, not a failed run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from shopify_max.dry_run import DryRunReport
from shopify_max.master_data.customer_run import CustomerSyncSettings, sync_customers
from shopify_max.master_data.customers import MatchSettings, MaxAccount, PushSettings, ShopifyCustomer
from shopify_max.sync_store.tables import audit_log


class RecordingShopify:
    def __init__(self, fail_after: int | None = None) -> None:
        self.calls: list[tuple[dict, dict]] = []
        self.fail_after = fail_after

    def set_customer_account(self, values, identifier):  # noqa: ANN001, ANN201
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise ConnectionError("Shopify went away")
        self.calls.append((values, identifier))
        gid = identifier.get("id") or f"gid://shopify/Customer/new-{len(self.calls)}"
        return SimpleNamespace(user_errors=[], customer=SimpleNamespace(id=gid))

    def get_customer(self, customer_id):  # noqa: ANN001, ANN201
        raise AssertionError("not expected in these cases")


class RecordingMax:
    def __init__(self) -> None:
        self.created: list = []

    def create_customer(self, customer):  # noqa: ANN001, ANN201
        self.created.append(customer)
        return SimpleNamespace(CUSTID=customer.CUSTID)


def run_pass(store, accounts, customers, *, shopify=None, max_gateway=None, dry_run=False, **settings):
    report = DryRunReport(flow="master_data")
    summary = sync_customers(
        store, accounts, customers,
        settings=CustomerSyncSettings(match=MatchSettings(**settings.pop("match", {})), push=PushSettings(),
                                      exclude_custids=frozenset({"WEB"}), **settings),
        exemptions_for=lambda account: ([], []), shopify=shopify or RecordingShopify(),
        max_gateway=max_gateway or RecordingMax(), new_max_account=lambda customer: SimpleNamespace(CUSTID="S1"),
        web_custid=lambda gid: None, run_id="test-run", dry_run=dry_run, report=report)
    return summary, report


def test_two_unmatched_accounts_with_one_email_are_a_duplicate_not_two_creates(sync_store):
    accounts = [MaxAccount("C1", "Cascade", email="Buyer@Cascade.example "),
                MaxAccount("C2", "Cascade Inc", email="buyer@cascade.example")]
    shopify = RecordingShopify()
    summary, report = run_pass(sync_store, accounts, [], shopify=shopify, unmatched_max_customers="create")
    assert shopify.calls == []
    assert summary["ambiguous"] == 2 and summary["created_in_shopify"] == 0
    items = {i.record_key for i in sync_store.select_errors(entity="customer", stage="match")}
    assert items == {"C1", "C2"}


def test_create_sends_the_normalised_email_and_never_upserts_onto_an_existing_customer(sync_store):
    accounts = [MaxAccount("NEW", "New Co", email=" Orders@New.example"),
                MaxAccount("TAKEN", "Taken Co", email="vip@shop.example")]
    customers = [ShopifyCustomer("gid://shopify/Customer/1", email="VIP@shop.example", tags=("vip",))]
    shopify = RecordingShopify()
    summary, report = run_pass(sync_store, accounts, customers, shopify=shopify, unmatched_max_customers="create",
                               match={"rules": ("custid_metafield",)})  # the email rule is left out
    assert [identifier for _values, identifier in shopify.calls] == [{"email": "orders@new.example"}]
    assert summary["created_in_shopify"] == 1 and summary["unmatched"] == 1
    taken = next(r for r in report.tables["customers"] if r["custid"] == "TAKEN")
    assert "already has e-mail vip@shop.example" in taken["outcome"]


def test_a_customer_two_accounts_claim_never_gets_a_web_account(sync_store):
    accounts = [MaxAccount("C1", "Cascade", email="buyer@cascade.example"),
                MaxAccount("C2", "Cascade Inc", email="buyer@cascade.example")]
    customers = [ShopifyCustomer("gid://shopify/Customer/7", email="buyer@cascade.example", number_of_orders=3)]
    max_gateway = RecordingMax()
    summary, report = run_pass(sync_store, accounts, customers, max_gateway=max_gateway,
                               web_customers_without_account="create")
    assert summary["ambiguous"] == 2 and summary["web_without_account"] == 0
    assert max_gateway.created == [] and sync_store.id_mappings("customer") == {}


def test_every_push_is_audited_as_it_is_made_even_when_the_run_fails_later(sync_store):
    accounts = [MaxAccount(f"A{n}", f"Account {n}", email=f"a{n}@x.example") for n in range(3)]
    customers = [ShopifyCustomer(f"gid://shopify/Customer/{n}", email=f"a{n}@x.example") for n in range(3)]
    shopify = RecordingShopify(fail_after=2)
    with pytest.raises(ConnectionError):
        run_pass(sync_store, accounts, customers, shopify=shopify)
    with sync_store.engine.connect() as conn:
        audited = conn.execute(select(audit_log.c.record_key, audit_log.c.outcome)
                               .where(audit_log.c.entity == "customer")).all()
    assert sorted(audited) == [("A0", "pushed"), ("A1", "pushed")]


def test_an_id_map_race_is_one_records_conflict_not_a_failed_run(sync_store):
    """The orders flow maps the customer to its web account after this pass read id_map."""
    accounts = [MaxAccount("ACME", "Acme", email="ap@acme.example"), MaxAccount("B", "B", email="b@x.example")]
    customers = [ShopifyCustomer("gid://shopify/Customer/1", email="ap@acme.example"),
                 ShopifyCustomer("gid://shopify/Customer/2", email="b@x.example")]
    original = sync_store.id_mappings

    def id_mappings_then_race(entity):  # noqa: ANN001, ANN202
        mapped = original(entity)
        sync_store.record_id_mapping("customer", "gid://shopify/Customer/1", "SWEB1")
        return mapped

    sync_store.id_mappings = id_mappings_then_race
    summary, _report = run_pass(sync_store, accounts, customers)
    assert summary["conflict"] == 1 and summary["matched"] == 1
    assert {i.record_key for i in sync_store.select_errors(entity="customer", stage="conflict")} == {"ACME"}
    assert original("customer") == {"gid://shopify/Customer/1": "SWEB1", "gid://shopify/Customer/2": "B"}
    assert sync_store.customer_decisions()["ACME"].decision == "conflict"


def test_a_dry_run_writes_nothing_and_counts_what_it_would(sync_store):
    accounts = [MaxAccount("A", "A", email="a@x.example"), MaxAccount("N", "N", email="n@x.example")]
    customers = [ShopifyCustomer("gid://shopify/Customer/1", email="a@x.example")]
    shopify = RecordingShopify()
    summary, report = run_pass(sync_store, accounts, customers, shopify=shopify, dry_run=True,
                               unmatched_max_customers="create")
    assert shopify.calls == []
    assert report.would_write == {"customers_updated": 1, "customers_created": 1}
    assert sync_store.id_mappings("customer") == {} and sync_store.customer_decisions() == {}
