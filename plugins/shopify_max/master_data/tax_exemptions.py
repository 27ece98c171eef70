"""``include/mappings/tax_exemptions.csv``: which Shopify customer tax exemptions a non-taxable MAX customer gets.

Columns ``max_tax_code,state,shopify_tax_exemption``, checked at load time (errors name the file and line):

- ``max_tax_code``: a MAX tax code (``TXCDE1..3_23`` / ``_24``, 7 characters). **Empty** means "a non-taxable
  customer (``TAXABL_23`` N) that has no tax code at all", such as a Canadian account that MAX simply does not tax.
- ``state``: the state or province of the customer or of one of its ship-tos (``STATE_23`` / ``STATE_24``), or
  ``*`` for any. For one code and state, the rows naming that state win over the ``*`` rows.
- ``shopify_tax_exemption``: one of Shopify's ``TaxExemption`` values (:data:`SHOPIFY_TAX_EXEMPTIONS`). A value
  that names a state or province (``US_TX_…``, ``CA_ON_…``) must sit on a row of that state, or of ``*``.

:meth:`TaxExemptionRules.exemptions_for` decides for one customer. A taxable customer gets no exemption (its codes
are rates, not exemptions). A non-taxable one gets every value its codes map to in its states; a code (or "no
code") that lacks a row for one of those states is returned as unmapped, to be reported, never guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.mappings.loader import MappingFileError, _read_csv
from shopify_max.paths import MAPPINGS_DIR
from shopify_max.shopify.master_data_models import TAX_EXEMPTIONS

ANY_STATE = "*"
NO_TAX_CODE = ""  # the max_tax_code of a non-taxable customer that has no tax code
FILE_NAME = "tax_exemptions.csv"

# Shopify's TaxExemption enum, as the Shopify client checks customerSet input against it (one list, checked against
# the vendored schema by tests/shopify/test_master_data_api.py and tests/master_data/test_tax_exemptions.py).
SHOPIFY_TAX_EXEMPTIONS: frozenset[str] = TAX_EXEMPTIONS
# US_TX_RESELLER_EXEMPTION -> TX; CA_ON_PURCHASE_EXEMPTION -> ON; CA_DIPLOMAT_EXEMPTION names no province.
_REGION_OF_VALUE = re.compile(r"^(?:US|CA)_([A-Z]{2})_")


@dataclass(frozen=True)
class TaxExemptionRule:
    max_tax_code: str  # NO_TAX_CODE: a non-taxable customer without any tax code
    state: str  # upper case, or ANY_STATE
    shopify_tax_exemption: str
    line: int  # in the file, for reports


@dataclass(frozen=True)
class TaxExemptionRules:
    rules: tuple[TaxExemptionRule, ...]
    path: Path | None = None

    def _values(self, code: str, state: str | None) -> list[str]:
        specific = [r.shopify_tax_exemption for r in self.rules if r.max_tax_code == code and r.state == state]
        return specific or [r.shopify_tax_exemption for r in self.rules
                            if r.max_tax_code == code and r.state == ANY_STATE]

    def exemptions_for(self, tax_codes: Iterable[str], states: Iterable[str],
                       taxable: bool) -> tuple[list[str], list[str]]:
        """(Shopify exemption values, unmapped MAX codes) for one customer, each without repeats, in order.

        ``tax_codes``: the account's and its ship-tos' codes (blanks ignored); ``states``: their states or
        provinces; ``taxable``: ``TAXABL`` is not N. An unmapped entry ``""`` (:data:`NO_TAX_CODE`) means the
        customer has no code and the file has no empty-code row for its state.
        """
        if taxable:
            return [], []
        codes = list(dict.fromkeys(code.strip() for code in tax_codes if code and code.strip())) or [NO_TAX_CODE]
        wanted_states: list[str | None] = list(dict.fromkeys(s.strip().upper() for s in states if s and s.strip()))
        exemptions: dict[str, None] = {}
        unmapped: dict[str, None] = {}
        for code in codes:
            for state in wanted_states or [None]:
                values = self._values(code, state)
                if not values:
                    unmapped[code] = None
                exemptions.update(dict.fromkeys(values))
        return list(exemptions), list(unmapped)

    @property
    def tax_codes(self) -> list[tuple[int, str]]:
        """(line, MAX tax code) of every row that names one: what the code-table check looks up in MAX."""
        return [(rule.line, rule.max_tax_code) for rule in self.rules if rule.max_tax_code != NO_TAX_CODE]


def load_tax_exemptions(path: Path | None = None) -> TaxExemptionRules:
    """Load and check ``tax_exemptions.csv`` (default: in ``include/mappings/`` or ``SHOPIFY_MAX_MAPPINGS_DIR``)."""
    if path is None:
        path = Path(os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR) / FILE_NAME
    path = Path(path)
    rules: list[TaxExemptionRule] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, row in _read_csv(path, ("max_tax_code", "state", "shopify_tax_exemption")):
        code, state, value = row["max_tax_code"], row["state"].upper(), row["shopify_tax_exemption"]
        if len(code) > FIELD_LENGTHS["TAXCD"]:
            raise MappingFileError(f"{path} line {line}: max_tax_code {code!r} is longer than MAX's TAXCD "
                                   f"({FIELD_LENGTHS['TAXCD']})")
        if not state or len(state) > FIELD_LENGTHS["STATE"]:
            raise MappingFileError(f"{path} line {line}: state must be a state or province code, or * for any; "
                                   f"got {row['state']!r}")
        if value not in SHOPIFY_TAX_EXEMPTIONS:
            raise MappingFileError(f"{path} line {line}: shopify_tax_exemption {value!r} is not one of Shopify's "
                                   "TaxExemption values (such as US_TX_RESELLER_EXEMPTION, CA_ON_PURCHASE_EXEMPTION)")
        region = _REGION_OF_VALUE.match(value)
        if region and state != ANY_STATE and region.group(1) != state:
            raise MappingFileError(f"{path} line {line}: {value} applies in {region.group(1)}, not in state "
                                   f"{state}; put it on a {region.group(1)} row")
        key = (code, state, value)
        if key in seen:
            raise MappingFileError(f"{path} line {line}: the same row is on line {seen[key]}")
        seen[key] = line
        rules.append(TaxExemptionRule(code, state, value, line))
    return TaxExemptionRules(tuple(rules), path)
