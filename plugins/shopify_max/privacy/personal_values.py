"""The personal values one record holds, found by structure, and their removal from free text.

Records hold personal data in three shapes, and each is read by what it is, not by guessing at text:
- Shopify JSON (webhook payloads, staged orders): e-mails, phones, names and address lines of the customer
  and of the billing and shipping addresses;
- MAX documents (mapped orders, eMAXExact XML): ``NAME``, ``ADDR1..6``, ``CITY``, ``ZIPCD``, ``PHONE``,
  ``CNTCT``, and the before/after of each mapping rule applied to them (an abbreviated or transliterated
  address is still the person's address);
- free text (error reasons, outcome reasons): only ever *scrubbed* of values found in the structured copies.

Values are only ever compared and replaced; they are never logged or returned in a report.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

from unidecode import unidecode

SCRUBBED = "[personal data removed]"

# Keys whose value is personal wherever they appear (Shopify snake_case, GraphQL camelCase, MAX columns).
_PERSONAL_KEYS = frozenset({
    "email", "contact_email", "contactemail", "emailaddress", "phone", "phonenumber", "first_name", "firstname",
    "last_name", "lastname", "display_name", "displayname", "address1", "address2", "city", "zip",
    "addr1", "addr2", "addr3", "addr4", "addr5", "addr6", "cntct", "zipcd",
})
# ``name`` and ``company`` are personal only inside an address, a customer or a MAX address document
# (an order's ``name`` is its number, a line's ``name`` a product).
_NAME_KEYS = frozenset({"name", "company"})
_ADDRESS_MARKERS = frozenset({"address1", "first_name", "firstname", "last_name", "lastname", "addr1",
                              "cntct", "zipcd", "custid"})
# Rule records (``rules_applied``) and problem records name a field; these fields hold personal values.
_PERSONAL_FIELD = re.compile(r"(?i)(address|ship_to|bill_to|customer|email|phone|name|company|city|zip|cntct|addr)")
_XML_PERSONAL = re.compile(r"<((?:NAME|ADDR[1-6]|CITY|ZIPCD|PHONE|CNTCT)(?:_\d+)?)>([^<]+)</\1>")
_MIN_LENGTH = 2


def _add(found: set[str], value: Any) -> None:
    if isinstance(value, str):
        text = " ".join(value.split())
        for piece in (text, *text.split(" | ")):  # the continue rule records "first part | rest"
            piece = piece.strip()
            if len(piece) >= _MIN_LENGTH:
                found.add(piece)
                ascii_form = unidecode(piece).strip()
                if len(ascii_form) >= _MIN_LENGTH:
                    found.add(ascii_form)


def _walk(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        keys = {str(key).lower() for key in value}
        is_address = bool(keys & _ADDRESS_MARKERS)
        names_a_field = isinstance(value.get("field") or value.get("column"), str) and bool(
            _PERSONAL_FIELD.search(value.get("field") or value.get("column")))
        for key, item in value.items():
            lowered = str(key).lower()
            if lowered in _PERSONAL_KEYS or (is_address and lowered in _NAME_KEYS):
                _add(found, item)
            elif names_a_field and lowered in ("before", "after", "value"):
                _add(found, item)
            else:
                _walk(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, found)
    elif isinstance(value, str) and value[:1] in "{[" and len(value) > 1:
        _walk(_json_or_none(value), found)  # JSON kept as a string inside JSON (an error item's payload)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def personal_values(data: Any) -> set[str]:
    """The personal values in one record: parsed JSON, or text (JSON, eMAXExact XML, or neither)."""
    found: set[str] = set()
    if isinstance(data, str):
        parsed = _json_or_none(data)
        if parsed is not None:
            _walk(parsed, found)
        for _tag, value in _XML_PERSONAL.findall(data):
            _add(found, html.unescape(value))
    else:
        _walk(data, found)
    return found


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({v for v in values if len(v) >= _MIN_LENGTH}, key=len, reverse=True)
    if not ordered:
        return None
    # Whole words only: a value is not replaced inside a longer word.
    alternatives = [(r"(?<!\w)" if v[0].isalnum() or v[0] == "_" else "") + re.escape(v)
                    + (r"(?!\w)" if v[-1].isalnum() or v[-1] == "_" else "") for v in ordered]
    return re.compile("|".join(alternatives), re.IGNORECASE)


class Scrubber:
    """Replaces a set of personal values in free text and in JSON text (keeping its structure)."""

    def __init__(self, values: Iterable[str]) -> None:
        self._pattern = _pattern(values)

    def text(self, text: str | None) -> str | None:
        if text is None or self._pattern is None:
            return text
        return self._pattern.sub(SCRUBBED, text)

    def json_text(self, text: str | None) -> str | None:
        """JSON text with each string scrubbed (structure kept); text that is not JSON is scrubbed as text."""
        if text is None or self._pattern is None:
            return text
        parsed = _json_or_none(text)
        if parsed is None:
            return self.text(text)
        return json.dumps(self._scrub(parsed), default=str, sort_keys=True)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value
