"""``map_order_to_sales_order``: one Shopify order → one Exact MAX sales order, or a skip, or errors.

Order of work: skip rules → header text (CUSTPO, COMNT1, UDFREF, date, currency) → customer → ship-to →
amounts → lines (SKU, UOM, discounts, taxes) → shipping → payment terms → currency → header taxes → totals.
Every error found is reported (not just the first), so a person fixes an order in one pass, and none is
invented: when an amount is unusable the totals are not checked (their figures would mean nothing), but
every line's SKU still is. Every error names a field and a rule; nothing is raised.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ValidationError

from shopify_max.exactmax.models import SalesOrder, SalesOrderLine
from shopify_max.exactmax_limits import (
    FIELD_LENGTHS,
    MAX_LINES_PER_ORDER,
    NUMBER_INTEGER_DIGITS,
    TAX_CODE_SLOTS,
    YYMMDD_FIRST_YEAR,
    YYMMDD_LAST_YEAR,
)
from shopify_max.mappings.loader import Mappings
from shopify_max.money import CENT
from shopify_max.orders.addresses import map_address
from shopify_max.orders.allocation import allocate_to_cents
from shopify_max.orders.customers import decide_customer
from shopify_max.orders.lines import LineAmounts, to_rows
from shopify_max.orders.outcome import (
    XML_ILLEGAL_CHARACTERS,
    MappedOrder,
    MappingError,
    MappingRefused,
    RuleApplied,
    excerpt,
)
from shopify_max.orders.text_rules import refuse_absurd_length, refuse_xml_illegal, transliterate
from shopify_max.orders.totals import max_document_check, shopify_total_check
from shopify_max.shopify.models import Order
from shopify_max.sync_store.states import RunOutcomeCode

_UNIT_PRICE_PLACES = Decimal("0.0001")
MAX_NUMBER = Decimal(10) ** NUMBER_INTEGER_DIGITS  # no amount or quantity sent to MAX reaches this
_TOO_LARGE = f"is too large: MAX numbers hold at most {NUMBER_INTEGER_DIGITS} digits before the point"


def custpo_for(order: Order, custpo_format: str) -> str:
    return custpo_format.format(name=order.name, number=order.number)


def map_order_to_sales_order(order: Order, mappings: Mappings, *, known_custid: str | None = None) -> MappedOrder:
    rules = mappings.rules
    result = MappedOrder(order_gid=order.id, order_name=order.name, custpo=custpo_for(order, rules.custpo_format))
    applied, errors = result.rules_applied, result.errors
    applied += [RuleApplied(repair.field, repair.rule, repair.before, repair.after) for repair in order.text_repairs]

    if order.cancelled_at is not None:
        return result.skip(RunOutcomeCode.CANCELLED_BEFORE_EXPORT,
                           f"cancelled in Shopify at {order.cancelled_at.isoformat()} before export")
    if order.test and rules.test_orders == "skip":
        return result.skip(RunOutcomeCode.TEST_ORDER, "test order (Shopify marks it test: true; test_orders is skip)")
    header = _header_text(order, mappings, applied, errors)
    result.custpo = header["CUSTPO"]

    decision = None
    try:
        decision = decide_customer(order, rules, known_custid, applied)
        result.new_customer, result.customer_gid = decision.new_customer, decision.customer_gid
    except MappingRefused as exc:
        errors.append(exc.error)
    ship_to: dict[str, str | None] = {}
    try:
        ship_to = map_address(order.shipping_address or order.billing_address, "ship_to", rules, applied)
    except MappingRefused as exc:
        errors.append(exc.error)

    amount_errors = _unusable_amounts(order)
    errors += amount_errors
    priced_lines, lines_gross, excluded_from_total, figures_ok = _price_item_lines(
        order, mappings, applied, errors, figures_ok=not amount_errors)
    if figures_ok:
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
            result.line_sources.append(line.line_source(linnum))

    header_codes: list[str] = []
    for row in rows:
        for code in (row.TAXCDE1, row.TAXCDE2, row.TAXCDE3):
            if code and code not in header_codes:
                header_codes.append(code)
    if len(header_codes) > TAX_CODE_SLOTS:
        errors.append(MappingError("tax_lines", "too_many_tax_codes",
                                   f"the order uses {len(header_codes)} MAX tax codes ({', '.join(header_codes)}); "
                                   f"the header holds {TAX_CODE_SLOTS}", ", ".join(header_codes)))

    if figures_ok:
        total_discounts = order.total_discounts_set.shop_money.amount if order.total_discounts_set else Decimal(0)
        if (mismatch := shopify_total_check(order, lines_gross, total_discounts)) is not None:
            errors.append(mismatch)
    exchange_rate = _exchange_rate(order, applied, errors)
    if errors or decision is None:
        return result
    if not rows:
        return result.skip(RunOutcomeCode.NOTHING_TO_EXPORT, "nothing to export: every line was skipped by a rule")

    tax_total = sum((tax for row in rows for tax in (row.TAX1, row.TAX2, row.TAX3) if tax is not None), Decimal(0))
    address = {key: value for key, value in ship_to.items() if value is not None}
    try:
        sales_order = SalesOrder(
            CUSTID=decision.custid, ORDDTE=order.processed_at.date(), TERMS=terms, SHPVIA=ship_via,
            TAXCD1=header_codes[0] if header_codes else None,
            TAXCD2=header_codes[1] if len(header_codes) > 1 else None,
            TAXCD3=header_codes[2] if len(header_codes) > 2 else None,
            TTAX=tax_total, TAXABL="N" if order.tax_exempt else "Y", EXCRTE=exchange_rate,
            lines=rows, **header, **address,
        )
    except ValidationError as exc:
        for problem in exc.errors():
            location = ".".join(str(part) for part in problem["loc"])
            errors.append(MappingError(location, "invalid", problem["msg"], str(problem.get("input"))))
        return result
    errors += _xml_illegal_values("sales_order", sales_order) + _xml_illegal_values("new_customer", result.new_customer)
    if errors:
        return result

    expected_total = order.total_price_set.shop_money.amount - excluded_from_total
    if (mismatch := max_document_check(sales_order, expected_total)) is not None:
        errors.append(mismatch)
        return result
    result.sales_order = sales_order
    return result


def _header_text(order: Order, mappings: Mappings, applied: list[RuleApplied],
                 errors: list[MappingError]) -> dict[str, str]:
    """CUSTPO, COMNT1, UDFREF and CURR from the order, by the same text rules as addresses (each recorded)."""
    rules, header = mappings.rules, {}
    try:
        refuse_absurd_length(order.name, "name")
        refuse_xml_illegal(order.name, "name")
        name = transliterate(order.name, "name", rules.transliteration, applied)
    except MappingRefused as exc:
        errors.append(exc.error)
        name = order.name
    custpo = rules.custpo_format.format(name=name, number=order.number)
    header["CUSTPO"] = custpo
    if len(custpo) > FIELD_LENGTHS["CUSTPO"]:
        errors.append(MappingError("name", "too_long", f"CUSTPO {excerpt(custpo)} is {len(custpo)} characters; MAX "
                                   f"holds {FIELD_LENGTHS['CUSTPO']} (custpo_format in order_rules.yaml)", custpo))
    comment, limit = f"Shopify order {name}", FIELD_LENGTHS["COMNT"]
    if len(comment) > limit:
        applied.append(RuleApplied("COMNT1", "comment_shortened", comment, comment[:limit]))
        comment = comment[:limit]
    header["COMNT1"] = comment
    reference = order.legacy_resource_id
    if len(reference) > FIELD_LENGTHS["UDFREF"]:  # an informational copy of the order id: never cut, left out
        applied.append(RuleApplied("UDFREF", "udfref_left_blank_too_long", reference, ""))
    else:
        header["UDFREF"] = reference
    currency = order.currency_code
    try:
        refuse_xml_illegal(currency, "currency_code")
        if len(currency) > FIELD_LENGTHS["CURR"]:
            raise MappingRefused(MappingError("currency_code", "too_long", f"currency {excerpt(currency)} is "
                                              f"{len(currency)} characters; MAX's CURR holds {FIELD_LENGTHS['CURR']}",
                                              currency))
        header["CURR"] = currency
    except MappingRefused as exc:
        errors.append(exc.error)
    year = order.processed_at.year
    if not YYMMDD_FIRST_YEAR <= year <= YYMMDD_LAST_YEAR:
        errors.append(MappingError("processed_at", "date_out_of_range",
                                   f"order date {order.processed_at.date().isoformat()} cannot travel as yyMMdd: MAX "
                                   f"would read it in {YYMMDD_FIRST_YEAR}-{YYMMDD_LAST_YEAR}",
                                   order.processed_at.isoformat()))
    return header


def _amount_problem(amount: Decimal) -> tuple[str, str] | None:
    """(rule, message) when ``amount`` cannot be a money figure of a MAX order."""
    if not amount.is_finite():
        return "bad_money", "is not a number"
    if abs(amount) >= MAX_NUMBER:
        return "amount_out_of_range", _TOO_LARGE
    if amount < 0:
        return "bad_money", "is below 0"
    if amount != amount.quantize(CENT):
        return "bad_money", "is not a whole number of cents"
    return None


def _unusable_amounts(order: Order) -> list[MappingError]:
    """Every amount and quantity the mapping computes with, checked before any arithmetic is done with them."""
    amounts = [("total_price", order.total_price_set.shop_money.amount),
               ("total_shipping_price", order.total_shipping_price_set.shop_money.amount)]
    if order.total_discounts_set:
        amounts.append(("total_discounts", order.total_discounts_set.shop_money.amount))
    if order.total_tax_set:
        amounts.append(("total_tax", order.total_tax_set.shop_money.amount))
    for kind, lines in (("line_items", order.line_items), ("shipping_lines", order.shipping_lines)):
        for index, line in enumerate(lines):
            price_set = line.original_unit_price_set if kind == "line_items" else line.original_price_set
            amounts.append((f"{kind}[{index}].price", price_set.shop_money.amount))
            amounts += [(f"{kind}[{index}].discount_allocations[{n}].amount", a.allocated_amount_set.shop_money.amount)
                        for n, a in enumerate(line.discount_allocations)]
            amounts += [(f"{kind}[{index}].tax_lines[{n}].price", t.price_set.shop_money.amount)
                        for n, t in enumerate(line.tax_lines)]
    errors = [MappingError(field, problem[0], f"{field} {excerpt(str(amount))} {problem[1]}", str(amount))
              for field, amount in amounts if (problem := _amount_problem(amount)) is not None]
    for index, item in enumerate(order.line_items):
        if item.quantity <= 0:
            errors.append(MappingError(f"line_items[{index}].quantity", "not_positive",
                                       f"quantity {item.quantity} must be above 0", str(item.quantity)))
        elif item.quantity >= MAX_NUMBER:
            errors.append(MappingError(f"line_items[{index}].quantity", "quantity_out_of_range",
                                       f"quantity {excerpt(str(item.quantity))} {_TOO_LARGE}", str(item.quantity)))
    return errors


def _xml_illegal_values(prefix: str, model: BaseModel | None) -> list[MappingError]:
    """A last check of every text of a built MAX document (mapping files included): XML must carry each."""
    errors: list[MappingError] = []
    for name, value in model or ():
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            field = f"{prefix}.{name}" + (f"[{index}]" if isinstance(value, list) else "")
            if isinstance(item, BaseModel):
                errors += _xml_illegal_values(field, item)
            elif isinstance(item, str) and (bad := XML_ILLEGAL_CHARACTERS.search(item)) is not None:
                errors.append(MappingError(field, "xml_illegal_character", f"holds the control character "
                                           f"U+{ord(bad.group()):04X}, which XML (and so MAX) cannot carry", item))
    return errors


def _price_item_lines(order: Order, mappings: Mappings, applied: list[RuleApplied], errors: list[MappingError],
                      *, figures_ok: bool) -> tuple[list[LineAmounts], Decimal, Decimal, bool]:
    """Priced product lines, the gross of all line items, what rules excluded from the total, and whether the
    figures are usable. With unusable figures (``figures_ok`` False, or discounts that do not add up) nothing
    is priced, but every line's SKU is still checked."""
    rules = mappings.rules
    gross_by_line: list[Decimal] = []
    allocated: list[Decimal] = []
    if figures_ok:
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
            figures_ok = False
        elif unallocated > 0 and not order.line_items:
            errors.append(MappingError("total_discounts", "discount_without_lines",
                                       f"{unallocated} of the order's discounts are not allocated to shipping, and the "
                                       "order has no line items to spread them over", str(total_discounts)))
            figures_ok = False
        elif unallocated > 0:
            shares = allocate_to_cents(unallocated, gross_by_line)
            applied.append(RuleApplied("total_discounts", "order_discount_allocated_to_lines", str(unallocated),
                                       ", ".join(str(share) for share in shares)))
            allocated = [a + s for a, s in zip(allocated, shares, strict=True)]

    priced, excluded = [], Decimal(0)
    for index, item in enumerate(order.line_items):
        source = f"line_items[{index}]"
        net = line_tax = Decimal(0)
        if figures_ok:
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
            errors.append(MappingError(f"{source}", "gift_card",
                                       f"gift card line {excerpt(item.name)}: gift_card_lines is error", item.name))
            continue
        if figures_ok and net == 0 and rules.zero_price_lines == "skip":
            applied.append(RuleApplied(source, "zero_price_line_skipped", item.name, ""))
            continue
        if not item.sku:
            if rules.custom_line_part_number is None:
                errors.append(MappingError(f"{source}.sku", "missing_sku", f"line {excerpt(item.name)} has no SKU and "
                                           "custom_line_part_number is not set", None))
                continue
            applied.append(RuleApplied(f"{source}.sku", "custom_line_part", "", rules.custom_line_part_number))
            part_number, uom, factor = rules.custom_line_part_number, None, 1
        else:
            mapping = mappings.parts_by_sku.get(item.sku)
            if mapping is None:
                errors.append(MappingError(f"{source}.sku", "unmapped_sku", f"SKU {excerpt(item.sku)} "
                                           f"({excerpt(item.name)}) has no MAX part in include/mappings/sku_to_part.csv",
                                           item.sku))
                continue
            part_number, uom, factor = mapping.part_number, mapping.sales_uom, mapping.uom_factor
        if not figures_ok:
            continue
        quantity = item.quantity * factor
        if quantity >= MAX_NUMBER:
            errors.append(MappingError(f"{source}.quantity", "quantity_out_of_range",
                                       f"{item.quantity} x {factor} (the UOM factor) {_TOO_LARGE}", str(item.quantity)))
            continue
        if factor != 1:
            applied.append(RuleApplied(f"{source}.quantity", "uom_factor", f"{item.quantity} {item.sku}",
                                       f"{quantity} {uom} of {part_number}"))
        list_price = item.original_unit_price_set.shop_money.amount / factor
        if order.taxes_included and line_tax and item.quantity:
            list_price -= line_tax / item.quantity / factor
        priced.append(LineAmounts(source, part_number, uom, quantity, list_price.quantize(_UNIT_PRICE_PLACES), net,
                                  list(item.tax_lines), item.taxable and not order.tax_exempt,
                                  ships_from_stock=bool(item.sku), line_item_gid=item.id, sku=item.sku or None,
                                  uom_factor=factor))
    return priced, sum(gross_by_line, Decimal(0)), excluded, figures_ok


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


def _exchange_rate(order: Order, applied: list[RuleApplied], errors: list[MappingError]) -> Decimal | None:
    """Presentment per shop unit, from the order's own totals, when the buyer paid in another currency."""
    if order.presentment_currency_code == order.currency_code:
        return None
    shop = order.total_price_set.shop_money.amount
    presented = order.total_price_set.presentment_money.amount
    if _amount_problem(shop) is not None or not shop:
        return None  # an unusable shop total is reported with the other amounts
    if (problem := _amount_problem(presented)) is not None:
        field = "total_price_set.presentment_money.amount"
        errors.append(MappingError(field, problem[0], f"{field} {excerpt(str(presented))} {problem[1]}", str(presented)))
        return None
    rate = (presented / shop).quantize(Decimal("0.000001"))
    if rate >= MAX_NUMBER:
        errors.append(MappingError("total_price_set.presentment_money.amount", "exchange_rate_out_of_range",
                                   f"{presented} {order.presentment_currency_code} / {shop} {order.currency_code} "
                                   f"= {rate}, which {_TOO_LARGE}", str(rate)))
        return None
    applied.append(RuleApplied("EXCRTE", "exchange_rate_from_order_totals",
                               f"{presented} {order.presentment_currency_code} / {shop} {order.currency_code}", str(rate)))
    return rate
