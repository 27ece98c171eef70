"""Order writes other than fulfilment, mixed into the store: tags, metafields, close, capture, mark as paid.

``metafieldsSet`` is all-or-nothing and validates as Shopify does: namespace 3–255 and key 2–64 characters of
letters, digits, ``-`` and ``_`` (``$app`` namespaces allowed), a known type, a value that parses as that type.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import cents, iso, refresh_payment
from shopify_max.clock import utcnow

MAX_METAFIELDS_PER_CALL = 25
METAFIELD_TYPES = {"single_line_text_field", "multi_line_text_field", "number_integer", "number_decimal", "boolean",
                   "json", "date", "date_time", "url", "money", "rich_text_field", "color", "weight", "id"}
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_APP_NAMESPACE = re.compile(r"^\$app(:[A-Za-z0-9_-]+)?$")


def _value_error(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid ``kind`` (a scalar type), or None."""
    try:
        if kind == "number_integer":
            int(value)
        elif kind == "number_decimal":
            Decimal(value)
        elif kind == "boolean" and value not in ("true", "false"):
            return "Value must be true or false."
        elif kind in ("json", "money", "rich_text_field", "weight"):
            json.loads(value)
        elif kind == "date":
            date.fromisoformat(value)
        elif kind == "single_line_text_field" and "\n" in value:
            return "Value must be a single line text string."
    except (ValueError, InvalidOperation):
        return f"Value is invalid for the {kind} type."
    return None


class OrderOpsMixin:
    """``self`` is a :class:`SandboxStore`."""

    orders: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]]

    # ----- tags -----
    def _taggable(self, node_gid: str) -> dict[str, Any]:
        node = self.orders.get(node_gid) or self.customers.get(node_gid)
        if node is None:
            raise SandboxUserError("Invalid id.", ["id"])
        return node

    def add_tags(self, node_gid: str, tags: list[str]) -> dict[str, Any]:
        node = self._taggable(node_gid)
        for part in (t.strip() for tag in tags for t in tag.split(",")):
            if part and part.lower() not in (existing.lower() for existing in node["tags"]):
                node["tags"].append(part)
        if node["__typename"] == "Order":
            self.touch(node)
        return node

    def remove_tags(self, node_gid: str, tags: list[str]) -> dict[str, Any]:
        node = self._taggable(node_gid)
        gone = {t.strip().lower() for tag in tags for t in tag.split(",") if t.strip()}
        node["tags"] = [tag for tag in node["tags"] if tag.lower() not in gone]
        if node["__typename"] == "Order":
            self.touch(node)
        return node

    # ----- metafields -----
    def set_metafields(self, inputs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]] | None, list[dict]]:
        """``metafieldsSet``: (metafields, userErrors); nothing is written when any input is invalid."""
        if len(inputs) > MAX_METAFIELDS_PER_CALL:
            return None, [{"field": ["metafields"], "code": "LESS_THAN_OR_EQUAL_TO", "elementIndex": None,
                           "message": f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS_PER_CALL}."}]
        errors = []
        for index, values in enumerate(inputs):
            for message, field, code in self._metafield_problems(values):
                errors.append({"field": ["metafields", str(index), field], "message": message, "code": code,
                               "elementIndex": index})
        if errors:
            return None, errors
        return [self._write_metafield(values) for values in inputs], []

    def _metafield_problems(self, values: dict[str, Any]) -> list[tuple[str, str, str]]:
        problems = []
        owner = self.orders.get(values["ownerId"]) or self.customers.get(values["ownerId"])
        if owner is None:
            problems.append(("Owner does not exist.", "ownerId", "INVALID"))
        namespace, key = values.get("namespace") or "$app", values["key"]
        if not _APP_NAMESPACE.match(namespace):
            if not 3 <= len(namespace) <= 255:
                problems.append(("Namespace must be between 3 and 255 characters.", "namespace",
                                 "TOO_SHORT" if len(namespace) < 3 else "TOO_LONG"))
            elif not _NAME.match(namespace):
                problems.append(("Namespace contains one or more invalid characters.", "namespace", "INVALID"))
        if not 2 <= len(key) <= 64:
            problems.append(("Key must be between 2 and 64 characters.", "key", "TOO_SHORT" if len(key) < 2
                             else "TOO_LONG"))
        elif not _NAME.match(key):
            problems.append(("Key contains one or more invalid characters.", "key", "INVALID"))
        existing = self._metafield(owner, namespace, key) if owner else None
        kind = values.get("type") or (existing or {}).get("type")
        if not kind:
            problems.append(("Type can't be blank.", "type", "BLANK"))
        elif kind.removeprefix("list.") not in METAFIELD_TYPES:
            problems.append((f"Type '{kind}' is not a valid metafield type.", "type", "INVALID_TYPE"))
        elif kind.startswith("list."):
            try:
                items = json.loads(values["value"])
                if not isinstance(items, list):
                    raise ValueError
                bad = next((e for e in (_value_error(kind[5:], json.dumps(i) if not isinstance(i, str) else i)
                                        for i in items) if e), None)
                if bad:
                    problems.append((bad, "value", "INVALID_VALUE"))
            except ValueError:
                problems.append(("Value must be a JSON array.", "value", "INVALID_VALUE"))
        elif (bad := _value_error(kind, values["value"])) is not None:
            problems.append((bad, "value", "INVALID_VALUE"))
        return problems

    @staticmethod
    def _metafield(owner: dict[str, Any], namespace: str, key: str) -> dict[str, Any] | None:
        return next((m for m in owner.get("metafields", []) if m["namespace"] == namespace and m["key"] == key), None)

    def _write_metafield(self, values: dict[str, Any]) -> dict[str, Any]:
        owner = self.orders.get(values["ownerId"]) or self.customers[values["ownerId"]]
        namespace = values.get("namespace") or "$app"
        now = iso(utcnow())
        metafield = self._metafield(owner, namespace, values["key"])
        if metafield is None:
            gid, legacy = self.new_id("Metafield")
            metafield = {"__typename": "Metafield", "id": gid, "legacyResourceId": legacy, "namespace": namespace,
                         "key": values["key"], "createdAt": now, "ownerType": owner["__typename"].upper()}
            owner.setdefault("metafields", []).append(metafield)
        metafield.update(type=values.get("type") or metafield["type"], value=values["value"], updatedAt=now,
                         compareDigest=str(abs(hash((metafield["id"], values["value"])))))
        if owner["__typename"] == "Order":
            self.touch(owner)
        return metafield

    # ----- close, capture, mark as paid -----
    def _order(self, gid: str, field: list[str]) -> dict[str, Any]:
        order = self.orders.get(gid)
        if order is None:
            raise SandboxUserError("Order does not exist", field)
        return order

    def close_order(self, gid: str) -> dict[str, Any]:
        order = self._order(gid, ["input", "id"])
        if not order["closed"]:
            order.update(closed=True, closedAt=iso(utcnow()))
            self.touch(order)
        return order

    def capture(self, values: dict[str, Any]) -> dict[str, Any]:
        """``orderCapture`` of an authorisation: 0 < amount ≤ what is still capturable on it."""
        order = self._order(values["id"], ["input", "id"])
        parent = next((t for t in order["transactions"] if t["id"] == values["parentTransactionId"]), None)
        if parent is None or parent["kind"] != "AUTHORIZATION" or parent["status"] != "SUCCESS":
            raise SandboxUserError("Parent transaction does not exist or is not a successful authorization.",
                                   ["input", "parentTransactionId"])
        currency = order["_currency"]
        if currency.presentment != currency.shop and values.get("currency") != currency.presentment:
            raise SandboxUserError("Currency must be the order's presentment currency.", ["input", "currency"])
        try:
            amount = cents(Decimal(str(values["amount"])))
        except InvalidOperation:
            raise SandboxUserError("Amount is invalid.", ["input", "amount"]) from None
        if currency.presentment != currency.shop:
            amount = cents(amount / currency.rate)
        left = Decimal(parent["totalUnsettledSet"]["shopMoney"]["amount"])
        if amount <= 0:
            raise SandboxUserError("Amount must be greater than 0.", ["input", "amount"])
        if amount > left:
            raise SandboxUserError(f"Amount {amount} exceeds the capturable amount {left}.", ["input", "amount"])
        gid, _ = self.new_id("OrderTransaction")
        transaction = {"__typename": "OrderTransaction", "id": gid, "kind": "CAPTURE", "status": "SUCCESS",
                       "gateway": parent["gateway"], "parentTransaction": parent, "order": order,
                       "amountSet": currency.bag(amount), "createdAt": iso(utcnow()), "processedAt": iso(utcnow()),
                       "_amount": amount, "manuallyCapturable": False, "multiCapturable": True, "test": False}
        order["transactions"].append(transaction)
        refresh_payment(order)
        order["displayFinancialStatus"] = "PAID" if order["fullyPaid"] else "PARTIALLY_PAID"
        self.touch(order)
        return transaction

    def mark_as_paid(self, gid: str) -> dict[str, Any]:
        order = self._order(gid, ["input", "id"])
        if not order["canMarkAsPaid"]:
            raise SandboxUserError("Order cannot be marked as paid.", ["input", "id"])
        outstanding = Decimal(order["totalOutstandingSet"]["shopMoney"]["amount"])
        tx_gid, _ = self.new_id("OrderTransaction")
        order["transactions"].append({
            "__typename": "OrderTransaction", "id": tx_gid, "kind": "SALE", "status": "SUCCESS", "gateway": "manual",
            "parentTransaction": None, "amountSet": order["_currency"].bag(outstanding), "createdAt": iso(utcnow()),
            "_amount": outstanding})
        refresh_payment(order)
        order["displayFinancialStatus"] = "PAID"
        self.touch(order)
        return order
