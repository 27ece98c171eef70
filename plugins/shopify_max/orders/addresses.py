"""Bill-to and ship-to: a Shopify mailing address into MAX's NAME, ADDR1..6, CITY, STATE, ZIPCD, CNTRY,
PHONE and CNTCT (30 characters each; PHONE and CNTCT 20; EXACTMAX.md field lengths).

Layout: NAME is the person (or the company when there is no person); ADDR lines hold the company, then
address1 and address2, continued by the overflow rule. STATE is the province code, CNTRY the ISO country code.
"""

from __future__ import annotations

import re

from shopify_max.exactmax_limits import ADDRESS_LINES, FIELD_LENGTHS
from shopify_max.mappings.loader import OrderRules
from shopify_max.orders.outcome import RuleApplied
from shopify_max.orders.text_rules import (
    fit_lines,
    fit_single,
    refuse_absurd_length,
    refuse_xml_illegal,
    split_at_word,
    transliterate,
)
from shopify_max.shopify.models import MailingAddress

_PHONE_NOISE = re.compile(r"[^\d+xX]")


def _person_name(address: MailingAddress) -> str:
    if address.name:
        return address.name
    return " ".join(part for part in (address.first_name, address.last_name) if part)


def clean_text(value: str | None, field: str, rules: OrderRules, applied: list[RuleApplied]) -> str:
    """Shopify text as MAX may hold it: within any field's length, XML-safe, spaces collapsed, character set
    rule applied (recorded against ``field``)."""
    refuse_absurd_length(value or "", field)
    refuse_xml_illegal(value, field)
    return transliterate(" ".join((value or "").split()), field, rules.transliteration, applied)


def map_address(address: MailingAddress | None, role: str, rules: OrderRules,
                applied: list[RuleApplied]) -> dict[str, str | None]:
    """MAX address columns for ``address`` (``role`` is ``ship_to`` or ``bill_to``, used in field names)."""
    if address is None:
        return {}

    def clean(value: str | None, field: str) -> str:
        return clean_text(value, f"{role}.{field}", rules, applied)

    person = clean(_person_name(address), "name")
    company = clean(address.company, "company")
    name_limit = FIELD_LENGTHS["NAME"]
    name, overflow_lines = person or company, []
    if name and len(name) > name_limit:
        if rules.text_overflow == "error":
            fit_lines([(f"{role}.NAME", name)], name_limit, 1, "error", {}, applied)
        name, rest = split_at_word(name, name_limit)
        applied.append(RuleApplied(f"{role}.NAME", "continue_into_next_line", person or company, f"{name} | {rest}"))
        overflow_lines.append((f"{role}.NAME", rest))
    address_values = overflow_lines + [
        (f"{role}.company", company if person else ""),
        (f"{role}.address1", clean(address.address1, "address1")),
        (f"{role}.address2", clean(address.address2, "address2")),
    ]
    lines = fit_lines(address_values, FIELD_LENGTHS["ADDR"], ADDRESS_LINES, rules.text_overflow,
                      rules.abbreviations, applied)
    columns: dict[str, str | None] = {"NAME": name or None}
    for index in range(ADDRESS_LINES):
        columns[f"ADDR{index + 1}"] = lines[index] if index < len(lines) else None
    columns["CITY"] = fit_single(clean(address.city, "city"), f"{role}.CITY", FIELD_LENGTHS["CITY"],
                                 rules.text_overflow, rules.abbreviations, applied)
    columns["STATE"] = fit_single(clean(address.province_code or address.province, "province"), f"{role}.STATE",
                                  FIELD_LENGTHS["STATE"], rules.text_overflow, rules.abbreviations, applied)
    columns["ZIPCD"] = fit_single(clean(address.zip, "zip"), f"{role}.ZIPCD", FIELD_LENGTHS["ZIPCD"],
                                  "error", {}, applied)
    columns["CNTRY"] = fit_single(clean(address.country_code or address.country, "country"), f"{role}.CNTRY",
                                  FIELD_LENGTHS["CNTRY"], "error", {}, applied)
    columns["PHONE"] = _phone(clean(address.phone, "phone"), role, applied)
    contact = person if company else ""
    if contact and len(contact) <= FIELD_LENGTHS["CNTCT"]:
        columns["CNTCT"] = contact
    elif contact:
        applied.append(RuleApplied(f"{role}.CNTCT", "contact_left_blank_too_long", contact, ""))
        columns["CNTCT"] = None
    return columns


def _phone(phone: str, role: str, applied: list[RuleApplied]) -> str | None:
    """PHONE holds 20 characters: a longer number is compacted to digits, '+' and extension marks."""
    if not phone:
        return None
    limit = FIELD_LENGTHS["PHONE"]
    if len(phone) <= limit:
        return phone
    compact = _PHONE_NOISE.sub("", phone)
    if compact and len(compact) <= limit:
        applied.append(RuleApplied(f"{role}.PHONE", "phone_compacted", phone, compact))
        return compact
    return fit_single(phone, f"{role}.PHONE", limit, "error", {}, applied)
