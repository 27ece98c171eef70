"""``map_order_to_sales_order``: one Shopify order → one Exact MAX sales order, or a skip, or errors.

Order of work: skip rules → customer → ship-to → lines (SKU, UOM, discounts, taxes) → shipping →
payment terms → currency → header taxes → totals. Every error found is reported (not just the first),
so a person fixes an order in one pass.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import ValidationError

from shopify_max.exactmax.models import SalesOrder, SalesOrderLine
from shopify_max.exactmax_limits import FIELD_LENGTHS, MAX_LINES_PER_ORDER, TAX_CODE_SLOTS
from shopify_max.mappings.loader import Mappings
from shopify_max.money import CENT
from shopify_max.orders.addresses import map_address
from shopify_max.orders.allocation import allocate_to_cents
from shopify_max.orders.customers import decide_customer
from shopify_max.orders.lines import LineAmounts, to_rows
from shopify_max.orders.outcome import MappedOrder, MappingError, RuleApplied
from shopify_max.orders.text_rules import TextRuleError
from shopify_max.orders.totals import max_document_check, shopify_total_check
from shopify_max.shopify.models import Order

_UNIT_PRICE_PLACES = Decimal("0.0001")


def custpo_for(order: Order, custpo_format: str) -> str:
    return custpo_format.format(name=order.name, number=order.number)


def map_order_to_sales_order(order: Order, mappings: Mappings, *, known_custid: str | None = None) -> MappedOrder:
    rules = mappings.rules
    custpo = custpo_for(order, rules.custpo_format)
    result = MappedOrder(order_gid=order.id, order_name=order.name, custpo=custpo)
    applied, errors = result.rules_applied, result.errors

    if order.cancelled_at is not None:
        result.skip_reason = f"cancelled in Shopify at {order.cancelled_at.isoformat()} before export"
        return result
    if order.test and rules.test_orders == "skip":
        result.skip_reason = "test order (Shopify marks it test: true; test_orders is skip)"
        return result
    if len(custpo) > FIELD_LENGTHS["CUSTPO"]:
        errors.append(MappingError("name", "too_long", f"CUSTPO {custpo!r} is {len(custpo)} characters; MAX holds "
                                   f"{FIELD_LENGTHS['CUSTPO']} (custpo_format in order_rules.yaml)", custpo))

    try:
        decision = decide_customer(order, rules, known_custid, applied)
        result.new_customer, result.customer_gid = decision.new_customer, decision.customer_gid
        ship_to = map_address(order.shipping_address or order.billing_address, "ship_to", rules, applied)
    except TextRuleError as exc:
        errors.append(exc.error)
        decision, ship_to = None, {}

    priced_lines, lines_gross, excluded_from_total = _price_item_lines(order, mappings, applied, errors)
    priced_lines += _price_shipping_lines(order, mappings, applied, errors)
    ship_via = _ship_via(order, mappings, applied, errors)
    terms = _terms(order, mappings, applied, errors)

    rows: list[SalesOrderLine] = []
    if len(priced_lines) > MAX_LINES_PER_ORDER:
        errors.append(MappingError("line_items", "too_many_lines",
                                   f"{len(priced_lines)} lines (with shipping); MAX holds {MAX_LINES_PER_ORDER} per "
                                   "order: split the order in Shopify or enter it in MAX by hand",
                                   str(len(priced_lines))))
    else:
        for linnum, line in enumerate(priced_lines, start=1):
            rows += to_rows(line, linnum, mappings, rules.stockroom, applied, errors)

    header_codes: list[str] = []
    for row in rows:
        for code in (row.TAXCDE1, row.TAXCDE2, row.TAXCDE3):
            if code and code not in header_codes:
                header_codes.append(code)
    if len(header_codes) > TAX_CODE_SLOTS:
        errors.append(MappingError("tax_lines", "too_many_tax_codes",
                                   f"the order uses {len(header_codes)} MAX tax codes ({', '.join(header_codes)}); "
                                   f"the header holds {TAX_CODE_SLOTS}", ", ".join(header_codes)))

    total_discounts = order.total_discounts_set.shop_money.amount if order.total_discounts_set else Decimal(0)
    if (mismatch := shopify_total_check(order, lines_gross, total_discounts)) is not None:
        errors.append(mismatch)
    if errors or decision is None:
        return result
    if not rows:
        result.skip_reason = "nothing to export: every line was skipped by a rule"
        return result

    tax_total = sum((tax for row in rows for tax in (row.TAX1, row.TAX2, row.TAX3) if tax is not None), Decimal(0))
    header = {key: value for key, value in ship_to.items() if value is not None}
    try:
        sales_order = SalesOrder(
            CUSTID=decision.custid, CUSTPO=custpo, ORDDTE=order.processed_at.date(), TERMS=terms, SHPVIA=ship_via,
            TAXCD1=header_codes[0] if header_codes else None,
            TAXCD2=header_codes[1] if len(header_codes) > 1 else None,
            TAXCD3=header_codes[2] if len(header_codes) > 2 else None,
            TTAX=tax_total, TAXABL="N" if order.tax_exempt else "Y",
            CURR=order.currency_code, EXCRTE=_exchange_rate(order, applied),
            COMNT1=f"Shopify order {order.name}"[:30], UDFREF=order.legacy_resource_id[:25],
            lines=rows, **header,
        )
    except ValidationError as exc:
        for problem in exc.errors():
            location = ".".join(str(part) for part in problem["loc"])
            errors.append(MappingError(location, "invalid", problem["msg"], str(problem.get("input"))[:200]))
        return result

    expected_total = order.total_price_set.shop_money.amount - excluded_from_total
    if (mismatch := max_document_check(sales_order, expected_total)) is not None:
        errors.append(mismatch)
        return result
    result.sales_order = sales_order
    return result


def _price_item_lines(order: Order, mappings: Mappings, applied: list[RuleApplied],
                      errors: list[MappingError]) -> tuple[list[LineAmounts], Decimal, Decimal]:
    """Priced product lines, the gross of all line items, and what rules excluded from the total."""
    rules = mappings.rules
    for index, item in enumerate(order.line_items):
        price = item.original_unit_price_set.shop_money.amount
        if item.quantity <= 0:
            errors.append(MappingError(f"line_items[{index}].quantity", "not_positive",
                                       f"quantity {item.quantity} must be above 0", str(item.quantity)))
        if not price.is_finite() or price < 0 or price != price.quantize(CENT):
            errors.append(MappingError(f"line_items[{index}].price", "bad_money",
                                       f"price {price} is not a whole number of cents ≥ 0", str(price)))
    if errors:
        return [], Decimal(0), Decimal(0)
    gross_by_line = [item.original_unit_price_set.shop_money.amount * item.quantity for item in order.line_items]
    allocated = [sum((a.allocated_amount_set.shop_money.amount for a in item.discount_allocations), Decimal(0))
                 for item in order.line_items]
    shipping_allocated = sum((a.allocated_amount_set.shop_money.amount
                              for line in order.shipping_lines for a in line.discount_allocations), Decimal(0))
    total_discounts = order.total_discounts_set.shop_money.amount if order.total_discounts_set else Decimal(0)
    unallocated = total_discounts - sum(allocated, Decimal(0)) - shipping_allocated
    if unallocated < 0:
        errors.append(MappingError("total_discounts", "totals_mismatch",
                                   f"discount allocations ({total_discounts - unallocated}) exceed the order's "
                                   f"total discounts ({total_discounts})", str(total_discounts)))
    elif unallocated > 0:
        shares = allocate_to_cents(unallocated, gross_by_line)
        applied.append(RuleApplied("total_discounts", "order_discount_allocated_to_lines", str(unallocated),
                                   ", ".join(str(share) for share in shares)))
        allocated = [a + s for a, s in zip(allocated, shares, strict=True)]

    priced, excluded = [], Decimal(0)
    for index, item in enumerate(order.line_items):
        source = f"line_items[{index}]"
        line_tax = sum((t.price_set.shop_money.amount for t in item.tax_lines), Decimal(0))
        net = gross_by_line[index] - allocated[index]
        if order.taxes_included:
            net -= line_tax
            if line_tax:
                applied.append(RuleApplied(f"{source}.amount", "taxes_included_price_net_of_tax",
                                           str(net + line_tax), str(net)))
        if item.is_gift_card:
            if rules.gift_card_lines == "skip":
                applied.append(RuleApplied(source, "gift_card_line_skipped", item.name, ""))
                excluded += net + line_tax
                continue
            errors.append(MappingError(f"{source}", "gift_card", f"gift card line {item.name!r}: gift_card_lines is error",
                                       item.name))
            continue
        if net == 0 and rules.zero_price_lines == "skip":
            applied.append(RuleApplied(source, "zero_price_line_skipped", item.name, ""))
            continue
        if not item.sku:
            if rules.custom_line_part_number is None:
                errors.append(MappingError(f"{source}.sku", "missing_sku", f"line {item.name!r} has no SKU and "
                                           "custom_line_part_number is not set", None))
                continue
            applied.append(RuleApplied(f"{source}.sku", "custom_line_part", "", rules.custom_line_part_number))
            part_number, uom, factor = rules.custom_line_part_number, None, 1
        else:
            mapping = mappings.parts_by_sku.get(item.sku)
            if mapping is None:
                errors.append(MappingError(f"{source}.sku", "unmapped_sku", f"SKU {item.sku!r} ({item.name}) has no "
                                           "MAX part in include/mappings/sku_to_part.csv", item.sku))
                continue
            part_number, uom, factor = mapping.part_number, mapping.sales_uom, mapping.uom_factor
        quantity = item.quantity * factor
        if factor != 1:
            applied.append(RuleApplied(f"{source}.quantity", "uom_factor", f"{item.quantity} {item.sku}",
                                       f"{quantity} {uom} of {part_number}"))
        list_price = item.original_unit_price_set.shop_money.amount / factor
        if order.taxes_included and line_tax and item.quantity:
            list_price -= line_tax / item.quantity / factor
        priced.append(LineAmounts(source, part_number, uom, quantity, list_price.quantize(_UNIT_PRICE_PLACES), net,
                                  list(item.tax_lines), item.taxable and not order.tax_exempt,
                                  ships_from_stock=bool(item.sku)))
    return priced, sum(gross_by_line, Decimal(0)), excluded


def _price_shipping_lines(order: Order, mappings: Mappings, applied: list[RuleApplied],
                          errors: list[MappingError]) -> list[LineAmounts]:
    priced = []
    for index, line in enumerate(order.shipping_lines):
        tax = sum((t.price_set.shop_money.amount for t in line.tax_lines), Decimal(0))
        price = line.original_price_set.shop_money.amount
        discount = sum((a.allocated_amount_set.shop_money.amount for a in line.discount_allocations), Decimal(0))
        net = price - discount - (tax if order.taxes_included else Decimal(0))
        if net == 0 and not line.tax_lines:
            applied.append(RuleApplied(f"shipping_lines[{index}]", "free_shipping_line_not_sent", line.title, ""))
            continue
        priced.append(LineAmounts(f"shipping_lines[{index}]", mappings.rules.freight_part_number, None, 1,
                                  (price - (tax if order.taxes_included else 0)).quantize(CENT), net,
                                  list(line.tax_lines), not order.tax_exempt, ships_from_stock=False))
    return priced


def _ship_via(order: Order, mappings: Mappings, applied: list[RuleApplied], errors: list[MappingError]) -> str | None:
    for index, line in enumerate(order.shipping_lines):
        method = mappings.shipping_by_title.get(line.title.strip().casefold())
        if method is not None:
            if index:
                applied.append(RuleApplied("SHPVIA", "ship_via_from_later_shipping_line", order.shipping_lines[0].title,
                                           line.title))
            return method.max_ship_via
    if not order.shipping_lines:
        return None
    fallback = mappings.rules.unmapped_shipping_ship_via
    titles = ", ".join(repr(line.title) for line in order.shipping_lines)
    if fallback:
        applied.append(RuleApplied("SHPVIA", "default_ship_via", titles, fallback))
        return fallback
    errors.append(MappingError("shipping_lines[0].title", "unmapped_shipping", f"shipping {titles} has no MAX ship-via "
                               "in include/mappings/shipping_methods.csv", order.shipping_lines[0].title))
    return None


def _terms(order: Order, mappings: Mappings, applied: list[RuleApplied], errors: list[MappingError]) -> str | None:
    for gateway in order.payment_gateway_names:
        terms = mappings.terms_by_gateway.get(gateway.casefold())
        if terms:
            return terms
    default = mappings.rules.default_terms
    names = ", ".join(order.payment_gateway_names) or "(none)"
    if default:
        applied.append(RuleApplied("TERMS", "default_terms", names, default))
        return default
    errors.append(MappingError("payment_gateway_names", "unmapped_gateway", f"payment gateway(s) {names} have no MAX "
                               "terms in include/mappings/payment_gateways.csv", names))
    return None


def _exchange_rate(order: Order, applied: list[RuleApplied]) -> Decimal | None:
    """Presentment per shop unit, from the order's own totals, when the buyer paid in another currency."""
    if order.presentment_currency_code == order.currency_code:
        return None
    shop = order.total_price_set.shop_money.amount
    presented = order.total_price_set.presentment_money.amount
    if not shop:
        return None
    rate = (presented / shop).quantize(Decimal("0.000001"))
    applied.append(RuleApplied("EXCRTE", "exchange_rate_from_order_totals",
                               f"{presented} {order.presentment_currency_code} / {shop} {order.currency_code}", str(rate)))
    return rate
