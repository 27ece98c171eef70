"""One master-data pass over customers: match every MAX account, push the account data that differs, report
the rest (docs/master-data.md). The same code runs for real and in a dry run; a dry run counts the writes it
would make and changes nothing (no Shopify or MAX write, no sync-store row).

Outcomes, each a row of the ``customers`` table of the run's report:

- ``matched`` (and ``pushed`` or ``unchanged``): the account data reached, or already was on, the Shopify customer;
  the match is kept in ``id_map`` (entity ``customer``) so the orders flow posts that customer's web orders to the
  MAX account (``route_web_orders_to_matched_account``);
- ``ambiguous`` → error queue (``customer``/``match``) with every candidate;
- ``conflict`` → error queue (``customer``/``conflict``): the Shopify customer already has another MAX account in
  ``id_map`` (a web account the orders flow made); a person decides which one is right;
- ``unmatched``: reported; with ``unmatched_max_customers: create`` and an e-mail, created in Shopify by
  ``customerSet`` upsert on that e-mail;
- web customers with orders but no MAX account: reported (``web_customers_without_account``), or created in MAX
  as the orders flow would create them (``web_customers_without_account: create``).

Error-queue items of a stage that a complete pass no longer finds are resolved (``SyncStore.sync_errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shopify_max.clock import utcnow
from shopify_max.dry_run import DryRunReport
from shopify_max.master_data.customers import (
    ID_MAP_RULE,
    CustomerMatch,
    MatchSettings,
    MaxAccount,
    PushSettings,
    ShopifyCustomer,
    account_changes,
    customer_set_input,
    desired_account,
    match_customers,
)
from shopify_max.sync_store.audit_log import AuditEntry
from shopify_max.sync_store.customer_sync import CustomerDecisionRow

log = logging.getLogger(__name__)
ENTITY = "customer"


class ShopifyCustomerWriter(Protocol):
    def set_customer_account(self, values: dict[str, Any], identifier: dict[str, Any] | None) -> Any: ...
    def get_customer(self, customer_id: str) -> Any: ...


class MaxCustomerWriter(Protocol):
    def create_customer(self, customer: Any) -> Any: ...


@dataclass(frozen=True)
class CustomerSyncSettings:
    match: MatchSettings
    push: PushSettings
    exclude_custids: frozenset[str]
    unmatched_max_customers: str = "report"  # report | create
    web_customers_without_account: str = "report"  # report | create
    route_web_orders_to_matched_account: bool = True


def sync_customers(store: Any, accounts: Sequence[MaxAccount], customers: Sequence[ShopifyCustomer], *,
                   settings: CustomerSyncSettings, exemptions_for: Callable[[MaxAccount], tuple[list[str], list[str]]],
                   shopify: ShopifyCustomerWriter | None, max_gateway: MaxCustomerWriter | None,
                   new_max_account: Callable[[Any], Any] | None, run_id: str, dry_run: bool,
                   report: DryRunReport) -> dict[str, Any]:
    """Match, push and report. ``report`` collects the table rows and, in a dry run, the would-write figures;
    the return value is the run's summary (also what a dry run would have done)."""
    by_gid = {customer.gid: customer for customer in customers}
    accounts = [a for a in accounts if a.custid not in settings.exclude_custids]
    gid_to_custid = store.id_mappings(ENTITY)
    cross_reference = {custid: gid for gid, custid in gid_to_custid.items()}
    matches = match_customers(accounts, customers, settings.match, cross_reference)
    previous = store.customer_decisions()
    counts = {"accounts": len(accounts), "shopify_customers": len(customers), "matched": 0, "pushed": 0,
              "unchanged": 0, "ambiguous": 0, "conflict": 0, "unmatched": 0, "created_in_shopify": 0,
              "push_refused": 0, "web_without_account": 0, "created_in_max": 0, "unmapped_exemptions": 0}
    by_rule: dict[str, int] = {}
    problems: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {"match": {}, "conflict": {}, "push": {},
                                                                   "create": {}}
    decisions: list[CustomerDecisionRow] = []
    audit: list[AuditEntry] = []
    rows: list[dict[str, Any]] = []
    account_by_custid = {a.custid: a for a in accounts}

    def problem(stage: str, key: str, reason: str, **detail: Any) -> None:
        problems[stage][key] = (reason, detail)
        report.fail(f"MAX account {key}" if stage != "create" else f"Shopify customer {key}",
                    detail.get("field", "customer"), f"customer_{stage}", reason)

    for match in matches:
        account = account_by_custid[match.custid]
        exemptions, unmapped = exemptions_for(account)
        counts["unmapped_exemptions"] += len(unmapped)
        row = {"custid": account.custid, "name": account.name, "decision": match.decision, "rule": match.rule or "",
               "shopify_customer_id": match.shopify_gid or "", "candidates": " ".join(match.candidates),
               "changes": "", "unmapped_exemptions": " ".join(unmapped)}
        old = previous.get(account.custid)
        decision = CustomerDecisionRow(account.custid, match.shopify_gid, match.decision, match.rule,
                                       match.candidates, old.pushed_digest if old else None,
                                       old.pushed_at if old else None)
        if match.decision == "ambiguous":
            counts["ambiguous"] += 1
            problem("match", account.custid, match.reason, candidates=list(match.candidates), rule=match.rule,
                    field="customer.match")
        elif match.decision == "unmatched":
            decision, row = _unmatched(account, settings, exemptions, shopify, dry_run, counts, report, audit, row,
                                       decision, problem, run_id)
        else:
            owner = gid_to_custid.get(match.shopify_gid)
            if owner and owner != account.custid:
                counts["conflict"] += 1
                decision = CustomerDecisionRow(account.custid, match.shopify_gid, "conflict", match.rule,
                                               (owner,), decision.pushed_digest, decision.pushed_at)
                row["decision"] = "conflict"
                problem("conflict", account.custid,
                        f"MAX account {account.custid} matches Shopify customer {match.shopify_gid} by {match.rule}, "
                        f"but id_map already posts that customer's orders to MAX account {owner}: decide which "
                        f"account is right (set the customer's {settings.match.metafield_namespace}.custid "
                        "metafield, or merge the accounts in MAX)", other_custid=owner, field="customer.id_map")
            else:
                counts["matched"] += 1
                by_rule[match.rule or ""] = by_rule.get(match.rule or "", 0) + 1
                decision, row = _push(account, match, by_gid.get(match.shopify_gid), settings, exemptions, shopify,
                                      dry_run, counts, report, audit, row, decision, problem, run_id)
                if (settings.route_web_orders_to_matched_account and match.rule != ID_MAP_RULE and not dry_run
                        and not owner):
                    store.record_id_mapping(ENTITY, match.shopify_gid, account.custid, run_id=run_id)
        rows.append(row)
        decisions.append(decision)

    matched_gids = {m.shopify_gid for m in matches if m.shopify_gid}
    web_rows = _web_customers(store, customers, matched_gids, gid_to_custid, settings, shopify, max_gateway,
                              new_max_account, dry_run, counts, report, problem, run_id)
    report.tables["customers"] = rows
    report.tables["web_customers_without_account"] = web_rows
    report.read.update({"max_accounts": len(accounts), "shopify_customers": len(customers)})
    if not dry_run:
        for stage, found in problems.items():
            store.sync_errors(entity=ENTITY, stage=stage, found=found)
        store.record_customer_decisions(decisions, run_id=run_id)
        if audit:
            store.write_audit(audit)
    summary = {**counts, "matched_by_rule": by_rule,
               "error_queue": {stage: sorted(found) for stage, found in problems.items() if found}}
    log.info("customers: %(accounts)d MAX accounts, %(matched)d matched (%(pushed)d pushed, %(unchanged)d "
             "unchanged), %(ambiguous)d ambiguous, %(conflict)d conflicts, %(unmatched)d unmatched, "
             "%(web_without_account)d web customers without an account", counts)
    return summary


def _push(account: MaxAccount, match: CustomerMatch, current: ShopifyCustomer | None,
          settings: CustomerSyncSettings, exemptions: list[str], shopify: ShopifyCustomerWriter | None, dry_run: bool,
          counts: dict[str, int], report: DryRunReport, audit: list[AuditEntry], row: dict[str, Any],
          decision: CustomerDecisionRow, problem: Callable[..., None],
          run_id: str) -> tuple[CustomerDecisionRow, dict[str, Any]]:
    desired = desired_account(account, current, settings.push, exemptions)
    changes = account_changes(desired, current)
    row["changes"] = "; ".join(changes)
    if not changes:
        counts["unchanged"] += 1
        row["outcome"] = "unchanged"
        return decision, row
    row["outcome"] = "would_push" if dry_run else "pushed"
    if dry_run:
        report.add_write("customers_updated")
        counts["pushed"] += 1
        return decision, row
    values = customer_set_input(desired)
    outcome = shopify.set_customer_account(values, {"id": match.shopify_gid})
    audit.append(AuditEntry(entity=ENTITY, direction="max_to_shopify", record_key=account.custid,
                            outcome="refused" if outcome.user_errors else "pushed", request=values,
                            response=[list(e) for e in outcome.user_errors], run_id=run_id,
                            extra={"shopify_customer_gid": match.shopify_gid, "changes": changes}))
    if outcome.user_errors:
        counts["push_refused"] += 1
        row["outcome"] = "refused"
        problem("push", account.custid, f"Shopify refused the account data of MAX account {account.custid} for "
                f"customer {match.shopify_gid}: {_errors(outcome.user_errors)}", field=_fields(outcome.user_errors))
        return decision, row
    counts["pushed"] += 1
    return (CustomerDecisionRow(account.custid, match.shopify_gid, "matched", match.rule, match.candidates,
                                desired.digest(), utcnow()), row)


def _unmatched(account: MaxAccount, settings: CustomerSyncSettings, exemptions: list[str],
               shopify: ShopifyCustomerWriter | None, dry_run: bool, counts: dict[str, int], report: DryRunReport,
               audit: list[AuditEntry], row: dict[str, Any], decision: CustomerDecisionRow,
               problem: Callable[..., None], run_id: str) -> tuple[CustomerDecisionRow, dict[str, Any]]:
    if settings.unmatched_max_customers != "create" or not account.email:
        counts["unmatched"] += 1
        row["outcome"] = "reported" if account.email or settings.unmatched_max_customers != "create" else (
            "reported: no e-mail to create the customer with")
        return decision, row
    desired = desired_account(account, None, settings.push, exemptions)
    row["decision"] = "would_create" if dry_run else "created"
    if dry_run:
        counts["created_in_shopify"] += 1
        report.add_write("customers_created")
        row["outcome"] = "would_create"
        return decision, row
    values = customer_set_input(desired, email=account.email)
    outcome = shopify.set_customer_account(values, {"email": account.email})
    audit.append(AuditEntry(entity=ENTITY, direction="max_to_shopify", record_key=account.custid,
                            outcome="refused" if outcome.user_errors else "created", request=values,
                            response=[list(e) for e in outcome.user_errors], run_id=run_id))
    if outcome.user_errors or outcome.customer is None:
        counts["push_refused"] += 1
        row["outcome"] = "refused"
        problem("push", account.custid, f"Shopify refused to create a customer for MAX account {account.custid} "
                f"by e-mail: {_errors(outcome.user_errors)}", field=_fields(outcome.user_errors))
        return decision, row
    counts["created_in_shopify"] += 1
    row["outcome"] = "created"
    row["shopify_customer_id"] = outcome.customer.id
    return (CustomerDecisionRow(account.custid, outcome.customer.id, "created", "created", (), desired.digest(),
                                utcnow()), row)


def _web_customers(store: Any, customers: Sequence[ShopifyCustomer], matched_gids: set[str],
                   gid_to_custid: dict[str, str], settings: CustomerSyncSettings,
                   shopify: ShopifyCustomerWriter | None, max_gateway: MaxCustomerWriter | None,
                   new_max_account: Callable[[Any], Any] | None, dry_run: bool, counts: dict[str, int],
                   report: DryRunReport, problem: Callable[..., None], run_id: str) -> list[dict[str, Any]]:
    rows = []
    for customer in customers:
        if customer.number_of_orders <= 0 or customer.gid in matched_gids or customer.gid in gid_to_custid:
            continue
        counts["web_without_account"] += 1
        row = {"shopify_customer_id": customer.gid, "name": customer.display_name or "",
               "orders": customer.number_of_orders, "custid": "", "outcome": "reported"}
        rows.append(row)
        if settings.web_customers_without_account != "create":
            continue
        if dry_run:
            report.add_write("max_customers_created")
            row["outcome"] = "would_create"
            continue
        try:
            full = shopify.get_customer(customer.gid)
            account = new_max_account(full)
            result = max_gateway.create_customer(account)
            custid = result.CUSTID
        except Exception as exc:  # noqa: BLE001 - a per-record outcome: the error queue names it
            from shopify_max.exactmax.errors import ExactMaxRejected

            if isinstance(exc, ExactMaxRejected) and exc.has_rule("duplicate_key"):
                custid = account.CUSTID  # made by an earlier attempt: the CUSTID is derived, so it is the same
            else:
                problem("create", customer.gid, f"the MAX account of Shopify customer {customer.gid} could not be "
                        f"created: {type(exc).__name__}: {exc}", field="customer")
                row["outcome"] = "failed"
                continue
        store.record_id_mapping(ENTITY, customer.gid, custid, run_id=run_id)
        counts["created_in_max"] += 1
        row.update(custid=custid, outcome="created")
    return rows


def _errors(user_errors: Sequence[Any]) -> str:
    return "; ".join(f"{'.'.join(e[0]) if isinstance(e[0], list | tuple) else e[0]}: {e[1]}" for e in user_errors) \
        or "no customer returned"


def _fields(user_errors: Sequence[Any]) -> str:
    first = user_errors[0][0] if user_errors else "customer"
    return ".".join(first) if isinstance(first, list | tuple) else str(first or "customer")
