"""The report's sections, one per flow or subject, each with a stable id a person (and a test) can link to.

Where each table of each flow is shown is written down once, in :data:`PLACEMENT`; a table it does not name
(a flow added a new one) is still shown, generically, in its flow's own section. A section whose flow sent no
report says so: the check is then incomplete.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopify_max.dry_run import EXAMPLES_PER_REASON, DryRunReport
from shopify_max.go_live import markup as m
from shopify_max.go_live.cells import cell_text, safe_name
from shopify_max.go_live.charts import bar_chart

FAILURES_CSV = "failures.csv"
SWINGS_IN_CHART = 15
EXAMPLES_PER_RULE = 3
FLOW_TITLES = {"orders": "Orders → MAX sales orders", "refunds": "Refunds → MAX credit memos",
               "fulfilment": "Fulfilment → Shopify", "inventory": "Inventory levels → Shopify",
               "master_data": "Master data: customers, parts and codes"}
EXPECTED_FLOWS = tuple(FLOW_TITLES)
# (flow, table) → the section that shows it. ``rules_applied`` of any flow goes to the text rules.
PLACEMENT = {("orders", "orders"): "orders", ("orders", "new_customers"): "customers",
             ("refunds", "refunds"): "refunds", ("fulfilment", "fulfilments"): "fulfilment",
             ("inventory", "inventory_changes"): "inventory", ("inventory", "unmapped"): "codes",
             ("master_data", "customers"): "customers", ("master_data", "web_customers_without_account"): "customers",
             ("master_data", "coverage"): "coverage", ("master_data", "code_checks"): "codes"}
RULES_TABLE = "rules_applied"
FLOW_HOME = {"orders": "orders", "refunds": "refunds", "fulfilment": "fulfilment", "inventory": "inventory",
             "master_data": "master-data"}
# The order a person works through a list: what needs a decision first.
DECISION_ORDER = {name: rank for rank, name in enumerate(
    ("ambiguous", "conflict", "unmatched", "would_create", "matched"))}
COVERAGE_ORDER = {name: rank for rank, name in enumerate(
    ("duplicate_sku", "variant_without_sku", "variant_without_part", "uom_factor_mismatch", "unknown_uom",
     "part_without_variant", "price_missing", "price_mismatch", "taxable_mismatch"))}
ROW_ORDER: dict[tuple[str, str], Callable[[Mapping[str, Any]], Any]] = {
    ("master_data", "customers"): lambda row: DECISION_ORDER.get(cell_text(row.get("decision")), len(DECISION_ORDER)),
    ("master_data", "coverage"): lambda row: COVERAGE_ORDER.get(cell_text(row.get("kind")), len(COVERAGE_ORDER)),
}


def section_id(key: str) -> str:
    return f"section-{key}"


def flow_section_key(flow: str) -> str:
    return FLOW_HOME.get(flow) or f"flow-{safe_name(flow).lower()}"


def placement(flow: str, table: str) -> str:
    if table == RULES_TABLE:
        return "text-rules"
    return PLACEMENT.get((flow, table)) or flow_section_key(flow)


def count_by(rows: Iterable[Mapping[str, Any]], key: str) -> list[tuple[str, int]]:
    """(value, rows) for each value of ``key``, most rows first."""
    counted = Counter(cell_text(row.get(key)) or "(empty)" for row in rows)
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


@dataclass
class ReportContext:
    """The reports by flow, and the CSV file each table was written to."""

    reports: dict[str, DryRunReport]
    csv_names: dict[tuple[str, str], str] = field(default_factory=dict)
    shown: set[tuple[str, str]] = field(default_factory=set)

    def rows(self, flow: str, table: str) -> list[dict[str, Any]]:
        report = self.reports.get(flow)
        return list(report.tables.get(table) or []) if report else []

    def table_block(self, flow: str, table: str, title: str) -> str:
        """A heading and the (capped) table, with its CSV; marks the table as shown."""
        self.shown.add((flow, table))
        csv_name = self.csv_names.get((flow, table))
        anchor = f"table-{safe_name(flow)}-{safe_name(table)}"
        rows = self.rows(flow, table)
        if flow not in self.reports:
            return m.heading(3, title, anchor) + m.paragraph("No report from this flow.", "empty")
        return m.heading(3, f"{title} ({len(rows)})", anchor) + m.table(rows, csv_name=csv_name)

    def other_tables(self, flow: str, home: str) -> str:
        """Tables of ``flow`` placed in section ``home`` that no section shows on purpose: shown as they are."""
        report = self.reports.get(flow)
        names = [name for name in (report.tables if report else {})
                 if placement(flow, name) == home and (flow, name) not in self.shown]
        return "".join(self.table_block(flow, name, f"{flow}: {name}") for name in names)


def missing(flow: str) -> str:
    return (f'<p class="missing">No report from the <strong>{m.esc(flow)}</strong> flow: it did not run, or failed '
            "before it reported. The go-live check is incomplete until it does.</p>")


def failures_block(report: DryRunReport, chart_id: str) -> str:
    """Would-fail records by reason: counts, a chart, and a few examples of each reason."""
    grouped = report.failures_by_reason(EXAMPLES_PER_REASON)
    if not grouped:
        return m.heading(3, "Would fail: none") + m.paragraph("No record of this flow would fail.", "empty")
    counts = [(reason, group["count"]) for reason, group in grouped.items()]
    examples = [{"reason": reason, "record": example["record"], "field": example["field"],
                 "message": example["message"]} for reason, group in grouped.items() for example in group["examples"]]
    return (m.heading(3, f"Would fail: {m.plural(len(report.would_fail), 'record')}, by reason")
            + m.figures(m.counts_table("reason", counts),
                        bar_chart(f"{report.flow}: would fail by reason", counts, chart_id=chart_id))
            + m.table(examples, caption=f"Up to {EXAMPLES_PER_REASON} examples of each reason")
            + f'<p class="more">Every record that would fail: {m.link(FAILURES_CSV, FAILURES_CSV)}.</p>')


def flow_block(ctx: ReportContext, flow: str) -> str:
    """What one flow read and would write, what would fail, and its notes."""
    report = ctx.reports.get(flow)
    if report is None:
        return missing(flow)
    key = safe_name(flow).lower()
    body = m.figures(m.counts_table("read", sorted(report.read.items()), total=False),
                     m.counts_table("would write", sorted(report.would_write.items()), total=False))
    body += failures_block(report, f"chart-failures-{key}")
    if report.notes:
        body += m.heading(3, "Notes") + '<ul class="notes">' + "".join(f"<li>{m.esc(n)}</li>" for n in report.notes)
        body += "</ul>"
    return body


def orders_section(ctx: ReportContext) -> str:
    body = flow_block(ctx, "orders")
    outcomes = count_by(ctx.rows("orders", "orders"), "outcome")
    if outcomes:
        body += m.heading(3, "Orders by outcome") + m.figures(
            m.counts_table("outcome", outcomes), bar_chart("Orders by outcome", outcomes, chart_id="chart-orders-outcome"))
    body += ctx.table_block("orders", "orders", "Orders")
    return body + ctx.other_tables("orders", "orders")


def customers_section(ctx: ReportContext) -> str:
    decisions = count_by(ctx.rows("master_data", "customers"), "decision")
    body = m.paragraph("MAX customers and their Shopify match: ambiguous and conflicting ones need a person's "
                       "decision before the master-data sync runs; would_create ones become Shopify customers.")
    if "master_data" not in ctx.reports:
        body += missing("master_data")
    if decisions:
        body += m.figures(m.counts_table("decision", decisions),
                          bar_chart("Customers by decision", decisions, chart_id="chart-customer-decisions"))
    body += ctx.table_block("master_data", "customers", "MAX customers (ambiguous and conflicts first)")
    body += ctx.table_block("master_data", "web_customers_without_account", "Web customers without a MAX account")
    body += ctx.table_block("orders", "new_customers", "Customers the orders export would create in MAX")
    return body


def inventory_section(ctx: ReportContext) -> str:
    body = flow_block(ctx, "inventory")
    changes = ctx.rows("inventory", "inventory_changes")
    if changes:
        deltas = [_number(row.get("delta")) for row in changes]
        up, down = sum(d for d in deltas if d > 0), sum(d for d in deltas if d < 0)
        body += m.paragraph(f"{len(changes)} inventory levels would change: {up:+g} units up, {down:+g} units down.")
        largest = sorted(changes, key=lambda row: -abs(_number(row.get("delta"))))[:SWINGS_IN_CHART]
        bars = [(f"{cell_text(row.get('sku'))} @ {cell_text(row.get('location'))}", _number(row.get("delta")))
                for row in largest]
        chart = bar_chart("Largest inventory swings (MAX target minus Shopify quantity)", bars,
                          chart_id="chart-inventory-swings", signed=True)
        if chart:
            body += m.heading(3, f"The {len(bars)} largest swings") + chart
    unmapped = len(ctx.rows("inventory", "unmapped"))
    if unmapped:
        body += (f'<p>Unmapped SKUs or locations: {unmapped}, listed in '
                 f'{m.link("#section-codes", "Unmapped and duplicates")}.</p>')
    body += ctx.table_block("inventory", "inventory_changes", "Levels that would change (largest first)")
    return body + ctx.other_tables("inventory", "inventory")


def codes_section(ctx: ReportContext) -> str:
    body = m.paragraph("SKUs, locations and codes that have no mapping, and values that appear twice. Each must be "
                       "mapped, or explained, before the flow that meets it is switched on.")
    unmapped = count_by(ctx.rows("inventory", "unmapped"), "kind")
    if unmapped:
        body += m.figures(m.counts_table("unmapped kind", unmapped),
                          bar_chart("Unmapped, by kind", unmapped, chart_id="chart-unmapped-kinds"))
    body += ctx.table_block("inventory", "unmapped", "Unmapped in the inventory flow")
    checks = count_by(ctx.rows("master_data", "code_checks"), "problem")
    if checks:
        body += m.figures(m.counts_table("code problem", checks),
                          bar_chart("Code problems", checks, chart_id="chart-code-problems"))
    body += ctx.table_block("master_data", "code_checks", "Code-table checks (mapping files against MAX)")
    duplicates = sum(1 for row in ctx.rows("master_data", "coverage") if row.get("kind") == "duplicate_sku")
    if duplicates:
        body += (f'<p>{m.plural(duplicates, "duplicate SKU")} in the catalogue: listed first in '
                 f'{m.link("#section-coverage", "Catalogue coverage")}.</p>')
    return body


def coverage_section(ctx: ReportContext) -> str:
    body = m.paragraph("MAX parts against Shopify variants (include/mappings/sku_to_part.csv): every difference "
                       "below is a sale that would not map, or a price, unit or tax that would disagree.")
    if "master_data" not in ctx.reports:
        body += missing("master_data")
    kinds = count_by(ctx.rows("master_data", "coverage"), "kind")
    if kinds:
        body += m.figures(m.counts_table("kind", kinds),
                          bar_chart("Catalogue coverage problems by kind", kinds, chart_id="chart-coverage-kinds"))
    return body + ctx.table_block("master_data", "coverage", "Coverage differences")


def text_rules_section(ctx: ReportContext) -> str:
    body = m.paragraph("Fields that MAX cannot take as Shopify has them: each would be cut to MAX's length or "
                       "transliterated to its character set, by the rule named (EXACTMAX.md).")
    flows = [flow for flow, report in ctx.reports.items() if RULES_TABLE in report.tables]
    rows = [row for flow in flows for row in ctx.rows(flow, RULES_TABLE)]
    if not flows:
        return body + m.paragraph("No flow reported a truncated or transliterated field.", "empty")
    rules = count_by(rows, "rule")
    body += m.figures(m.counts_table("rule", rules), m.counts_table("field", count_by(rows, "field")),
                      bar_chart("Fields changed, by rule", rules, chart_id="chart-text-rules"))
    examples: list[dict[str, Any]] = []
    for rule, _count in rules:
        examples += [row for row in rows if (cell_text(row.get("rule")) or "(empty)") == rule][:EXAMPLES_PER_RULE]
    body += m.table(examples, caption=f"Up to {EXAMPLES_PER_RULE} examples of each rule")
    for flow in flows:
        body += ctx.table_block(flow, RULES_TABLE, f"{flow}: every field changed")
    return body


def simple_flow_section(flow: str, table: str, title: str) -> Callable[[ReportContext], str]:
    def build(ctx: ReportContext) -> str:
        body = flow_block(ctx, flow) + ctx.table_block(flow, table, title)
        return body + ctx.other_tables(flow, flow_section_key(flow))
    return build


def master_data_section(ctx: ReportContext) -> str:
    return flow_block(ctx, "master_data") + ctx.other_tables("master_data", "master-data")


# (key, title, builder), in reading order. The overview comes first; it is built by the report itself.
SECTIONS: Sequence[tuple[str, str, Callable[[ReportContext], str]]] = (
    ("orders", FLOW_TITLES["orders"], orders_section),
    ("customers", "Customers: would be created, matched, or ambiguous", customers_section),
    ("refunds", FLOW_TITLES["refunds"], simple_flow_section("refunds", "refunds", "Refunds")),
    ("fulfilment", FLOW_TITLES["fulfilment"], simple_flow_section("fulfilment", "fulfilments", "Fulfilments")),
    ("inventory", FLOW_TITLES["inventory"], inventory_section),
    ("codes", "Unmapped SKUs, locations and codes; duplicates", codes_section),
    ("coverage", "Catalogue coverage: MAX parts and Shopify variants", coverage_section),
    ("master-data", FLOW_TITLES["master_data"], master_data_section),
    ("text-rules", "Fields that would be truncated or transliterated, by rule", text_rules_section),
)


def flow_sections(ctx: ReportContext) -> list[tuple[str, str, str]]:
    """(section id, title, html) of every section after the overview, unknown flows last."""
    built = [(section_id(key), title, m.section(section_id(key), title, build(ctx))) for key, title, build in SECTIONS]
    for flow in ctx.reports:
        if flow not in FLOW_HOME:
            key = flow_section_key(flow)
            title = f"Flow: {flow}"
            body = flow_block(ctx, flow) + ctx.other_tables(flow, key)
            built.append((section_id(key), title, m.section(section_id(key), title, body)))
    return built
