"""Master data on Shopify, mixed into :class:`~shopify_max.shopify.api.ShopifyAdminApi` (so ``ShopifyHook`` has it):
customers (bulk and paged reads, ``customerSet``), variants (bulk read, price updates) and the codes recent orders
carry, for the go-live check.

Writes refuse to run inside :func:`~shopify_max.dry_run.dry_run_guard` before anything is sent; the bulk reads run
(a bulk read starts with ``bulkOperationRunQuery``, which the guard lets through). ``userErrors`` come back as
data: a bad record is a value the caller can queue, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shopify_max.clock import as_utc
from shopify_max.dry_run import refuse_write_in_dry_run
from shopify_max.money import to_money
from shopify_max.shopify import documents as base_documents
from shopify_max.shopify import master_data_documents as documents
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.errors import ShopifyBulkOperationError
from shopify_max.shopify.limits import MAX_INPUT_ARRAY_ITEMS
from shopify_max.shopify.master_data_models import (
    TAX_EXEMPTIONS,
    CustomerSetOutcome,
    FieldError,
    OrderCodesRecord,
    ShopifyCustomerRecord,
    ShopifyVariantRecord,
    TaxRateCode,
)

if TYPE_CHECKING:
    from shopify_max.shopify.client import ShopifyClient

# One customers page asks for 2 + n × 16 points with 10 metafields each (a customer, its e-mail, phone and address
# objects, and the metafields connection): 60 customers stay under the 1,000-point single-query cost (SHOPIFY.md §2);
# tests/shopify/test_master_data_api.py checks the requested cost against the sandbox.
CUSTOMERS_PER_PAGE_MAX = 60
METAFIELDS_PER_CUSTOMER_READ = 10
METAFIELDS_PER_PAGE = 50  # the follow-up pages read one customer's metafields only
METAFIELDS_PER_SET = 25  # metafieldsSet takes at most 25 metafields per call


def _search_time(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _field_errors(raw: list[dict[str, Any]] | None) -> list[FieldError]:
    return [FieldError(error.get("field"), error["message"], error.get("code")) for error in raw or []]


def _rate(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))  # a GraphQL Float, read exactly from its repr


def customer_record(node: dict[str, Any], metafields: Sequence[dict[str, Any]]) -> ShopifyCustomerRecord:
    """A ``Customer`` read with ``CustomerRecordFields`` and its metafields → :class:`ShopifyCustomerRecord`."""
    address = node.get("defaultAddress") or {}
    return ShopifyCustomerRecord(
        id=node["id"], legacy_id=node["legacyResourceId"], first_name=node.get("firstName"),
        last_name=node.get("lastName"), display_name=node.get("displayName"),
        email=(node.get("defaultEmailAddress") or {}).get("emailAddress"),
        phone=(node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        company=address.get("company"), zip=address.get("zip"), city=address.get("city"),
        province_code=address.get("provinceCode"), country_code=address.get("countryCodeV2"),
        number_of_orders=int(node.get("numberOfOrders") or 0),  # an UnsignedInt64: a string on the wire
        tax_exempt=bool(node.get("taxExempt")), tax_exemptions=list(node.get("taxExemptions") or []),
        tags=list(node.get("tags") or []),
        metafields={f"{m['namespace']}.{m['key']}": m["value"] for m in metafields},
        updated_at=node["updatedAt"])


def variant_record(node: dict[str, Any]) -> ShopifyVariantRecord:
    product = node["product"]
    return ShopifyVariantRecord(
        id=node["id"], legacy_id=node["legacyResourceId"], sku=node.get("sku") or None, title=node["title"],
        price=node["price"], taxable=node["taxable"],
        selected_options=[(option["name"], option["value"]) for option in node.get("selectedOptions") or []],
        product_id=product["id"], product_title=product["title"], product_status=product["status"])


def _input_problems(values: dict[str, Any], metafields: Sequence[dict[str, Any]]) -> list[FieldError]:
    """What Shopify would refuse as a whole request (a GraphQL error, not a userError): reported per field instead."""
    problems = [FieldError(["input", "taxExemptions", str(index)],
                           f"{exemption!r} is not a TaxExemption", "INCLUSION")
                for index, exemption in enumerate(values.get("taxExemptions") or []) if exemption not in TAX_EXEMPTIONS]
    for index, metafield in enumerate(metafields):
        missing = [key for key in ("key", "type", "value") if not metafield.get(key)]
        if missing:
            problems.append(FieldError(["input", "metafields", str(index), missing[0]],
                                       f"metafield {missing[0]} is required", "BLANK"))
    return problems


class MasterDataApi:
    """The master-data part of :class:`~shopify_max.shopify.api.ShopifyAdminApi` (which provides ``client``)."""

    client: ShopifyClient

    # ----- customers -----
    def bulk_customers(self, updated_since: datetime | None = None, *,
                       runner: BulkOperationRunner | None = None) -> Iterator[ShopifyCustomerRecord]:
        """Every customer (updated at or after ``updated_since``, when given) with all its metafields, from one bulk
        operation, streamed. Grouped output puts each customer's metafields right after it."""
        runner = runner or BulkOperationRunner(self.client)
        search = None if updated_since is None else f"updated_at:>='{_search_time(updated_since)}'"
        current: dict[str, Any] | None = None
        metafields: list[dict[str, Any]] = []
        for row in runner.run(documents.with_search(documents.BULK_CUSTOMERS, search), group_objects=True):
            if "__parentId" not in row:
                if current is not None:
                    yield customer_record(current, metafields)
                current, metafields = row, []
                continue
            if current is None or row["__parentId"] != current["id"]:
                raise ShopifyBulkOperationError(f"bulk customers: a metafield of {row['__parentId']} is out of its "
                                                "group")
            metafields.append(row)
        if current is not None:
            yield customer_record(current, metafields)

    def iter_customers(self, page_size: int = 250, query: str | None = None) -> Iterator[ShopifyCustomerRecord]:
        """Every customer (or those Shopify's search ``query`` finds, e.g. ``"email:'a@b.example'"``), by id, page by
        page: for small shops, or a few customers. A page holds at most :data:`CUSTOMERS_PER_PAGE_MAX` customers
        (``page_size`` above that is lowered), so one request stays under the single-query cost."""
        variables = {"query": query, "metafieldsFirst": METAFIELDS_PER_CUSTOMER_READ}
        for node in self.client.paginate(documents.CUSTOMERS_PAGE, variables, ("customers",),
                                         min(page_size, CUSTOMERS_PER_PAGE_MAX)):
            yield customer_record(node, self._all_metafields(node))

    def _all_metafields(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """A customer's metafields: the first page came with the customer; a customer with more pages on."""
        connection = node["metafields"]
        metafields = list(connection["nodes"])
        while connection["pageInfo"]["hasNextPage"]:
            page = self.client.execute(documents.CUSTOMER_METAFIELDS_PAGE, {
                "id": node["id"], "first": METAFIELDS_PER_PAGE, "after": connection["pageInfo"]["endCursor"]}).data
            connection = page["customer"]["metafields"]
            metafields.extend(connection["nodes"])
        return metafields

    def set_customer_account(self, values: dict[str, Any], identifier: dict[str, Any] | None) -> CustomerSetOutcome:
        """``customerSet`` with ``values`` as ``CustomerSetInput`` and ``identifier`` as ``CustomerSetIdentifiers``
        ({"id": gid}, {"email": …} (then ``values`` must carry the same e-mail), {"phone": …}, or None to create).

        Shopify's semantics: omitted fields stay as they are, ``tags`` and ``taxExemptions`` replace the lists held.
        ``CustomerSetInput`` has no metafields (2026-07): a ``values["metafields"]`` list of {namespace, key, type,
        value} is written after the customer with ``metafieldsSet``, only those whose value differs. A value the
        schema cannot take (a TaxExemption that does not exist) is a user error here, and nothing is sent.
        """
        refuse_write_in_dry_run("Shopify mutation CustomerSetAccount")
        values = dict(values)
        metafields = list(values.pop("metafields", None) or [])
        problems = _input_problems(values, metafields)
        if problems:
            return CustomerSetOutcome(user_errors=problems)
        payload = self.client.execute(documents.CUSTOMER_SET_ACCOUNT, {
            "identifier": identifier, "input": values,
            "metafieldsFirst": METAFIELDS_PER_PAGE}).data["customerSet"]
        node = payload.get("customer")
        errors = _field_errors(payload.get("userErrors"))
        if errors or node is None:
            return CustomerSetOutcome(user_errors=errors)
        held = {(m["namespace"], m["key"]): m for m in self._all_metafields(node)}
        changed = [(index, m) for index, m in enumerate(metafields)
                   if (held.get((m.get("namespace") or "$app", m["key"])) or {}).get("value") != m["value"]]
        for start in range(0, len(changed), METAFIELDS_PER_SET):
            batch = changed[start:start + METAFIELDS_PER_SET]
            data = self.client.execute(base_documents.METAFIELDS_SET, {"metafields": [
                {"ownerId": node["id"], **metafield} for _, metafield in batch]}).data["metafieldsSet"]
            for error in data.get("userErrors") or []:
                field = list(error.get("field") or [])
                position = error.get("elementIndex")
                if position is None and len(field) >= 2 and field[1].isdigit():
                    position = int(field[1])
                index = batch[position][0] if position is not None and position < len(batch) else None
                rest = field[2:] if len(field) >= 2 else field
                errors.append(FieldError(["input", "metafields", *([str(index)] if index is not None else []), *rest],
                                         error["message"], error.get("code")))
            for written in data.get("metafields") or []:
                held[(written["namespace"], written["key"])] = written
        return CustomerSetOutcome(customer=customer_record(node, list(held.values())), user_errors=errors)

    # ----- variants -----
    def bulk_variants(self, *, runner: BulkOperationRunner | None = None) -> Iterator[ShopifyVariantRecord]:
        """Every variant of the shop with its price, taxable flag, options and product, from one bulk operation.
        SKUs are not unique in Shopify: two records may carry the same one."""
        runner = runner or BulkOperationRunner(self.client)
        for row in runner.run(documents.BULK_VARIANTS):
            yield variant_record(row)

    def update_variant_prices(self, product_id: str, prices: list[tuple[str, Decimal]]) -> list[FieldError]:
        """Set the price of variants of one product (``productVariantsBulkUpdate``, at most 250 per call: SHOPIFY.md
        §2). Returns the userErrors, their ``variants`` index counted across all ``prices``; each call is all or
        nothing (a variant that is not the product's stops its call)."""
        refuse_write_in_dry_run("Shopify mutation ProductVariantsBulkUpdate")
        variants = [{"id": variant_id, "price": str(to_money(price, f"price of {variant_id}"))}
                    for variant_id, price in prices]
        errors: list[FieldError] = []
        for start in range(0, len(variants), MAX_INPUT_ARRAY_ITEMS):
            data = self.client.execute(documents.PRODUCT_VARIANTS_BULK_UPDATE, {
                "productId": product_id,
                "variants": variants[start:start + MAX_INPUT_ARRAY_ITEMS]}).data["productVariantsBulkUpdate"]
            for error in _field_errors(data.get("userErrors")):
                field = list(error.field or [])
                if len(field) >= 2 and field[0] == "variants" and field[1].isdigit():
                    field[1] = str(int(field[1]) + start)
                errors.append(FieldError(field or None, error.message, error.code))
        return errors

    # ----- codes on recent orders -----
    def bulk_order_codes(self, created_since: datetime, *,
                         runner: BulkOperationRunner | None = None) -> Iterator[OrderCodesRecord]:
        """Orders created at or after ``created_since``, oldest first, each with the tax titles and rates, payment
        gateways and shipping methods it carries: what must map to MAX codes. One bulk operation, grouped."""
        runner = runner or BulkOperationRunner(self.client)
        search = f"created_at:>='{_search_time(created_since)}'"
        current: dict[str, Any] | None = None
        for row in runner.run(documents.with_search(documents.BULK_ORDER_CODES, search), group_objects=True):
            if "__parentId" not in row:
                if current is not None:
                    yield _order_codes(current)
                current = {**row, "shippingLines": [], "lineItems": []}
                continue
            if current is None or row["__parentId"] != current["id"]:
                raise ShopifyBulkOperationError(f"bulk order codes: a child of {row['__parentId']} is out of its "
                                                "group")
            current["shippingLines" if row.get("__typename") == "ShippingLine" else "lineItems"].append(row)
        if current is not None:
            yield _order_codes(current)


def _order_codes(order: dict[str, Any]) -> OrderCodesRecord:
    rates: dict[tuple[str, Decimal | None], None] = {}
    for holder in (order, *order["lineItems"], *order["shippingLines"]):
        for tax in holder.get("taxLines") or []:
            rates[(tax["title"], _rate(tax.get("rate")))] = None
    shipping = order["shippingLines"]
    return OrderCodesRecord(
        id=order["id"], name=order["name"], created_at=order["createdAt"], test=bool(order.get("test")),
        tax_lines=[TaxRateCode(title, rate) for title, rate in rates],
        gateways=list(order.get("paymentGatewayNames") or []),
        shipping_titles=[line["title"] for line in shipping if line.get("title")],
        shipping_codes=[line["code"] for line in shipping if line.get("code")])
