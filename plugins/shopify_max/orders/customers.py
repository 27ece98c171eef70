"""Which MAX account an order goes to (EXACTMAX.md pitfall 4: MAX has no e-mail key).

- ``per_customer``: one MAX account per Shopify customer. The CUSTID is derived from the Shopify customer
  id ("S" + base-36 of the numeric id: at most 14 characters, stable, so creating it twice finds the first),
  and kept in the sync store's ``id_map`` once created;
- ``web_account``: every order on one account; the order carries its ship-to as a one-off address;
- guest checkouts (no customer) always use the guest account with a one-off address.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from shopify_max.exactmax.models import Customer
from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.mappings.loader import OrderRules
from shopify_max.orders.addresses import map_address
from shopify_max.orders.outcome import MappingError, MappingRefused, RuleApplied, excerpt
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
    """``gid://shopify/Customer/115310627314723954`` → ``S`` + base 36 of the number."""
    number = customer_gid.rsplit("/", 1)[-1]
    if not (number.isascii() and number.isdigit()):
        raise ValueError(f"not a Shopify customer gid: {excerpt(customer_gid)}")
    return "S" + _base36(int(number))


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
    custid = _custid(order.customer.id)
    bill_to = order.billing_address or order.customer.default_address or order.shipping_address
    if not (bill_to and (bill_to.name or bill_to.first_name or bill_to.last_name or bill_to.company)):
        # No name on the address: the customer's own, laid out by the same text rules (a long one continues
        # into the address lines, or is an error under text_overflow: error).
        name = order.customer.display_name or " ".join(
            part for part in (order.customer.first_name, order.customer.last_name) if part) or custid
        bill_to = bill_to.model_copy(update={"name": name}) if bill_to else MailingAddress(name=name)
    columns = {key: value for key, value in map_address(bill_to, "bill_to", rules, applied).items()
               if value is not None}
    columns.setdefault("NAME", custid)  # a name that was all blanks
    exempt = order.customer.tax_exempt or bool(order.customer.tax_exemptions)
    try:
        new_customer = Customer(CUSTID=custid, TAXABL="N" if exempt else "Y", **columns)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise MappingRefused(MappingError(f"new_customer.{'.'.join(str(p) for p in problem['loc'])}", "invalid",
                                          problem["msg"], str(problem.get("input")))) from None
    return CustomerDecision(custid, order.customer.id, new_customer)
