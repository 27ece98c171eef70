"""Which MAX account an order goes to (EXACTMAX.md pitfall 4: MAX has no e-mail key).

- ``per_customer``: one MAX account per Shopify customer. The CUSTID is derived from the Shopify customer
  id ("S" + base-36 of the numeric id: at most 14 characters, stable, so creating it twice finds the first),
  and kept in the sync store's ``id_map`` once created;
- ``web_account``: every order on one account; the order carries its ship-to as a one-off address;
- guest checkouts (no customer) always use the guest account with a one-off address.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopify_max.exactmax.models import Customer
from shopify_max.mappings.loader import OrderRules
from shopify_max.orders.addresses import map_address
from shopify_max.orders.outcome import RuleApplied
from shopify_max.shopify.models import Order

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
    if not number.isdigit():
        raise ValueError(f"not a Shopify customer gid: {customer_gid!r}")
    return "S" + _base36(int(number))


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
    custid = custid_for_shopify_customer(order.customer.id)
    bill_to = order.billing_address or order.customer.default_address or order.shipping_address
    columns = {key: value for key, value in map_address(bill_to, "bill_to", rules, applied).items()
               if value is not None}
    if not columns.get("NAME"):
        name = order.customer.display_name or " ".join(
            part for part in (order.customer.first_name, order.customer.last_name) if part) or custid
        columns["NAME"] = name[:30] if len(name) <= 30 else name
    exempt = order.customer.tax_exempt or bool(order.customer.tax_exemptions)
    new_customer = Customer(CUSTID=custid, TAXABL="N" if exempt else "Y", **columns)
    return CustomerDecision(custid, order.customer.id, new_customer)
