"""Parse eMAXExact XML and apply MAX's static field rules (presence, length, number and date format).

Each element is checked against a :class:`FieldSpec`. Problems become :class:`FieldError` values naming the
element, the line (``LINNUM``) where there is one, and the rule; nothing is raised for a bad field, so one
answer lists every problem of the transaction. Code lookups (customer, part, tax code, UOM...) need the
database and live in ``writes.py``.

Dates: MAXUpdate XML uses ``yyMMdd`` (EXACTMAX.md). The gateway accepts exactly six digits forming a valid
calendar date; anything else is ``bad_date``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree

DATE_FORMAT = "%y%m%d"  # yyMMdd
_NUMBER = re.compile(r"^-?\d{1,12}(\.\d{1,6})?$")

# Rule names the gateway answers with (the OpenAPI document lists them too).
TOO_LONG = "too_long"
MISSING_REQUIRED = "missing_required"
BAD_NUMBER = "bad_number"
BAD_DATE = "bad_date"
BAD_CODE = "bad_code"
UNKNOWN_ELEMENT = "unknown_element"
DUPLICATE_ELEMENT = "duplicate_element"
MALFORMED_XML = "malformed_xml"


@dataclass(frozen=True)
class FieldError:
    element: str
    rule: str
    message: str
    line: str | None = None

    def as_dict(self) -> dict:
        return {"element": self.element, "line": self.line, "rule": self.rule, "message": self.message}


class TransactionRejected(Exception):
    """The transaction breaks one or more rules; nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.element}: {e.rule}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class FieldSpec:
    kind: str = "text"  # text | number | date
    length: int = 30
    required: bool = False
    choices: tuple[str, ...] = ()


def _text(length: int, required: bool = False, choices: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec("text", length, required, choices)


NUMBER = FieldSpec("number")
DATE = FieldSpec("date")
YES_NO = _text(1, choices=("Y", "N"))


def _address(suffix: str) -> dict[str, FieldSpec]:
    specs = {f"NAME_{suffix}": _text(30)}
    specs |= {f"ADDR{n}_{suffix}": _text(30) for n in range(1, 7)}
    specs |= {f"{name}_{suffix}": _text(30) for name in ("CITY", "STATE", "ZIPCD", "CNTRY")}
    specs |= {f"{name}_{suffix}": _text(20) for name in ("PHONE", "CNTCT")}
    return specs


SO_MASTER_FIELDS: dict[str, FieldSpec] = {
    "ORDNUM_27": _text(8), "CUSTID_27": _text(20, required=True), "STYPE_27": _text(2, required=True),
    "STATUS_27": _text(1, choices=("3",)), "CUSTPO_27": _text(25), "ORDDTE_27": FieldSpec("date", required=True),
    "SHPCDE_27": _text(10), "TERMS_27": _text(2), "SHPVIA_27": _text(2), "FOB_27": _text(15),
    "TAXCD1_27": _text(7), "TAXCD2_27": _text(7), "TAXCD3_27": _text(7), "TTAX_27": NUMBER, "LNETAX_27": NUMBER,
    **_address("27"), "TAXABL_27": YES_NO, "CURR_27": _text(3), "EXCRTE_27": NUMBER,
    "COMNT1_27": _text(30), "COMNT2_27": _text(30), "COMNT3_27": _text(30), "INVCE_27": _text(8),
    "APPINV_27": _text(8), "REASON_27": _text(2), "UDFKEY_27": _text(15), "UDFREF_27": _text(25),
}

SO_DETAIL_FIELDS: dict[str, FieldSpec] = {
    "ORDNUM_28": _text(8), "LINNUM_28": _text(2, required=True), "DELNUM_28": _text(2),
    "STATUS_28": _text(1, choices=("3",)), "CUSTID_28": _text(20), "PRTNUM_28": _text(30, required=True),
    "SLSUOM_28": _text(2), "PRICE_28": FieldSpec("number", required=True), "ORGPRC_28": NUMBER, "DISC_28": NUMBER,
    "ORGQTY_28": FieldSpec("number", required=True), "CURDUE_28": DATE, "STK_28": _text(8), "TAXABL_28": YES_NO,
    "TAXCDE1_28": _text(7), "TAXCDE2_28": _text(7), "TAXCDE3_28": _text(7),
    "TAX1_28": NUMBER, "TAX2_28": NUMBER, "TAX3_28": NUMBER, "STYPE_28": _text(2), "FORCUR_28": NUMBER,
    "COST_28": NUMBER,
    # Contract element, not a MAX column: credit memos only, Y = the goods come back to stock (credit_memos.py).
    "RESTCK_28": YES_NO,
}

SO_NOTE_FIELDS: dict[str, FieldSpec] = {"NOTE_30": _text(50, required=True)}

CUSTOMER_FIELDS: dict[str, FieldSpec] = {
    "CUSTID_23": _text(20, required=True), **_address("23"), "TERMS_23": _text(2), "SHPVIA_23": _text(2),
    "TXCDE1_23": _text(7), "TXCDE2_23": _text(7), "TXCDE3_23": _text(7), "TAXABL_23": YES_NO, "CURR_23": _text(3),
    "SLSREP_23": _text(3),
}
CUSTOMER_FIELDS["NAME_23"] = _text(30, required=True)

SHIP_TO_FIELDS: dict[str, FieldSpec] = {
    "CUSTID_24": _text(20), "SHPCDE_24": _text(10, required=True), **_address("24"), "SHPVIA_24": _text(2),
    "TXCDE1_24": _text(7), "TXCDE2_24": _text(7), "TXCDE3_24": _text(7), "TAXABL_24": YES_NO,
    "TXEXEM_24": _text(20),
}

CANCELLATION_FIELDS: dict[str, FieldSpec] = {
    "ORDNUM_27": _text(8, required=True), "STATUS_27": _text(1, required=True, choices=("4",)),
    "REASON_27": _text(2),
}


def parse_document(xml: bytes | str, table: str, record: str) -> Element:
    """Return the single ``<record>`` inside ``<eMAXExact><table>``; reject anything else."""
    try:
        root = SafeElementTree.fromstring(xml)
    except Exception as exc:  # noqa: BLE001 - defusedxml and expat raise several types
        raise TransactionRejected([FieldError("eMAXExact", MALFORMED_XML, f"not well-formed XML: {exc}")]) from exc
    if root.tag != "eMAXExact":
        raise TransactionRejected([FieldError(root.tag, MALFORMED_XML, "the root element must be eMAXExact")])
    records = [r for t in root.findall(table) for r in t.findall(record)]
    if len(records) != 1 or len(root) != 1:
        raise TransactionRejected([FieldError(table, MALFORMED_XML, f"expected exactly one {table}/{record}")])
    return records[0]


@dataclass
class ParsedRecord:
    values: dict[str, object] = field(default_factory=dict)
    children: dict[str, list[Element]] = field(default_factory=dict)


def parse_record(element: Element, specs: dict[str, FieldSpec], errors: list[FieldError],
                 line: str | None = None, child_tags: tuple[str, ...] = ()) -> ParsedRecord:
    """Typed values of one record: str (stripped of nothing), Decimal or date; absent/empty -> not in values."""
    parsed = ParsedRecord()
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        if tag in child_tags:
            parsed.children.setdefault(tag, []).append(child)
            continue
        spec = specs.get(tag)
        if spec is None:
            errors.append(FieldError(tag, UNKNOWN_ELEMENT, f"{tag} is not a field of {element.tag}", line))
            continue
        if tag in seen:  # which one would MAX take? Refused rather than guessed
            errors.append(FieldError(tag, DUPLICATE_ELEMENT, f"{tag} appears more than once", line))
            continue
        seen.add(tag)
        if len(child):
            errors.append(FieldError(tag, MALFORMED_XML, f"{tag} must hold text, not elements", line))
            continue
        raw = child.text or ""
        if raw.strip() == "":
            continue  # an empty element: the field is not given (MAX assigns or defaults it)
        value = _convert(tag, raw, spec, errors, line)
        if value is not None:
            parsed.values[tag] = value
    for tag, spec in specs.items():
        if spec.required and tag not in parsed.values and not any(e.element == tag and e.line == line for e in errors):
            errors.append(FieldError(tag, MISSING_REQUIRED, f"{tag} is required", line))
    return parsed


def _convert(tag: str, raw: str, spec: FieldSpec, errors: list[FieldError], line: str | None) -> object | None:
    if spec.kind == "number":
        text = raw.strip()
        if not _NUMBER.match(text):
            errors.append(FieldError(tag, BAD_NUMBER, f"{text!r} is not a decimal number (digits, '.', '-')", line))
            return None
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
            errors.append(FieldError(tag, BAD_NUMBER, f"{text!r} is not a decimal number", line))
            return None
    if spec.kind == "date":
        return parse_max_date(tag, raw.strip(), errors, line)
    if len(raw) > spec.length:
        errors.append(FieldError(tag, TOO_LONG, f"{len(raw)} characters, at most {spec.length}", line))
        return None
    if spec.choices and raw not in spec.choices:
        errors.append(FieldError(tag, BAD_CODE, f"{raw!r} is not one of {', '.join(spec.choices)}", line))
        return None
    return raw


def parse_max_date(tag: str, text: str, errors: list[FieldError], line: str | None = None) -> date | None:
    if len(text) != 6 or not text.isdigit():
        errors.append(FieldError(tag, BAD_DATE, f"{text!r} is not a yyMMdd date", line))
        return None
    try:
        return datetime.strptime(text, DATE_FORMAT).date()
    except ValueError:
        errors.append(FieldError(tag, BAD_DATE, f"{text!r} is not a valid yyMMdd calendar date", line))
        return None
