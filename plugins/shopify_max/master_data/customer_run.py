"""One master-data pass over customers: match every MAX account, push the account data that differs, report
the rest (docs/master-data.md). The same code runs for real and in a dry run; a dry run counts the writes it
would make and changes nothing (no Shopify or MAX write, no sync-store row).

Outcomes, each a row of the ``customers`` table of the run's report:

- ``matched`` (and ``pushed`` or ``unchanged``): the account data reached, or already was on, the Shopify customer;
  the match is kept in ``id_map`` (entity ``customer``) so the orders flow posts that customer's web orders to the
  MAX account (``route_web_orders_to_matched_account``). A web account the orders flow made (``S…``, found through
  ``id_map``) is matched but not pushed: it has no account data of its own;
- a ``max.custid`` metafield naming another account than ``id_map`` does is a person's decision: ``id_map`` is
  re-pointed (audited);
- ``ambiguous`` → error queue (``customer``/``match``) with every candidate;
- ``conflict`` → error queue (``customer``/``conflict``): a match by a weaker rule whose Shopify customer already
  has another MAX account in ``id_map``;
- ``unmatched``: reported; with ``unmatched_max_customers: create`` and an e-mail no Shopify customer has yet,
  created by ``customerSet`` upsert on that e-mail. Two unmatched accounts with one e-mail are ambiguous;
- web customers with orders but no MAX account: reported, or created in MAX as the orders flow would create them
  (``web_customers_without_account: create``).

Every push is audited as it is made, so a run that fails half way still has the record of what it wrote.
Error-queue items of a stage that a complete pass no longer finds are resolved (``SyncStore.sync_errors``).
"""

from __future__ import annotations

import logging
from collections import Counter
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
    normal_email,
)
from shopify_max.sync_store.audit_log import AuditEntry
from shopify_max.sync_store.customer_sync import CustomerDecisionRow
from shopify_max.sync_store.id_map import IdMappingConflict

log = logging.getLogger(__name__)
ENTITY = "customer"
STAGES = ("match", "conflict", "push", "create")


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
                   new_max_account: Callable[[Any], Any] | None, web_custid: Callable[[str], str] | None = None,
                   run_id: str, dry_run: bool, report: DryRunReport) -> dict[str, Any]:
    """Match, push and report. ``report`` collects the table rows and, in a dry run, the would-write figures;
    the return value is the run's summary (also what a dry run would have done)."""
    run = _CustomerPass(store, settings, shopify, max_gateway, new_max_account, web_custid, run_id, dry_run, report)
    return run.run(accounts, customers, exemptions_for)


class _CustomerPass:
    def __init__(self, store: Any, settings: CustomerSyncSettings, shopify: ShopifyCustomerWriter | None,
                 max_gateway: MaxCustomerWriter | None, new_max_account: Callable[[Any], Any] | None,
                 web_custid: Callable[[str], str] | None, run_id: str, dry_run: bool, report: DryRunReport) -> None:
        self.store, self.settings, self.shopify, self.max_gateway = store, settings, shopify, max_gateway
        self.new_max_account, self.web_custid = new_max_account, web_custid
        self.run_id, self.dry_run, self.report = run_id, dry_run, report
        self.counts: Counter[str] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.problems: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {stage: {} for stage in STAGES}

    # ------------------------------------------------------------------------------------------------ the pass
    def run(self, accounts: Sequence[MaxAccount], customers: Sequence[ShopifyCustomer],
            exemptions_for: Callable[[MaxAccount], tuple[list[str], list[str]]]) -> dict[str, Any]:
        by_gid = {customer.gid: customer for customer in customers}
        self.by_email: dict[str, list[str]] = {}
        for customer in customers:
            if email := normal_email(customer.email):
                self.by_email.setdefault(email, []).append(customer.gid)
        accounts = [a for a in accounts if a.custid not in self.settings.exclude_custids]
        self.gid_to_custid = self.store.id_mappings(ENTITY)
        cross_reference = {custid: gid for gid, custid in self.gid_to_custid.items()}
        matches = match_customers(accounts, customers, self.settings.match, cross_reference)
        previous = self.store.customer_decisions()
        by_custid = {a.custid: a for a in accounts}
        unmatched_emails = Counter(normal_email(by_custid[m.custid].email) for m in matches
                                   if m.decision == "unmatched" and not m.candidates)
        self.counts.update(accounts=len(accounts), shopify_customers=len(customers))
        rows, decisions = [], []
        for match in matches:
            account = by_custid[match.custid]
            exemptions, unmapped = exemptions_for(account)
            self.counts["unmapped_exemptions"] += len(unmapped)
            old = previous.get(account.custid)
            row = {"custid": account.custid, "name": account.name, "decision": match.decision,
                   "rule": match.rule or "", "shopify_customer_id": match.shopify_gid or "",
                   "candidates": " ".join(match.candidates), "changes": "", "outcome": "",
                   "unmapped_exemptions": " ".join(unmapped)}
            decision = CustomerDecisionRow(account.custid, match.shopify_gid, match.decision, match.rule,
                                           match.candidates, old.pushed_digest if old else None,
                                           old.pushed_at if old else None)
            if match.decision == "ambiguous":
                self.counts["ambiguous"] += 1
                self.problem("match", account.custid, match.reason, candidates=list(match.candidates),
                             rule=match.rule, field="customer.match")
                row["outcome"] = "error queue"
            elif match.decision == "unmatched":
                duplicate = unmatched_emails[normal_email(account.email)] > 1 if account.email else False
                decision = self._unmatched(account, match, exemptions, row, decision, duplicate)
            else:
                decision = self._matched(account, match, by_gid.get(match.shopify_gid), exemptions, row, decision)
            rows.append(row)
            decisions.append(decision)
        claimed = {gid for m in matches for gid in (m.shopify_gid, *m.candidates) if gid and gid.startswith("gid:")}
        web_rows = self._web_customers(customers, claimed)
        self.report.tables["customers"] = rows
        self.report.tables["web_customers_without_account"] = web_rows
        self.report.read.update({"max_accounts": len(accounts), "shopify_customers": len(customers)})
        if not self.dry_run:
            for stage, found in self.problems.items():
                self.store.sync_errors(entity=ENTITY, stage=stage, found=found)
            self.store.record_customer_decisions(decisions, run_id=self.run_id)
        summary = {**{key: self.counts.get(key, 0) for key in (
            "accounts", "shopify_customers", "matched", "pushed", "unchanged", "web_accounts", "ambiguous",
            "conflict", "unmatched", "created_in_shopify", "push_refused", "web_without_account", "created_in_max",
            "unmapped_exemptions", "id_map_repointed")},
            "matched_by_rule": dict(self.by_rule),
            "error_queue": {stage: sorted(found) for stage, found in self.problems.items() if found}}
        log.info("customers: %(accounts)d MAX accounts, %(matched)d matched (%(pushed)d pushed, %(unchanged)d "
                 "unchanged), %(ambiguous)d ambiguous, %(conflict)d conflicts, %(unmatched)d unmatched, "
                 "%(web_without_account)d web customers without an account", summary)
        return summary

    def problem(self, stage: str, key: str, reason: str, **detail: Any) -> None:
        self.problems[stage][key] = (reason, detail)
        self.report.fail(f"MAX account {key}" if stage != "create" else f"Shopify customer {key}",
                         detail.get("field", "customer"), f"customer_{stage}", reason)
        log.info("customer %s: %s: %s", key, stage, reason)

    def audit(self, custid: str, outcome: str, request: Any, response: Any, *, contains_pii: bool = True,
              **extra: Any) -> None:
        """Written as each write is made: a run that fails later keeps the record of what it wrote."""
        self.store.write_audit([AuditEntry(entity=ENTITY, direction="max_to_shopify", record_key=custid,
                                           outcome=outcome, request=request, response=response, run_id=self.run_id,
                                           contains_pii=contains_pii, extra=extra)])

    # ------------------------------------------------------------------------------------------------ matched
    def _matched(self, account: MaxAccount, match: CustomerMatch, current: ShopifyCustomer | None,
                 exemptions: list[str], row: dict[str, Any], decision: CustomerDecisionRow) -> CustomerDecisionRow:
        owner = self.gid_to_custid.get(match.shopify_gid)
        if owner and owner != account.custid and match.rule != "custid_metafield":
            return self._conflict(account, match, owner, row, decision)
        if match.rule == ID_MAP_RULE and self.web_custid and account.custid == self.web_custid(match.shopify_gid):
            self.counts["web_accounts"] += 1
            row.update(decision="matched", outcome="web account: not pushed")
            return decision
        if (conflict := self._route(account, match, owner, row, decision)) is not None:
            return conflict
        self.counts["matched"] += 1
        self.by_rule[match.rule or ""] += 1
        desired = desired_account(account, current, self.settings.push, exemptions)
        changes = account_changes(desired, current)
        row["changes"] = "; ".join(changes)
        if not changes:
            self.counts["unchanged"] += 1
            row["outcome"] = "unchanged"
            return decision
        self.counts["pushed"] += 1
        if self.dry_run:
            self.report.add_write("customers_updated")
            row["outcome"] = "would push"
            return decision
        values = customer_set_input(desired)
        outcome = self.shopify.set_customer_account(values, {"id": match.shopify_gid})
        self.audit(account.custid, "refused" if outcome.user_errors else "pushed", values,
                   [list(e) for e in outcome.user_errors], shopify_customer_gid=match.shopify_gid, changes=changes)
        if outcome.user_errors:
            self.counts["pushed"] -= 1
            self.counts["push_refused"] += 1
            row["outcome"] = "refused"
            self.problem("push", account.custid, f"Shopify refused the account data of MAX account "
                         f"{account.custid} for customer {match.shopify_gid}: {_errors(outcome.user_errors)}",
                         field=_fields(outcome.user_errors))
            return decision
        row["outcome"] = "pushed"
        return CustomerDecisionRow(account.custid, match.shopify_gid, "matched", match.rule, match.candidates,
                                   desired.digest(), utcnow())

    def _route(self, account: MaxAccount, match: CustomerMatch, owner: str | None, row: dict[str, Any],
               decision: CustomerDecisionRow) -> CustomerDecisionRow | None:
        """Keep id_map in step with the match: record it, or re-point it when a metafield says so. When id_map
        refuses (another worker mapped the customer meanwhile), the account is a conflict this run: its row."""
        if (not self.settings.route_web_orders_to_matched_account or match.rule == ID_MAP_RULE
                or owner == account.custid or self.dry_run):
            return None
        try:
            if owner:  # the metafield names this account, id_map another: the metafield is a person's decision
                self.store.repoint_id_mapping(ENTITY, match.shopify_gid, account.custid, run_id=self.run_id)
                self.counts["id_map_repointed"] += 1
                self.audit(account.custid, "id_map_repointed", {"shopify_customer_gid": match.shopify_gid},
                           {"from": owner, "to": account.custid}, contains_pii=False)
                row["changes"] = f"id_map {owner} → {account.custid}"
            else:
                self.store.record_id_mapping(ENTITY, match.shopify_gid, account.custid, run_id=self.run_id)
        except IdMappingConflict as exc:
            return self._conflict(account, match, str(exc), row, decision)
        return None

    def _conflict(self, account: MaxAccount, match: CustomerMatch, owner: str, row: dict[str, Any],
                  decision: CustomerDecisionRow | None) -> CustomerDecisionRow:
        self.counts["conflict"] += 1
        row.update(decision="conflict", outcome="error queue")
        self.problem("conflict", account.custid,
                     f"MAX account {account.custid} matches Shopify customer {match.shopify_gid} by {match.rule}, "
                     f"but id_map already posts that customer's orders to MAX account {owner}: if "
                     f"{account.custid} is right, set the customer's {self.settings.match.metafield_namespace}.custid "
                     f"metafield to {account.custid} (the next run re-points id_map); else merge the accounts in "
                     "MAX", other_custid=owner, field="customer.id_map")
        return CustomerDecisionRow(account.custid, match.shopify_gid, "conflict", match.rule, (owner,),
                                   decision.pushed_digest if decision else None,
                                   decision.pushed_at if decision else None)

    # ------------------------------------------------------------------------------------------------ unmatched
    def _unmatched(self, account: MaxAccount, match: CustomerMatch, exemptions: list[str], row: dict[str, Any],
                   decision: CustomerDecisionRow, duplicate_email: bool) -> CustomerDecisionRow:
        email = normal_email(account.email)
        if duplicate_email:
            self.counts["ambiguous"] += 1
            row.update(decision="ambiguous", outcome="error queue")
            self.problem("match", account.custid, f"MAX account {account.custid} has no Shopify customer, and "
                         f"another unmatched MAX account has its e-mail {email}: a duplicate in MAX; merge them "
                         "before either is created in Shopify", field="customer.email")
            return decision
        self.counts["unmatched"] += 1
        if match.candidates:
            row["outcome"] = match.reason
            return decision
        if self.settings.unmatched_max_customers != "create" or not email:
            row["outcome"] = "reported" if email or self.settings.unmatched_max_customers != "create" else (
                "reported: no e-mail to create the customer with")
            return decision
        if taken := self.by_email.get(email):
            row["outcome"] = (f"reported: Shopify customer {taken[0]} already has e-mail {email} (the email rule "
                              "is not in customer_matching): not overwritten")
            return decision
        self.counts["unmatched"] -= 1
        self.counts["created_in_shopify"] += 1
        desired = desired_account(account, None, self.settings.push, exemptions)
        if self.dry_run:
            self.report.add_write("customers_created")
            row.update(decision="unmatched", outcome="would create")
            return decision
        values = customer_set_input(desired, email=email)
        outcome = self.shopify.set_customer_account(values, {"email": email})
        self.audit(account.custid, "refused" if outcome.user_errors else "created", values,
                   [list(e) for e in outcome.user_errors])
        if outcome.user_errors or outcome.customer is None:
            self.counts["created_in_shopify"] -= 1
            self.counts["push_refused"] += 1
            row["outcome"] = "refused"
            self.problem("push", account.custid, f"Shopify refused to create a customer for MAX account "
                         f"{account.custid} by e-mail: {_errors(outcome.user_errors)}",
                         field=_fields(outcome.user_errors))
            return decision
        self.by_email[email] = [outcome.customer.id]
        row.update(decision="created", outcome="created", shopify_customer_id=outcome.customer.id)
        return CustomerDecisionRow(account.custid, outcome.customer.id, "created", "created", (), desired.digest(),
                                   utcnow())

    # ------------------------------------------------------------------------------------------------ web customers
    def _web_customers(self, customers: Sequence[ShopifyCustomer], claimed: set[str]) -> list[dict[str, Any]]:
        rows = []
        for customer in customers:
            if customer.number_of_orders <= 0 or customer.gid in claimed or customer.gid in self.gid_to_custid:
                continue
            self.counts["web_without_account"] += 1
            row = {"shopify_customer_id": customer.gid, "name": customer.display_name or "",
                   "orders": customer.number_of_orders, "custid": "", "outcome": "reported"}
            rows.append(row)
            if self.settings.web_customers_without_account == "create":
                self._create_web_account(customer, row)
        return rows

    def _create_web_account(self, customer: ShopifyCustomer, row: dict[str, Any]) -> None:
        from shopify_max.exactmax.errors import ExactMaxRejected
        from shopify_max.orders.outcome import MappingRefused

        try:
            account = self.new_max_account(self.shopify.get_customer(customer.gid))  # reads: a dry run does too
        except MappingRefused as refused:
            self.problem("create", customer.gid, f"the MAX account of Shopify customer {customer.gid} cannot be "
                         f"built: {refused}", field="customer")
            row["outcome"] = "error queue"
            return
        if self.dry_run:
            self.report.add_write("max_customers_created")
            row.update(custid=account.CUSTID, outcome="would create")
            return
        try:
            custid = self.max_gateway.create_customer(account).CUSTID
        except ExactMaxRejected as exc:
            if not exc.has_rule("duplicate_key"):
                self.problem("create", customer.gid, f"MAX refused the account of Shopify customer "
                             f"{customer.gid}: {exc}", field="customer")
                row["outcome"] = "error queue"
                return
            custid = account.CUSTID  # made by an earlier attempt: the CUSTID is derived, so it is the same
        try:
            self.store.record_id_mapping(ENTITY, customer.gid, custid, run_id=self.run_id)
        except IdMappingConflict as exc:  # the orders flow mapped the customer meanwhile
            row["outcome"] = f"already mapped: {exc}"
            return
        self.counts["created_in_max"] += 1
        row.update(custid=custid, outcome="created")


def _errors(user_errors: Sequence[Any]) -> str:
    return "; ".join(f"{'.'.join(e[0]) if isinstance(e[0], list | tuple) else e[0]}: {e[1]}" for e in user_errors) \
        or "no customer returned"


def _fields(user_errors: Sequence[Any]) -> str:
    first = user_errors[0][0] if user_errors else "customer"
    return ".".join(first) if isinstance(first, list | tuple) else str(first or "customer")
