"""The Great Expectations suite every batch of mapped sales orders passes before export.

Checks, per header and per line: required fields, lengths against MAX limits, codes that exist in the
mapping and MAX's code tables (parts, UOM, terms, ship-via, tax codes, currency), quantities > 0 and money
with at most two decimals. Rows that fail name their order; the batch's valid rest goes on.

GX Core is used directly (an ephemeral context, a pandas dataframe asset, one whole-dataframe batch):
the GX Airflow provider pins an older structlog than Airflow 3.3 needs (DESIGN.md, facts measured).

GX logs hundreds of INFO and DEBUG lines of its own (214 of 233 lines of a replay's log were ``Skipping
registering function … because it is a closure``, written when it is imported): its loggers are set to WARNING
before it is imported (:func:`quiet_great_expectations`), so a task log keeps its warnings and errors only.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shopify_max.exactmax.models import SalesOrder
from shopify_max.exactmax_limits import FIELD_LENGTHS

_MONEY = r"^-?\d+(?:\.\d{1,2})?$"  # no capture group: pandas warns about one on every check
# The loggers Great Expectations writes to: every module logs under its package name, and some set their own
# level when imported (``great_expectations.data_context.types.base`` sets INFO).
GX_LOGGER = "great_expectations"


def quiet_great_expectations() -> None:
    """Only GX's warnings and errors reach the log (its INFO and DEBUG lines are noise to on-call): its package
    logger, and each of its module loggers that set a lower level of their own."""
    logging.getLogger(GX_LOGGER).setLevel(logging.WARNING)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith(GX_LOGGER + ".") and isinstance(logger, logging.Logger) \
                and logger.level not in (logging.NOTSET,) and logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


quiet_great_expectations()  # at import: GX's noisiest lines are written when it is imported


@dataclass(frozen=True)
class ReferenceCodes:
    """Codes that exist in MAX (from the gateway's code tables and parts) for value-set checks."""

    part_numbers: frozenset[str]
    uoms: frozenset[str]
    terms: frozenset[str]
    ship_via: frozenset[str]
    tax_codes: frozenset[str]
    currencies: frozenset[str]


@dataclass
class RowFailure:
    order_key: str  # CUSTPO: unique per order
    expectation: str
    column: str
    value: Any

    def message(self) -> str:
        return f"{self.column} {self.value!r} fails {self.expectation}"


@dataclass
class SuiteReport:
    """What the suite found: failures per order, and a summary for XCom and the audit log."""

    evaluated_expectations: int = 0
    successful_expectations: int = 0
    orders_checked: int = 0
    failures_by_order: dict[str, list[RowFailure]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "suite": "max_sales_orders",
            "orders_checked": self.orders_checked,
            "orders_failed": len(self.failures_by_order),
            "expectations_evaluated": self.evaluated_expectations,
            "expectations_passed": self.successful_expectations,
        }


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def sales_orders_to_frames(orders: list[SalesOrder]):  # noqa: ANN201 - pandas types stay local
    """One row per header and one per line, keyed by CUSTPO, with money as exact text for the scale check."""
    import pandas as pd

    headers, lines = [], []
    for order in orders:
        headers.append({
            "order_key": order.CUSTPO, "CUSTID": order.CUSTID, "CUSTPO": order.CUSTPO, "NAME": order.NAME,
            **{f"ADDR{i}": getattr(order, f"ADDR{i}") for i in range(1, 7)},
            "CITY": order.CITY, "TERMS": order.TERMS, "SHPVIA": order.SHPVIA, "CURR": order.CURR,
            "TTAX": _money_text(order.TTAX),
        })
        for line in order.lines:
            lines.append({
                "order_key": order.CUSTPO, "LINNUM": line.LINNUM, "PRTNUM": line.PRTNUM, "SLSUOM": line.SLSUOM,
                "ORGQTY": float(line.ORGQTY), "PRICE": _money_text(line.PRICE),
                "TAX1": _money_text(line.TAX1) or "0", "TAX2": _money_text(line.TAX2) or "0",
                "TAX3": _money_text(line.TAX3) or "0",
                "TAXCDE1": line.TAXCDE1, "TAXCDE2": line.TAXCDE2, "TAXCDE3": line.TAXCDE3,
            })
    return pd.DataFrame(headers), pd.DataFrame(lines)


def _header_expectations(gx, codes: ReferenceCodes) -> list:
    e = gx.expectations
    expectations = [
        e.ExpectColumnValuesToNotBeNull(column="CUSTID"),
        e.ExpectColumnValuesToNotBeNull(column="CUSTPO"),
        e.ExpectColumnValuesToBeUnique(column="CUSTPO"),
        e.ExpectColumnValueLengthsToBeBetween(column="CUSTID", min_value=1, max_value=FIELD_LENGTHS["CUSTID"]),
        e.ExpectColumnValueLengthsToBeBetween(column="CUSTPO", min_value=1, max_value=FIELD_LENGTHS["CUSTPO"]),
        e.ExpectColumnValuesToBeInSet(column="TERMS", value_set=sorted(codes.terms), mostly=1.0),
        e.ExpectColumnValuesToBeInSet(column="SHPVIA", value_set=sorted(codes.ship_via)),
        e.ExpectColumnValuesToBeInSet(column="CURR", value_set=sorted(codes.currencies)),
        e.ExpectColumnValuesToMatchRegex(column="TTAX", regex=_MONEY),
    ]
    for column in ("NAME", "ADDR1", "ADDR2", "ADDR3", "ADDR4", "ADDR5", "ADDR6", "CITY"):
        limit = FIELD_LENGTHS["ADDR" if column.startswith("ADDR") else column]
        expectations.append(e.ExpectColumnValueLengthsToBeBetween(column=column, min_value=1, max_value=limit))
    return expectations


def _line_expectations(gx, codes: ReferenceCodes) -> list:
    e = gx.expectations
    expectations = [
        e.ExpectColumnValuesToNotBeNull(column="PRTNUM"),
        e.ExpectColumnValueLengthsToBeBetween(column="PRTNUM", min_value=1, max_value=FIELD_LENGTHS["PRTNUM"]),
        e.ExpectColumnValuesToBeInSet(column="PRTNUM", value_set=sorted(codes.part_numbers)),
        e.ExpectColumnValuesToBeInSet(column="SLSUOM", value_set=sorted(codes.uoms)),
        e.ExpectColumnValuesToBeBetween(column="ORGQTY", min_value=0, strict_min=True),
        e.ExpectColumnValuesToNotBeNull(column="PRICE"),
    ]
    for column in ("PRICE", "TAX1", "TAX2", "TAX3"):
        expectations.append(e.ExpectColumnValuesToMatchRegex(column=column, regex=_MONEY))
    for column in ("TAXCDE1", "TAXCDE2", "TAXCDE3"):
        expectations.append(e.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(codes.tax_codes)))
    return expectations


def validate_sales_orders(orders: list[SalesOrder], codes: ReferenceCodes) -> SuiteReport:
    """Run the suite over one batch; return which orders fail which expectation with which value."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    quiet_great_expectations()
    import great_expectations as gx

    quiet_great_expectations()  # again: importing it set some of its module loggers to INFO

    report = SuiteReport(orders_checked=len(orders))
    if not orders:
        return report
    headers, lines = sales_orders_to_frames(orders)
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False}
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    source = context.data_sources.add_pandas("max_sales_orders")
    for name, frame, expectations in (("headers", headers, _header_expectations(gx, codes)),
                                      ("lines", lines, _line_expectations(gx, codes))):
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(f"{name}_batch")
        suite = context.suites.add(gx.ExpectationSuite(name=f"max_sales_order_{name}", expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"validate_{name}", data=batch, suite=suite))
        result = definition.run(batch_parameters={"dataframe": frame},
                                result_format={"result_format": "COMPLETE",
                                               "unexpected_index_column_names": ["order_key"]})
        report.evaluated_expectations += result.statistics["evaluated_expectations"]
        report.successful_expectations += result.statistics["successful_expectations"]
        for expectation_result in result.results:
            if expectation_result.success:
                continue
            config = expectation_result.expectation_config
            column = config.kwargs.get("column", "")
            for index in expectation_result.result.get("unexpected_index_list") or []:
                key = index["order_key"]
                report.failures_by_order.setdefault(key, []).append(
                    RowFailure(key, config.type, column, index.get(column)))
    return report
