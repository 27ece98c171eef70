"""Customers: which Shopify customer each MAX account is, and the account data MAX owns, pushed to it.

MAX owns a customer's **account data**: terms, price list, tax exemptions, VAT id (where the gateway exposes one)
and credit hold. Shopify owns the contact data (name, e-mail, phone, addresses): the push never writes them, so the
app asks for no more customer data than it needs (Shopify's protected-customer-data rules).

**Matching** (pure; ``match_customers``) walks each MAX account through the rules in the configured order:

0. ``id_map``: the cross-reference the orders flow keeps (a web customer's own ``S…`` account), always first;
1. ``custid_metafield``: the Shopify customer's ``max.custid`` metafield (written by every push, so a match
   made once by e-mail is made by this rule from then on, even after the e-mail changes);
2. ``email``: the account's contact e-mail (case-insensitive);
3. ``phone``: digits only, with the default calling code put in front of a national number;
4. ``company_postal_code``: company name without punctuation and legal suffixes, plus the postal code.

The first rule that finds any candidate decides: one candidate is a match; two or more are **ambiguous** and go to
the error queue with every candidate, never guessed. A Shopify customer that two MAX accounts claim makes both
ambiguous (a duplicate in MAX), for the same reason. Rules that are left out of the list are not used.

**Pushing** (``desired_account`` → ``account_changes``): the wanted ``customerSet`` input is compared with what
Shopify holds now. Only a difference is written, so a re-run writes nothing; tags the sync does not manage are
kept, and tags it managed before (``max:…``, the credit-hold tag, the configured ones) are replaced.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from unidecode import unidecode

MATCH_RULES = ("custid_metafield", "email", "phone", "company_postal_code")
ID_MAP_RULE = "id_map"
_LEGAL_SUFFIXES = {"inc", "incorporated", "llc", "ltd", "limited", "co", "company", "corp", "corporation", "gmbh",
                   "bv", "nv", "sa", "plc", "lp", "llp"}


@dataclass(frozen=True)
class MaxAccount:
    """What the match and the push need of one MAX customer (``Customer_Master`` + the account extension)."""

    custid: str
    name: str
    email: str | None = None
    phone: str | None = None
    zip_code: str | None = None
    country: str | None = None
    terms: str | None = None
    price_list: str | None = None
    credit_hold: bool = False
    taxable: bool = True
    tax_codes: tuple[str, ...] = ()
    exempt_states: tuple[str, ...] = ()  # the customer's state, and those of ship-tos with a certificate
    vat_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ShopifyCustomer:
    """What the match and the push need of one Shopify customer."""

    gid: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    zip_code: str | None = None
    country_code: str | None = None
    number_of_orders: int = 0
    tax_exempt: bool = False
    tax_exemptions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    metafields: dict[str, str] = field(default_factory=dict)  # "namespace.key" -> value
    display_name: str | None = None


@dataclass(frozen=True)
class CustomerMatch:
    custid: str
    decision: str  # matched, ambiguous, unmatched
    rule: str | None  # the rule that decided (None: no rule found anyone)
    shopify_gid: str | None = None
    candidates: tuple[str, ...] = ()  # Shopify gids (ambiguous by a rule) or other CUSTIDs (a shared customer)
    reason: str = ""


@dataclass(frozen=True)
class MatchSettings:
    rules: tuple[str, ...] = MATCH_RULES
    metafield_namespace: str = "max"
    default_calling_code: str = "1"
    default_country: str = "US"  # for a MAX address whose CNTRY is blank


# ------------------------------------------------------------------------------------------------ normalising
def normal_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if "@" in value else None


def normal_phone(value: str | None, default_calling_code: str = "1") -> str | None:
    """Digits of an international number; a national number (10 digits under calling code 1) gains the code.
    Fewer than 7 digits is no phone number (an extension, a placeholder), and under calling code 1 a number that
    is neither 10 digits nor 1 + 10 digits (a local 555-0100) is too short to say whose it is."""
    raw = (value or "").strip()
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 7:
        return None
    if raw.startswith("+") or raw.startswith("00"):
        return digits[2:] if raw.startswith("00") else digits
    if default_calling_code == "1":
        if len(digits) == 10:
            return "1" + digits
        return digits if len(digits) == 11 and digits.startswith("1") else None
    if default_calling_code != "1" and digits.startswith("0"):
        return default_calling_code + digits[1:]
    return digits


def normal_company(value: str | None) -> str | None:
    """Case, punctuation and trailing legal suffixes ignored; other scripts transliterated (``ООО Ромашка`` →
    ``ooo romashka``), never dropped. A name with fewer than two letters left says nothing: None."""
    text = unidecode(unicodedata.normalize("NFKC", value or "")).casefold()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    while words and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    name = " ".join(words)
    return name if sum(ch.isalpha() for ch in name) >= 2 else None


def normal_postal_code(value: str | None, country: str | None = None) -> str | None:
    code = re.sub(r"[\s-]", "", (value or "").upper())
    if normal_country(country) == "US" and len(code) >= 5 and code[:5].isdigit():
        code = code[:5]  # ZIP+4 matches its ZIP
    return code or None


_COUNTRY_NAMES = {"USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "CANADA": "CA",
                  "CAN": "CA", "NETHERLANDS": "NL", "NLD": "NL", "GERMANY": "DE", "DEU": "DE",
                  "UNITED KINGDOM": "GB", "GBR": "GB", "MEXICO": "MX", "MEX": "MX"}


def normal_country(value: str | None, default: str | None = None) -> str | None:
    """An ISO 3166 alpha-2 code where the value is one, or a name or alpha-3 code this table knows."""
    text = " ".join((value or "").upper().replace(".", "").split())
    if not text:
        return default
    return _COUNTRY_NAMES.get(text, text)


def _company_key(company: str | None, postal: str | None, country: str | None,
                 default_country: str | None) -> tuple[str, str, str] | None:
    """Company + postal code + country: the same name at the same code in another country is someone else."""
    country = normal_country(country, default_country)
    name, code = normal_company(company), normal_postal_code(postal, country)
    return (name, code, country or "") if name and code else None


# ------------------------------------------------------------------------------------------------ matching
class _Index:
    def __init__(self, customers: Iterable[ShopifyCustomer], settings: MatchSettings) -> None:
        self.by_rule: dict[str, dict[Any, list[str]]] = {rule: defaultdict(list) for rule in MATCH_RULES}
        custid_key = f"{settings.metafield_namespace}.custid"
        for customer in customers:
            keys = {
                "custid_metafield": (customer.metafields.get(custid_key) or "").strip().upper() or None,
                "email": normal_email(customer.email),
                "phone": normal_phone(customer.phone, settings.default_calling_code),
                "company_postal_code": _company_key(customer.company, customer.zip_code, customer.country_code,
                                                    settings.default_country),
            }
            for rule, key in keys.items():
                if key is not None:
                    self.by_rule[rule][key].append(customer.gid)

    def candidates(self, rule: str, account: MaxAccount, settings: MatchSettings) -> list[str]:
        key = {
            "custid_metafield": account.custid.strip().upper(),
            "email": normal_email(account.email),
            "phone": normal_phone(account.phone, settings.default_calling_code),
            "company_postal_code": _company_key(account.name, account.zip_code, account.country,
                                                settings.default_country),
        }[rule]
        return sorted(set(self.by_rule[rule].get(key, []))) if key is not None else []


def match_customers(accounts: Sequence[MaxAccount], customers: Iterable[ShopifyCustomer], settings: MatchSettings,
                    cross_reference: dict[str, str] | None = None) -> list[CustomerMatch]:
    """One decision per MAX account (in the order given). ``cross_reference`` is id_map's CUSTID → gid.

    Precedence, strongest first: a ``max.custid`` metafield naming the account (a person's explicit choice, and
    what every push writes), then id_map, then the other rules in their configured order. When several accounts
    claim one Shopify customer, the strongest claim wins if it is the only one that strong; otherwise every
    claimant is ambiguous."""
    unknown = [rule for rule in settings.rules if rule not in MATCH_RULES]
    if unknown:
        raise ValueError(f"unknown customer matching rule(s) {unknown}; expected some of {list(MATCH_RULES)}")
    customers = list(customers)
    index = _Index(customers, settings)
    cross_reference = cross_reference or {}
    explicit = "custid_metafield" in settings.rules
    first: list[CustomerMatch] = []
    for account in accounts:
        pinned = index.candidates("custid_metafield", account, settings) if explicit else []
        known = cross_reference.get(account.custid)
        if len(pinned) == 1:
            first.append(CustomerMatch(account.custid, "matched", "custid_metafield", pinned[0]))
        elif len(pinned) > 1:
            first.append(CustomerMatch(
                account.custid, "ambiguous", "custid_metafield", None, tuple(pinned),
                f"MAX account {account.custid}: {len(pinned)} Shopify customers carry "
                f"{settings.metafield_namespace}.custid = {account.custid} ({', '.join(pinned)}); remove it from "
                "all but one"))
        elif known:
            first.append(CustomerMatch(account.custid, "matched", ID_MAP_RULE, known))
        else:
            first.append(_by_rules(account, index, settings))
    return _settle_claims(first, settings)


def _by_rules(account: MaxAccount, index: _Index, settings: MatchSettings) -> CustomerMatch:
    for rule in settings.rules:
        found = index.candidates(rule, account, settings)
        if len(found) == 1:
            return CustomerMatch(account.custid, "matched", rule, found[0])
        if found:
            return CustomerMatch(
                account.custid, "ambiguous", rule, None, tuple(found),
                f"MAX account {account.custid}: rule {rule} finds {len(found)} Shopify customers "
                f"({', '.join(found)}); pick one by setting its {settings.metafield_namespace}.custid metafield "
                f"to {account.custid}")
    return CustomerMatch(account.custid, "unmatched", None, reason=(
        f"MAX account {account.custid}: no Shopify customer by "
        f"{', '.join(settings.rules) or 'any rule (none configured)'}"))


_STRENGTH = {"custid_metafield": 2, ID_MAP_RULE: 1}  # the other rules: 0


def _settle_claims(first: list[CustomerMatch], settings: MatchSettings) -> list[CustomerMatch]:
    claimed: dict[str, list[CustomerMatch]] = defaultdict(list)
    for match in first:
        if match.decision == "matched":
            claimed[match.shopify_gid].append(match)
    decided = []
    for match in first:
        rivals = [m for m in claimed.get(match.shopify_gid, []) if m.custid != match.custid] \
            if match.decision == "matched" else []
        if not rivals:
            decided.append(match)
            continue
        mine = _STRENGTH.get(match.rule or "", 0)
        strongest = max(_STRENGTH.get(m.rule or "", 0) for m in rivals)
        if mine > strongest:
            decided.append(match)  # the only claim this strong: it wins
        elif mine < strongest:
            owner = next(m.custid for m in rivals if _STRENGTH.get(m.rule or "", 0) == strongest)
            how = f"its {settings.metafield_namespace}.custid metafield" if strongest == 2 else "id_map"
            decided.append(CustomerMatch(
                match.custid, "unmatched", match.rule, None, (match.shopify_gid, owner),
                f"MAX account {match.custid} matches Shopify customer {match.shopify_gid} by {match.rule}, but "
                f"that customer belongs to MAX account {owner} ({how}); a duplicate in MAX? merge the accounts"))
        else:
            others = [m.custid for m in rivals]
            decided.append(CustomerMatch(
                match.custid, "ambiguous", match.rule, None, (match.shopify_gid, *others),
                f"MAX accounts {', '.join([match.custid, *others])} all match Shopify customer "
                f"{match.shopify_gid} (rule {match.rule}): a duplicate in MAX; merge them in MAX, or set the "
                f"customer's {settings.metafield_namespace}.custid metafield to the right one"))
    return decided


# ------------------------------------------------------------------------------------------------ pushing
@dataclass(frozen=True)
class PushSettings:
    metafield_namespace: str = "max"
    tag_templates: tuple[str, ...] = ("b2b", "max:{price_list}")
    credit_hold_tag: str | None = "credit-hold"


def _managed_tag(tag: str, settings: PushSettings) -> bool:
    """A tag this sync may have written (and may take away): the credit-hold tag, or what a tag template gives for
    some value (``max:{price_list}`` manages every ``max:…``). A template that is all placeholder (``{terms}``)
    would claim every tag, so it claims none: its old values are left for a person."""
    if tag == settings.credit_hold_tag:
        return True
    for template in settings.tag_templates:
        literal = re.sub(r"\{[a-z_]+\}", "", template)
        if not literal:
            continue
        pattern = "".join(".+" if re.fullmatch(r"\{[a-z_]+\}", part) else re.escape(part)
                          for part in re.split(r"(\{[a-z_]+\})", template) if part)
        if re.fullmatch(pattern, tag):
            return True
    return False


def account_tags(account: MaxAccount, settings: PushSettings) -> list[str]:
    values = {"price_list": account.price_list or "", "terms": account.terms or "", "custid": account.custid}
    tags = []
    for template in settings.tag_templates:
        tag = template.format(**values).strip()
        if tag and not tag.endswith(":"):
            tags.append(tag)
    if account.credit_hold and settings.credit_hold_tag:
        tags.append(settings.credit_hold_tag)
    return sorted(set(tags))


def account_metafields(account: MaxAccount, settings: PushSettings) -> dict[str, str]:
    """``namespace.key`` → value. A value MAX does not hold is absent (and an old one is left, not blanked:
    ``customerSet`` cannot delete a metafield; docs/master-data.md)."""
    values = {"custid": account.custid, "terms": account.terms, "price_list": account.price_list,
              "credit_hold": "true" if account.credit_hold else "false", "vat_id": account.vat_id}
    return {f"{settings.metafield_namespace}.{key}": value for key, value in values.items() if value}


@dataclass(frozen=True)
class DesiredAccount:
    tax_exempt: bool
    tax_exemptions: tuple[str, ...]
    tags: tuple[str, ...]
    metafields: dict[str, str]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps({"tax_exempt": self.tax_exempt, "tax_exemptions": list(self.tax_exemptions),
                                          "tags": list(self.tags), "metafields": self.metafields},
                                         sort_keys=True).encode()).hexdigest()


def desired_account(account: MaxAccount, current: ShopifyCustomer | None, settings: PushSettings,
                    exemptions: Sequence[str]) -> DesiredAccount:
    """What Shopify should hold: MAX's account data, plus the customer's own tags the sync does not manage."""
    kept = [tag for tag in (current.tags if current else ()) if not _managed_tag(tag, settings)]
    return DesiredAccount(tax_exempt=not account.taxable, tax_exemptions=tuple(sorted(set(exemptions))),
                          tags=tuple(sorted(set(kept) | set(account_tags(account, settings)))),
                          metafields=account_metafields(account, settings))


def account_changes(desired: DesiredAccount, current: ShopifyCustomer | None) -> list[str]:
    """The fields that differ (empty: nothing to write)."""
    if current is None:
        return ["new customer"]
    changes = []
    if desired.tax_exempt != current.tax_exempt:
        changes.append(f"taxExempt {current.tax_exempt} → {desired.tax_exempt}")
    if set(desired.tax_exemptions) != set(current.tax_exemptions):
        changes.append(f"taxExemptions {sorted(current.tax_exemptions)} → {list(desired.tax_exemptions)}")
    if set(desired.tags) != set(current.tags):
        changes.append(f"tags {sorted(current.tags)} → {list(desired.tags)}")
    for key, value in desired.metafields.items():
        if current.metafields.get(key) != value:
            changes.append(f"metafield {key} {current.metafields.get(key)!r} → {value!r}")
    return changes


def customer_set_input(desired: DesiredAccount, *, email: str | None = None) -> dict[str, Any]:
    """The ``CustomerSetInput``: account data only (plus the e-mail when the customer is created by it)."""
    values: dict[str, Any] = {
        "taxExempt": desired.tax_exempt,
        "taxExemptions": list(desired.tax_exemptions),
        "tags": list(desired.tags),
        "metafields": [{"namespace": key.split(".", 1)[0], "key": key.split(".", 1)[1],
                        "type": "single_line_text_field", "value": value}
                       for key, value in sorted(desired.metafields.items())],
    }
    if email:
        values["email"] = email
    return values
