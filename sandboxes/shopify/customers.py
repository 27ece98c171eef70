"""Customers of the sandbox shop, mixed into the store: seeding, ``customerSet``, and the ``customers`` search.

``customerSet`` follows the mutation's documentation in the 2026-07 schema and its error codes
(``CustomerSetUserErrorCode``):

- no ``identifier``: create. ``identifier.id``: update that customer (``NOT_FOUND`` when there is none).
  ``identifier.email`` / ``identifier.phone``: upsert by that unique key, which the input must carry with the same
  value (``MISSING_FIELD_REQUIRED``, ``INPUT_MISMATCH``). ``identifier.customId``: upsert by a unique metafield
  value (a created customer gets that metafield);
- omitted fields are left as they are; a list (tags, taxExemptions, addresses) is replaced by the list given: an
  address given again is kept (matched by id or by its fields), a new one is created, one left out is deleted;
- e-mail and phone are unique in a shop (``TAKEN``); phone numbers are stored in E.164;
- ``CustomerSetInput`` has no ``metafields`` in 2026-07: metafields are written with ``metafieldsSet``;
- ``updatedAt`` moves only when something changed, so a re-sent customerSet leaves the customer as it was.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import iso
from shopify_max.clock import utcnow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_MAX_LENGTH = 255
# What ``updatedAt`` follows: the fields a customerSet can change.
_TRACKED = ("firstName", "lastName", "note", "tags", "taxExempt", "taxExemptions", "locale", "defaultEmailAddress",
            "defaultPhoneNumber", "addressesV2", "defaultAddress")
# MailingAddressInput field -> the stored MailingAddress key.
_ADDRESS_FIELDS = {"address1": "address1", "address2": "address2", "city": "city", "company": "company",
                   "countryCode": "countryCodeV2", "firstName": "firstName", "lastName": "lastName",
                   "phone": "phone", "provinceCode": "provinceCode", "zip": "zip"}


def normal_phone(value: str) -> str | None:
    """``value`` in E.164, or None when it is no phone number. A national number of ten digits is read as the shop
    country's (+1, the sandbox shop is in the US), as Shopify reads numbers against the shop's country."""
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return None


def _email_of(customer: dict[str, Any]) -> str | None:
    return (customer.get("defaultEmailAddress") or {}).get("emailAddress")


def _phone_of(customer: dict[str, Any]) -> str | None:
    return (customer.get("defaultPhoneNumber") or {}).get("phoneNumber")


def _split_tags(tags: list[str]) -> list[str]:
    """Tags as Shopify keeps them: an item may be a comma-separated list; trimmed, unique ignoring case."""
    kept: list[str] = []
    for part in (piece.strip() for tag in tags for piece in tag.split(",")):
        if part and part.lower() not in (existing.lower() for existing in kept):
            kept.append(part)
    return kept


def _state(customer: dict[str, Any]) -> str:
    return json.dumps({key: customer.get(key) for key in _TRACKED}, sort_keys=True, default=str)


class CustomerMixin:
    """``self`` is a :class:`~sandboxes.shopify.store.SandboxStore`."""

    customers: dict[str, dict[str, Any]]

    # ----- seeding -----
    def add_customer(self, first_name: str | None, last_name: str | None, email: str | None,
                     address: dict[str, Any] | None = None, tax_exempt: bool = False,
                     tax_exemptions: list[str] | None = None, phone: str | None = None,
                     note: str | None = None, tags: list[str] | None = None) -> dict[str, Any]:
        gid, legacy = self.new_id("Customer")
        now = iso(utcnow())
        customer: dict[str, Any] = {
            "__typename": "Customer", "id": gid, "legacyResourceId": legacy, "locale": "en", "createdAt": now,
            "updatedAt": now, "state": "ENABLED", "firstName": first_name, "lastName": last_name, "note": note,
            "tags": list(tags or []), "taxExempt": tax_exempt, "taxExemptions": list(tax_exemptions or []),
            "defaultEmailAddress": {"emailAddress": email} if email else None,
            "defaultPhoneNumber": {"phoneNumber": phone} if phone else None,
            "defaultAddress": address, "addressesV2": [address] if address else [], "metafields": []}
        _refresh_display_name(customer)
        self.customers[gid] = customer
        return customer

    def new_address(self, values: dict[str, Any]) -> dict[str, Any]:
        """A ``MailingAddress`` from ``MailingAddressInput`` fields."""
        gid, _ = self.new_id("MailingAddress")
        address: dict[str, Any] = {"__typename": "MailingAddress", "id": gid}
        for field, key in _ADDRESS_FIELDS.items():
            address[key] = values.get(field)
        _refresh_address(address)
        return address

    # ----- customerSet -----
    def customer_set(self, identifier: dict[str, Any] | None,
                     values: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """``customerSet``: (the customer, []) or (None, userErrors); nothing changes when there are errors."""
        try:
            customer, custom_id = self._customer_to_set(identifier or {}, values)
        except SandboxUserError as error:
            return None, [error.as_dict()]
        errors = self._customer_set_problems(customer, values)
        if errors:
            return None, errors
        if customer is None:
            customer = self.add_customer(None, None, None)
            if custom_id is not None:
                self._write_metafield({"ownerId": customer["id"], "namespace": custom_id.get("namespace") or "$app",
                                       "key": custom_id["key"], "type": "id", "value": custom_id["value"]})
        before = _state(customer)
        self._apply_customer_set(customer, values)
        if _state(customer) != before:
            customer["updatedAt"] = iso(utcnow())
        return customer, []

    def _customer_to_set(self, identifier: dict[str, Any],
                         values: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The customer the call updates (None: create one), and the customId a created customer gets."""
        given = {key: value for key, value in identifier.items() if value is not None}
        if len(given) > 1:
            raise SandboxUserError("Only one identifier may be given.", ["identifier"], "INVALID")
        if values.get("id") is not None:
            if given:
                raise SandboxUserError("The id field is not allowed if identifier is provided.", ["input", "id"],
                                       "ID_NOT_ALLOWED")
            given = {"id": values["id"]}  # the deprecated way to name the customer to update
        if not given:
            return None, None
        [(kind, wanted)] = given.items()
        if kind == "id":
            customer = self.customers.get(wanted)
            if customer is None:
                raise SandboxUserError("Resource matching the identifier was not found.", ["identifier", "id"],
                                       "NOT_FOUND")
            return customer, None
        if kind == "customId":
            namespace = wanted.get("namespace") or "$app"
            found = next((c for c in self.customers.values() if any(
                m["namespace"] == namespace and m["key"] == wanted["key"] and m["value"] == wanted["value"]
                for m in c.get("metafields", []))), None)
            return found, (None if found else wanted)
        if values.get(kind) is None:
            raise SandboxUserError(f"The input field {kind} is required when the identifier is {kind}.",
                                   ["input", kind], "MISSING_FIELD_REQUIRED")
        if kind == "email":
            if values["email"].strip().lower() != wanted.strip().lower():
                raise SandboxUserError("The identifier value does not match the value of the corresponding field "
                                       "in the input.", ["input", "email"], "INPUT_MISMATCH")
            return self.customer_by_email(wanted), None
        phone = normal_phone(wanted)
        if phone is None or normal_phone(values["phone"]) != phone:
            raise SandboxUserError("The identifier value does not match the value of the corresponding field "
                                   "in the input.", ["input", "phone"], "INPUT_MISMATCH")
        return next((c for c in self.customers.values() if _phone_of(c) == phone), None), None

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next((c for c in self.customers.values() if (_email_of(c) or "").lower() == wanted), None)

    def _customer_set_problems(self, customer: dict[str, Any] | None, values: dict[str, Any]) -> list[dict]:
        errors: list[SandboxUserError] = []
        email, phone = values.get("email"), values.get("phone")
        if email is not None:
            if not _EMAIL.match(email.strip()):
                errors.append(SandboxUserError("Email is invalid", ["input", "email"], "INVALID"))
            else:
                holder = self.customer_by_email(email)
                if holder is not None and holder is not customer:
                    errors.append(SandboxUserError("Email has already been taken", ["input", "email"], "TAKEN"))
        if phone is not None:
            normal = normal_phone(phone)
            if normal is None:
                errors.append(SandboxUserError("Phone is invalid", ["input", "phone"], "INVALID"))
            elif any(_phone_of(c) == normal and c is not customer for c in self.customers.values()):
                errors.append(SandboxUserError("Phone has already been taken", ["input", "phone"], "TAKEN"))
        for index, tag in enumerate(_split_tags(values.get("tags") or [])):
            if len(tag) > _TAG_MAX_LENGTH:
                errors.append(SandboxUserError(f"Tag is too long (maximum is {_TAG_MAX_LENGTH} characters)",
                                               ["input", "tags", str(index)], "TOO_LONG"))
        if customer is None and not any(values.get(k) for k in ("email", "phone", "firstName", "lastName")):
            errors.append(SandboxUserError("A name, phone number, or email address must be present.", ["input"],
                                           "BLANK"))
        return [error.as_dict() for error in errors]

    def _apply_customer_set(self, customer: dict[str, Any], values: dict[str, Any]) -> None:
        for key in ("firstName", "lastName", "note", "locale"):
            if key in values:
                customer[key] = values[key]
        if values.get("taxExempt") is not None:
            customer["taxExempt"] = bool(values["taxExempt"])
        if values.get("taxExemptions") is not None:
            customer["taxExemptions"] = list(dict.fromkeys(values["taxExemptions"]))
        if values.get("tags") is not None:
            customer["tags"] = _split_tags(values["tags"])
        if "email" in values:
            customer["defaultEmailAddress"] = {"emailAddress": values["email"].strip()} if values["email"] else None
        if "phone" in values:
            customer["defaultPhoneNumber"] = {"phoneNumber": normal_phone(values["phone"])} if values["phone"] \
                else None
        if values.get("addresses") is not None:
            self._replace_addresses(customer, values["addresses"])
        _refresh_display_name(customer)

    def _replace_addresses(self, customer: dict[str, Any], inputs: list[dict[str, Any]]) -> None:
        """Every address given is kept (matched by id, else by the fields it gives) or created; the rest go."""
        existing = list(customer["addressesV2"])
        kept: list[dict[str, Any]] = []
        for values in inputs:
            match = next((a for a in existing if values.get("id") and a["id"] == values["id"]), None) or next(
                (a for a in existing if a not in kept and all(
                    (a.get(key) or None) == (values.get(field) or None)
                    for field, key in _ADDRESS_FIELDS.items() if field in values)), None)
            if match is None:
                kept.append(self.new_address(values))
                continue
            for field, key in _ADDRESS_FIELDS.items():
                if field in values:
                    match[key] = values[field]
            _refresh_address(match)
            kept.append(match)
        customer["addressesV2"] = kept
        default = customer.get("defaultAddress")
        if default is None or default not in kept:
            customer["defaultAddress"] = kept[0] if kept else None


def _refresh_display_name(customer: dict[str, Any]) -> None:
    names = [customer.get("firstName"), customer.get("lastName")]
    customer["displayName"] = " ".join(n for n in names if n) or _email_of(customer) or _phone_of(customer) or ""


def _refresh_address(address: dict[str, Any]) -> None:
    address["name"] = " ".join(n for n in (address.get("firstName"), address.get("lastName")) if n)
    address["province"] = address.get("provinceCode")
    address["country"] = address.get("countryCodeV2")


# ----- the customers search (the query argument of QueryRoot.customers) -----
_CUSTOMER_TERM = re.compile(r"(-)?(?:(\w+):\s*(>=|<=|>|<)?)?('[^']*'|\"[^\"]*\"|[^\s()]+)")


def _as_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


def _compare(actual: Any, op: str, expected: Any) -> bool:
    return {"=": actual == expected, ">": actual > expected, "<": actual < expected,
            ">=": actual >= expected, "<=": actual <= expected}[op]


def _term_matches(customer: dict[str, Any], name: str | None, op: str, value: str, quoted: bool,
                  order_count: int) -> bool:
    lowered = value.lower()
    addresses = customer["addressesV2"]
    if name is None:  # a bare word searches names, e-mail and companies
        haystack = " ".join(str(v) for v in (customer.get("displayName"), _email_of(customer),
                                            *(a.get("company") for a in addresses)) if v).lower()
        return lowered in haystack
    if name == "email":
        email = (_email_of(customer) or "").lower()
        return bool(email) if value == "*" else (email == lowered if quoted else lowered in email)
    if name == "phone":
        phone = _phone_of(customer)
        return bool(phone) if value == "*" else phone is not None and phone == normal_phone(value)
    if name == "country":
        return any(lowered in ((a.get("countryCodeV2") or "").lower(), (a.get("country") or "").lower())
                   for a in addresses)
    if name in ("updated_at", "customer_date", "created_at"):
        stored = customer["updatedAt"] if name == "updated_at" else customer["createdAt"]
        return _compare(_as_datetime(stored), op, _as_datetime(value))
    if name == "id":
        return _compare(int(customer["legacyResourceId"]), op, int(value.rsplit("/", 1)[-1]))
    if name in ("tag", "tag_not"):
        wanted = {t.strip().lower() for t in value.split(",") if t.strip()}
        has = bool(wanted & {t.lower() for t in customer["tags"]})
        return has if name == "tag" else not has
    if name in ("first_name", "last_name"):
        stored = customer.get("firstName" if name == "first_name" else "lastName") or ""
        return stored.lower() == lowered
    if name == "state":
        return customer.get("state", "").lower() == lowered
    if name == "orders_count":
        return _compare(order_count, op, int(value))
    return True  # a filter the sandbox does not know narrows nothing, as an unknown field does on Shopify


def customer_matches(customer: dict[str, Any], query: str | None, order_count: int = 0) -> bool:
    """Shopify's search syntax for customers, the subset the sandbox knows: terms joined by AND (or juxtaposed),
    groups joined by OR, ``-term`` negates; fields email, phone, country, updated_at, created_at/customer_date,
    id, tag, tag_not, first_name, last_name, state, orders_count, and bare words."""
    if not query or not query.strip():
        return True
    for group in re.split(r"\s+OR\s+", query.strip()):
        matched = True
        for negated, name, op, raw in _CUSTOMER_TERM.findall(group):
            if not name and raw == "AND":
                continue
            quoted = raw[:1] in ("'", '"')
            value = raw.strip("'\"")
            hit = _term_matches(customer, name or None, op or "=", value, quoted, order_count)
            if hit == bool(negated):
                matched = False
                break
        if matched:
            return True
    return False
