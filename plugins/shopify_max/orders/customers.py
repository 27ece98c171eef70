"""Which MAX account an order goes to (EXACTMAX.md pitfall 4: MAX has no e-mail key).

- ``per_customer``: one MAX account per Shopify customer. The CUSTID is derived from the Shopify customer
  id ("S" + base-36 of the numeric id: at most 14 characters, stable, so creating it twice finds the first),
  and kept in the sync store's ``id_map`` once created;
- ``web_account``: every order on one account; the order carries its ship-to as a one-off address;
- guest checkouts (no customer) always use the guest account with a one-off address.

A new account's NAME is its bill-to's person or company. When the bill-to names no one, it is the Shopify
customer's own name (display name, else first and last name), fitted by :func:`fit_customer_name`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from shopify_max.exactmax.models import Customer
from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.ids import legacy_id
from shopify_max.mappings.loader import OrderRules
from shopify_max.orders.addresses import clean_text, map_address
from shopify_max.orders.outcome import MappingError, MappingRefused, RuleApplied, excerpt
from shopify_max.orders.text_rules import TextRuleError, abbreviate, split_at_word
from shopify_max.shopify.models import Customer as ShopifyCustomer
from shopify_max.shopify.models import MailingAddress, Order

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, remainder = divmod(number, 36)
        digits = _BASE36[remainder] + digits
        if number == 0:
            return digits


def custid_for_shopify_customer(customer_gid: str) -> str:
    """``gid://shopify/Customer/115310627314723954`` → ``S`` + base 36 of the number (ValueError if none)."""
    return "S" + _base36(int(legacy_id(customer_gid, "Customer")))


def _custid(customer_gid: str) -> str:
    """The per-customer CUSTID, or :class:`MappingRefused` naming ``customer.id`` and why it has none."""
    try:
        custid = custid_for_shopify_customer(customer_gid)
    except ValueError:
        raise MappingRefused(MappingError("customer.id", "bad_customer_id", f"customer id {excerpt(customer_gid)} "
                                          "does not end in a number, so it gives no MAX CUSTID",
                                          customer_gid)) from None
    if len(custid) > FIELD_LENGTHS["CUSTID"]:
        raise MappingRefused(MappingError("customer.id", "customer_id_too_long", f"customer id {excerpt(customer_gid)} "
                                          f"gives CUSTID {custid!r} ({len(custid)} characters); MAX holds "
                                          f"{FIELD_LENGTHS['CUSTID']}", customer_gid))
    return custid


def fit_customer_name(name: str, rules: OrderRules, applied: list[RuleApplied]) -> tuple[str, str | None]:
    """(NAME, CNTCT) for a new MAX account named after the Shopify customer (already cleaned by the text rules).

    A name longer than MAX's NAME is, by ``text_overflow``:
    - ``error``: an error ``too_long`` on ``bill_to.NAME``;
    - ``abbreviate``: shortened by the abbreviation table first (``abbreviate``), then as ``continue``;
    - ``continue``: cut at a word boundary, the rest into the contact field CNTCT when it fits there
      (``customer_name_overflow_to_contact``). A name longer still is returned whole, and continues into the
      address lines by the address rule (``continue_into_next_line``).
    """
    field, limit = "bill_to.NAME", FIELD_LENGTHS["NAME"]
    if len(name) <= limit:
        return name, None
    if rules.text_overflow == "error":
        raise TextRuleError(MappingError(field, "too_long", f"the customer's name has {len(name)} characters and the "
                                         f"bill-to names no one; MAX's customer NAME holds {limit} (text_overflow "
                                         "is set to error)", name))
    if rules.text_overflow == "abbreviate" and (shorter := abbreviate(name, rules.abbreviations)) != name:
        applied.append(RuleApplied(field, "abbreviate", name, shorter))
        if len(shorter) <= limit:
            return shorter, None
        name = shorter
    head, rest = split_at_word(name, limit)
    if len(rest) <= FIELD_LENGTHS["CNTCT"]:
        applied.append(RuleApplied(field, "customer_name_overflow_to_contact", name, f"{head} | {rest}"))
        return head, rest
    return name, None


@dataclass(frozen=True)
class CustomerDecision:
    custid: str
    customer_gid: str | None  # set when the account belongs to one Shopify customer
    new_customer: Customer | None  # the account to create in MAX before the order (per-customer, first order)


def decide_customer(order: Order, rules: OrderRules, known_custid: str | None,
                    applied: list[RuleApplied]) -> CustomerDecision:
    """The account for ``order``. ``known_custid`` is what id_map already holds for its customer."""
    if order.customer is None:
        applied.append(RuleApplied("CUSTID", "guest_checkout_account", "", rules.guest_custid))
        return CustomerDecision(rules.guest_custid, None, None)
    if rules.customer_strategy == "web_account":
        return CustomerDecision(rules.web_account_custid, None, None)
    if known_custid:
        return CustomerDecision(known_custid, order.customer.id, None)
    bill_to = order.billing_address or order.customer.default_address or order.shipping_address
    return CustomerDecision(_custid(order.customer.id), order.customer.id,
                            new_customer_account(order.customer, bill_to, rules, applied))


def new_customer_account(customer: ShopifyCustomer, bill_to: MailingAddress | None, rules: OrderRules,
                         applied: list[RuleApplied]) -> Customer:
    """The MAX account of a Shopify customer (per-customer strategy), named and addressed after ``bill_to``.

    The orders flow passes the order's bill-to; the master-data sync, creating accounts for web customers
    with orders but none yet, passes the customer's default address. Both get the same account."""
    custid = _custid(customer.id)
    contact = None
    if not (bill_to and (bill_to.name or bill_to.first_name or bill_to.last_name or bill_to.company)):
        name = customer.display_name or " ".join(
            part for part in (customer.first_name, customer.last_name) if part) or custid
        name, contact = fit_customer_name(clean_text(name, "bill_to.name", rules, applied), rules, applied)
        bill_to = bill_to.model_copy(update={"name": name}) if bill_to else MailingAddress(name=name)
    columns = {key: value for key, value in map_address(bill_to, "bill_to", rules, applied).items()
               if value is not None}
    if contact:
        columns["CNTCT"] = contact
    columns.setdefault("NAME", custid)  # a name that was all blanks
    exempt = customer.tax_exempt or bool(customer.tax_exemptions)
    try:
        return Customer(CUSTID=custid, TAXABL="N" if exempt else "Y", **columns)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise MappingRefused(MappingError(f"new_customer.{'.'.join(str(p) for p in problem['loc'])}", "invalid",
                                          problem["msg"], str(problem.get("input")))) from None
