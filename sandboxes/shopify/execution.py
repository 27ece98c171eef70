"""Execute validated Admin GraphQL documents against the sandbox store with graphql-core.

The store's dicts are read by a field resolver that (1) calls a specific resolver from :data:`RESOLVERS`
when one exists for (type, field), (2) turns lists under connection-typed fields into connections with
Shopify's ``first``/``last``/``after``/``before`` rules, and (3) otherwise reads the dict key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from sandboxes.shopify.customers import customer_matches
from sandboxes.shopify.mutations import MUTATION_RESOLVERS, _refund_create
from sandboxes.shopify.orders import iso
from sandboxes.shopify.store import SandboxStore, SandboxUserError
from shopify_max.clock import utcnow

MAX_PAGE_SIZE = 250  # SHOPIFY.md §3: first/last ≤ 250
MAX_INPUT_ARRAY = 250  # SHOPIFY.md §2: input arrays ≤ 250 items


@dataclass
class ExecutionContext:
    store: SandboxStore
    base_url: str = ""
    bulk: bool = False  # inside a bulk operation connections return everything
    touched_orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (webhook topic, fulfillment)
    bulk_runner: Callable[[str], dict[str, Any]] | None = None
    replayed: set[tuple[Any, ...]] = field(default_factory=set)  # response paths of @idempotent replays
    cache: dict[str, Any] = field(default_factory=dict)  # per-request indexes (orders per customer)


@dataclass
class PreparedDocument:
    """A parsed document and its validation errors, cached by query text."""

    document: DocumentNode | None
    errors: list[GraphQLError]

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        operations = [d for d in (self.document.definitions if self.document else ())
                      if isinstance(d, OperationDefinitionNode)]
        if name:
            return next((op for op in operations if op.name and op.name.value == name), None)
        return operations[0] if len(operations) == 1 else None


class DocumentCache:
    """Parse and validate each distinct query text once; validating against the big schema is slow."""

    def __init__(self, schema: GraphQLSchema, max_entries: int = 512) -> None:
        self.schema = schema
        self._entries: dict[str, PreparedDocument] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def prepare(self, text: str) -> PreparedDocument:
        with self._lock:
            cached = self._entries.get(text)
        if cached is not None:
            return cached
        try:
            document = parse(text)
            prepared = PreparedDocument(document, list(validate(self.schema, document)))
        except GraphQLError as exc:
            prepared = PreparedDocument(None, [exc])
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[text] = prepared
        return prepared


# ----- connections -----
def _encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_cursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}",
                           extensions={"code": "BAD_REQUEST"}) from exc


def make_connection(items: list[Any], info: GraphQLResolveInfo, args: dict[str, Any],
                    key: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """A connection over ``items`` (already filtered and sorted), with cursors that encode ``key(item)``."""
    keyed = [(key(item) if key else position, item) for position, item in enumerate(items)]
    if args.get("reverse"):
        keyed.reverse()
    context: ExecutionContext = info.context
    first, last = args.get("first"), args.get("last")
    if not context.bulk:
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
        for name, size in (("first", first), ("last", last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise GraphQLError(f"The '{name}' argument must be between 0 and {MAX_PAGE_SIZE}.",
                                   extensions={"code": "BAD_REQUEST"})
    positions = {json.dumps(k): n for n, (k, _) in enumerate(keyed)}
    start, end = 0, len(keyed)
    if args.get("after"):
        start = positions.get(json.dumps(_decode_cursor(args["after"])), -1) + 1
    if args.get("before"):
        end = positions.get(json.dumps(_decode_cursor(args["before"])), end)
    window = keyed[start:end]
    has_next = has_previous = False
    if not context.bulk:
        if first is not None:
            has_next = len(window) > first or end < len(keyed)
            window = window[:first]
        if last is not None:
            has_previous = len(window) > last or start > 0
            window = window[-last:] if last else []
    has_next = has_next if first is not None else end < len(keyed)
    edges = [{"cursor": _encode_cursor(k), "node": item} for k, item in window]
    return {
        "edges": edges, "nodes": [edge["node"] for edge in edges],
        "pageInfo": {"hasNextPage": bool(has_next), "hasPreviousPage": bool(has_previous or start > 0),
                     "startCursor": edges[0]["cursor"] if edges else None,
                     "endCursor": edges[-1]["cursor"] if edges else None},
    }


# ----- search syntax -----
_TERM = re.compile(r"(\w+):(>=|<=|>|<)?('[^']*'|\"[^\"]*\"|\S+)")


def parse_search(query: str | None) -> list[tuple[str, str, str]]:
    """Shopify search terms (``updated_at:>'2026-01-01T00:00:00Z' AND sku:ABC``) as (field, op, value)."""
    return [(name, op or "=", value.strip("'\"")) for name, op, value in _TERM.findall(query or "")]


def _as_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


def _compare(actual: Any, op: str, expected: Any) -> bool:
    return {"=": actual == expected, ">": actual > expected, "<": actual < expected,
            ">=": actual >= expected, "<=": actual <= expected}[op]


def _order_matches(order: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    for name, op, value in terms:
        if name in ("updated_at", "created_at", "processed_at"):
            field_name = {"updated_at": "updatedAt", "created_at": "createdAt", "processed_at": "processedAt"}[name]
            if not _compare(_as_datetime(order[field_name]), op, _as_datetime(value)):
                return False
        elif name == "name" and order["name"].lstrip("#") != value.lstrip("#"):
            return False
        elif name == "status":
            is_open = not order["closed"] and order["cancelledAt"] is None
            if (value == "open") != is_open:
                return False
        elif name == "financial_status" and (order["displayFinancialStatus"] or "").lower() != value.lower():
            return False
        elif name == "id" and not _compare(int(order["legacyResourceId"]), op, int(value)):
            return False
    return True


_ORDER_SORT = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "PROCESSED_AT": "processedAt"}


# ----- root resolvers -----
def _orders(_root, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = info.context.store
    terms = parse_search(args.get("query"))
    orders = [order for order in store.orders.values() if _order_matches(order, terms)]
    sort_field = _ORDER_SORT.get(args.get("sortKey") or "ID")

    def key(order: dict[str, Any]) -> list[Any]:
        legacy = int(order["legacyResourceId"])
        return [order[sort_field], legacy] if sort_field else [legacy]

    orders.sort(key=key)
    return make_connection(orders, info, args, key)


def _variants(_root, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = info.context.store
    skus = [value for name, _, value in parse_search(args.get("query")) if name == "sku"]
    variants = [v for sku in skus for item in store.items_by_sku.get(sku, []) for v in item["variants"]] \
        if skus else list(store.variants.values())
    return make_connection(variants, info, args, lambda v: int(v["legacyResourceId"]))


def _inventory_items(_root, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = info.context.store
    skus = [value for name, _, value in parse_search(args.get("query")) if name == "sku"]
    items = [item for sku in skus for item in store.items_by_sku.get(sku, [])] if skus else list(store.items.values())
    return make_connection(items, info, args, lambda i: int(i["legacyResourceId"]))


_CUSTOMER_SORT = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "NAME": "displayName"}


def _orders_per_customer(info: GraphQLResolveInfo) -> dict[str, int]:
    """Customer gid -> how many of the shop's orders are theirs, counted once per request."""
    cache = info.context.cache
    if "orders_per_customer" not in cache:
        counts: dict[str, int] = {}
        for order in info.context.store.orders.values():
            if order.get("customer"):
                counts[order["customer"]["id"]] = counts.get(order["customer"]["id"], 0) + 1
        cache["orders_per_customer"] = counts
    return cache["orders_per_customer"]


def _customers(_root, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = info.context.store
    counts = _orders_per_customer(info) if "orders_count" in (args.get("query") or "") else {}
    customers = [c for c in store.customers.values()
                 if customer_matches(c, args.get("query"), counts.get(c["id"], 0))]
    sort_field = _CUSTOMER_SORT.get(args.get("sortKey") or "ID")

    def key(customer: dict[str, Any]) -> list[Any]:
        legacy = int(customer["legacyResourceId"])
        return [customer[sort_field] or "", legacy] if sort_field else [legacy]

    customers.sort(key=key)
    return make_connection(customers, info, args, key)


def _number_of_orders(source: dict[str, Any], info: GraphQLResolveInfo) -> str:
    """``Customer.numberOfOrders``: an UnsignedInt64, which Shopify sends as a string."""
    return str(_orders_per_customer(info).get(source["id"], 0))


def _lookup(collection: str) -> Callable[..., Any]:
    def resolve(_root, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002 - GraphQL argument name
        return getattr(info.context.store, collection).get(id)
    return resolve


def _node(store: SandboxStore, gid: str) -> Any:
    for collection in (store.orders, store.items, store.variants, store.locations, store.customers,
                       store.fulfillment_orders, store.fulfillments, store.products, store.bulk_operations,
                       store.refunds, store.returns):
        if gid in collection:
            return collection[gid]
    return None


# ----- mutation resolvers -----
def _idempotency_key(info: GraphQLResolveInfo) -> str | None:
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value == "idempotent":
            for argument in directive.arguments:
                if argument.name.value == "key":
                    return value_from_ast_untyped(argument.value, info.variable_values)
    return None


def _replayable(mutation: Callable[..., dict[str, Any]],
                empty: tuple[str, ...] = ("inventoryAdjustmentGroup",)) -> Callable[..., dict[str, Any]]:
    """``@idempotent(key:)``: the same key with the same input returns the first result (SHOPIFY.md §5)."""
    def resolve(root, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        key = _idempotency_key(info)
        if key is None:
            raise GraphQLError(f"The @idempotent directive is required for {info.field_name}.",
                               extensions={"code": "BAD_REQUEST"})
        store: SandboxStore = info.context.store
        fingerprint = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()
        previous = store.idempotency.get(key)
        if previous is not None:
            if previous[0] != fingerprint:
                return {**dict.fromkeys(empty), "userErrors": [{
                    "field": None, "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                    "message": "The same idempotency key was used with different parameters."}]}
            info.context.replayed.add(tuple(info.path.as_list()))
            return previous[1]
        result = mutation(root, info, **args)
        store.idempotency[key] = (fingerprint, result)
        return result
    return resolve


def _inventory_set_quantities(_root, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    store: SandboxStore = info.context.store
    if len(input["quantities"]) > MAX_INPUT_ARRAY:
        raise GraphQLError(f"The input array size of {len(input['quantities'])} is greater than the maximum "
                           f"allowed of {MAX_INPUT_ARRAY}.", extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})
    for index, quantity in enumerate(input["quantities"]):
        if "changeFromQuantity" not in quantity:
            return {"inventoryAdjustmentGroup": None, "userErrors": [{
                "field": ["input", "quantities", str(index), "changeFromQuantity"], "code": "COMPARE_QUANTITY_REQUIRED",
                "message": "changeFromQuantity must be provided (null to skip the check)."}]}
    group, errors = store.set_quantities(input["name"], input["reason"], input.get("referenceDocumentUri"),
                                         input["quantities"])
    return {"inventoryAdjustmentGroup": group, "userErrors": errors}


def _customer_set(_root, info: GraphQLResolveInfo, input: dict[str, Any], identifier=None):  # noqa: A002
    customer, errors = info.context.store.customer_set(identifier, input)
    return {"customer": customer, "userErrors": errors}


def _product_variants_bulk_update(_root, info: GraphQLResolveInfo, productId: str,  # noqa: N803
                                  variants: list[dict[str, Any]], allowPartialUpdates: bool | None = None,  # noqa: N803
                                  media: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if len(variants) > MAX_INPUT_ARRAY:
        raise GraphQLError(f"The input array size of {len(variants)} is greater than the maximum allowed of "
                           f"{MAX_INPUT_ARRAY}.", extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})
    product, updated, errors = info.context.store.update_variants(productId, variants, bool(allowPartialUpdates))
    return {"product": product, "productVariants": updated, "userErrors": errors}


def _bulk_run_query(_root, info: GraphQLResolveInfo, query: str, groupObjects: bool):  # noqa: N803
    runner = info.context.bulk_runner
    try:
        return {"bulkOperation": runner(query), "userErrors": []}
    except SandboxUserError as error:
        return {"bulkOperation": None, "userErrors": [error.as_dict()]}


# ----- field resolvers on types -----
def _quantities(source: dict[str, Any], info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
    by_name = source["quantities_by_name"]
    return [{"id": f"{source['id']}&name={name}", "name": name, "quantity": by_name.get(name, 0),
             "updatedAt": iso(utcnow())} for name in names if name in by_name or name in ("incoming", "reserved")]


def _inventory_level(source: dict[str, Any], info: GraphQLResolveInfo, locationId: str):  # noqa: N803
    return info.context.store.levels.get((source["id"], locationId))


def _duplicate_sku_count(source: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return info.context.store.duplicate_sku_count(source.get("sku"))


def _owner_metafield(source: dict[str, Any], info: GraphQLResolveInfo, key: str, namespace: str | None = None):
    """``metafield(namespace:, key:)`` of an order or a customer (no namespace: the app's own, ``$app``)."""
    return next((m for m in source.get("metafields", []) if m["key"] == key and
                 m["namespace"] == (namespace or "$app")), None)


def _owner_metafields(source: dict[str, Any], info: GraphQLResolveInfo, namespace: str | None = None,
                      keys: list[str] | None = None, **args: Any) -> dict[str, Any]:
    """``metafields`` of an order or a customer: all of them, or one namespace's, or the ``namespace.key`` names
    in ``keys``."""
    metafields = [m for m in source.get("metafields", [])
                  if (namespace is None or m["namespace"] == namespace)
                  and (keys is None or f"{m['namespace']}.{m['key']}" in keys)]
    return make_connection(metafields, info, args)


RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("QueryRoot", "shop"): lambda _r, info: info.context.store.shop,
    ("QueryRoot", "locations"): lambda _r, info, **a: make_connection(
        [loc for loc in info.context.store.locations.values() if loc["isActive"] or a.get("includeInactive")],
        info, a),
    ("QueryRoot", "location"): lambda _r, info, id=None: (  # noqa: A002
        info.context.store.locations.get(id) if id else next(iter(info.context.store.locations.values()))),
    ("QueryRoot", "orders"): _orders,
    ("QueryRoot", "order"): _lookup("orders"),
    ("QueryRoot", "productVariants"): _variants,
    ("QueryRoot", "productVariant"): _lookup("variants"),
    ("QueryRoot", "inventoryItems"): _inventory_items,
    ("QueryRoot", "inventoryItem"): _lookup("items"),
    ("QueryRoot", "customer"): _lookup("customers"),
    ("QueryRoot", "customers"): _customers,
    ("QueryRoot", "fulfillmentOrder"): _lookup("fulfillment_orders"),
    ("QueryRoot", "fulfillment"): _lookup("fulfillments"),
    ("QueryRoot", "bulkOperation"): _lookup("bulk_operations"),
    ("QueryRoot", "return"): _lookup("returns"),
    ("QueryRoot", "node"): lambda _r, info, id: _node(info.context.store, id),  # noqa: A002
    ("QueryRoot", "nodes"): lambda _r, info, ids: [_node(info.context.store, gid) for gid in ids],
    ("Mutation", "inventorySetQuantities"): _replayable(_inventory_set_quantities),
    ("Mutation", "refundCreate"): _replayable(_refund_create, ("refund", "order")),
    ("Mutation", "customerSet"): _customer_set,
    ("Mutation", "productVariantsBulkUpdate"): _product_variants_bulk_update,
    ("Mutation", "bulkOperationRunQuery"): _bulk_run_query,
    ("InventoryLevel", "quantities"): _quantities,
    ("InventoryItem", "inventoryLevel"): _inventory_level,
    ("InventoryItem", "duplicateSkuCount"): _duplicate_sku_count,
    ("Order", "metafield"): _owner_metafield,
    ("Order", "metafields"): _owner_metafields,
    ("Customer", "metafield"): _owner_metafield,
    ("Customer", "metafields"): _owner_metafields,
    ("Customer", "numberOfOrders"): _number_of_orders,
    **MUTATION_RESOLVERS,
}


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """The sandbox's default resolver (see module docstring). Every mutation field executes here, so this is
    where the write log (:mod:`sandboxes.shopify.writes`) records each one whose resolver returned."""
    specific = RESOLVERS.get((info.parent_type.name, info.field_name))
    if specific is not None:
        value = specific(source, info, **args)
        if info.parent_type.name == "Mutation":
            info.context.store.writes.record(info.field_name, args, value,
                                             replayed=tuple(info.path.as_list()) in info.context.replayed)
        return value
    value = source.get(info.field_name) if isinstance(source, dict) else getattr(source, info.field_name, None)
    if isinstance(value, list) and get_named_type(info.return_type).name.endswith("Connection"):
        return make_connection(value, info, args)
    if callable(value):
        return value(info, **args)
    return value


def run_document(schema: GraphQLSchema, document: DocumentNode, context: ExecutionContext,
                 variables: dict[str, Any] | None, operation_name: str | None):
    """Execute a validated document; returns graphql-core's ExecutionResult."""
    return execute(schema, document, root_value={}, context_value=context, variable_values=variables,
                   operation_name=operation_name, field_resolver=resolve_field)


# ----- bulk operations -----
def flatten_bulk_result(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Shopify's JSONL layout: one line per node; nested connection nodes carry ``__parentId``."""
    lines: list[dict[str, Any]] = []

    def emit(node: dict[str, Any], parent_id: str | None) -> None:
        flat: dict[str, Any] = {}
        children: list[list[dict[str, Any]]] = []
        for key, value in node.items():
            if isinstance(value, dict) and ("edges" in value or "nodes" in value):
                children.append([edge["node"] for edge in value.get("edges", [])] + list(value.get("nodes", [])))
            else:
                flat[key] = value
        if parent_id is not None:
            flat["__parentId"] = parent_id
        lines.append(flat)
        for child_nodes in children:
            for child in child_nodes:
                emit(child, node.get("id"))

    for value in data.values():
        if isinstance(value, dict):
            for edge in value.get("edges", []):
                emit(edge["node"], None)
            for node in value.get("nodes", []):
                emit(node, None)
    return lines


def write_jsonl(lines: list[dict[str, Any]], path: Path) -> int:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path.stat().st_size
