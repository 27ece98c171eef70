"""The go-live report: every flow's dry run, as one page a person reads before switching the sync on.

:func:`render_go_live_report` writes, into one folder:

- ``index.html``: self-contained (inline style and SVG charts, no script, no network), one section per flow or
  subject (:mod:`shopify_max.go_live.sections`), big tables capped with a link to their CSV;
- ``<flow>__<table>.csv``: every row of every table, safe to open in a spreadsheet;
- ``failures.csv``: every record that would fail, with its flow;
- ``summary.json``: the summary it also returns for XCom (counts and a verdict, no records).

The verdict is ``ready`` only when no record would fail, no finding is left to review and every flow reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shopify_max.clock import as_utc
from shopify_max.dry_run import DryRunReport
from shopify_max.go_live import markup as m
from shopify_max.go_live.cells import table_file_name, write_csv
from shopify_max.go_live.charts import bar_chart
from shopify_max.go_live.sections import (
    EXPECTED_FLOWS,
    FAILURES_CSV,
    ROW_ORDER,
    ReportContext,
    flow_section_key,
    flow_sections,
    section_id,
)
from shopify_max.go_live.storage import KEEP_REPORTS, REPORT_FILE, SUMMARY_FILE, prune_reports, run_report_dir

TITLE = "Go-live check: what the sync would do"
# Findings that are not failures but must be explained before going live: (flow, table, section, what, and for
# customers the decisions that count).
FINDINGS = (
    ("master_data", "customers", "customers", "ambiguous or conflicting customer matches",
     {"ambiguous", "conflict"}),
    ("master_data", "coverage", "coverage", "catalogue coverage differences", None),
    ("master_data", "code_checks", "codes", "code-table problems", None),
    ("inventory", "unmapped", "codes", "unmapped SKUs and locations (inventory)", None),
)


@dataclass(frozen=True)
class GoLiveReportFiles:
    html: Path
    csv: dict[str, Path]  # by file stem: "orders__orders", "failures"
    summary: dict[str, Any]  # small and JSON-safe: for XCom


def _when(value: datetime) -> str:
    return as_utc(value).isoformat()


def _findings(ctx: ReportContext) -> list[dict[str, Any]]:
    found = []
    for flow, table, section, label, decisions in FINDINGS:
        rows = ctx.rows(flow, table)
        if decisions:
            rows = [row for row in rows if row.get("decision") in decisions]
        found.append({"flow": flow, "table": table, "section": section, "what": label, "count": len(rows)})
    return found


def build_summary(reports: Sequence[DryRunReport], findings: list[dict[str, Any]], *, run_id: str,
                  generated_at: datetime, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Counts per flow and the verdict; JSON-safe and small (no record, no name), fit for XCom."""
    problems = sum(len(report.would_fail) for report in reports)
    to_review = sum(item["count"] for item in findings)
    missing = [flow for flow in EXPECTED_FLOWS if flow not in {report.flow for report in reports}]
    parts = []
    if problems:
        parts.append(f"{m.plural(problems, 'problem')} to resolve")
    if to_review:
        parts.append(f"{m.plural(to_review, 'finding')} to review")
    if missing:
        parts.append(f"no report from {', '.join(missing)}")
    return {
        "run_id": run_id, "generated_at": _when(generated_at), "window": [_when(window[0]), _when(window[1])],
        "verdict": ", ".join(parts) if parts else "ready", "ready": not parts,
        "problems": problems, "to_review": to_review, "missing_flows": missing,
        "findings": {f"{item['flow']}.{item['table']}": item["count"] for item in findings if item["count"]},
        "flows": {report.flow: {"read": dict(report.read), "would_write": dict(report.would_write),
                                "would_fail": len(report.would_fail),
                                "would_fail_by_reason": {reason: group["count"] for reason, group
                                                         in report.failures_by_reason(0).items()}}
                  for report in reports},
    }


def _overview(ctx: ReportContext, summary: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    ready = summary["ready"]
    body = (f'<p class="verdict {"ready" if ready else "not-ready"}" id="verdict">'
            f'Verdict: {m.esc(summary["verdict"])}</p>')
    start, end = summary["window"]
    body += m.table([{"run id": summary["run_id"], "generated at (UTC)": summary["generated_at"],
                      "window from (UTC)": start, "window to (UTC)": end}])
    flows = list(ctx.reports) + [flow for flow in summary["missing_flows"] if flow not in ctx.reports]
    rows = []
    for flow in flows:
        report = ctx.reports.get(flow)
        figures = summary["flows"].get(flow)
        rows.append({"flow": flow, "section": f"#{section_id(flow_section_key(flow))}",
                     "read": sum(report.read.values()) if report else None,
                     "would write": sum(report.would_write.values()) if report else None,
                     "would fail": figures["would_fail"] if figures else None,
                     "status": "no report" if report is None else "ok"})
    body += m.heading(3, "Would write and would fail, by flow")
    body += ('<table id="overview-flows"><thead><tr><th>flow</th><th>read</th><th>would write</th>'
             "<th>would fail</th><th>status</th></tr></thead><tbody>")
    for row in rows:
        cells = "".join(f'<td class="num">{m.esc(row[key])}</td>' for key in ("read", "would write", "would fail"))
        body += (f'<tr><td>{m.link(row["section"], row["flow"])}</td>{cells}<td>{m.esc(row["status"])}</td></tr>')
    body += "</tbody></table>"
    failures = [(f"{report.flow}: {reason}", group["count"]) for report in ctx.reports.values()
                for reason, group in report.failures_by_reason(0).items()]
    failures.sort(key=lambda item: -item[1])
    body += m.heading(3, f"Would fail, by flow and reason ({summary['problems']})")
    body += (m.figures(m.counts_table("flow: reason", failures),
                       bar_chart("Records that would fail, by flow and reason", failures,
                                 chart_id="chart-failures-overview"))
             if failures else m.paragraph("No record would fail.", "empty"))
    body += f"<p>Every record that would fail, with its flow: {m.link(FAILURES_CSV, FAILURES_CSV)}.</p>"
    body += m.heading(3, f"Findings to review ({summary['to_review']})")
    body += ("<table><thead><tr><th>finding</th><th>count</th></tr></thead><tbody>"
             + "".join(f'<tr><td>{m.link("#" + section_id(item["section"]), item["what"])}</td>'
                       f'<td class="num">{m.esc(item["count"])}</td></tr>' for item in findings)
             + "</tbody></table>")
    return body


def _ordered_tables(report: DryRunReport) -> dict[str, list[dict[str, Any]]]:
    """The tables, rows in the order the report shows them (HTML and CSV alike)."""
    tables = {}
    for name, rows in report.tables.items():
        order = ROW_ORDER.get((report.flow, name))
        rows = list(rows or [])
        tables[name] = sorted(rows, key=order) if order else rows
    return tables


def render_go_live_report(reports: list[DryRunReport], out_dir: Path, *, run_id: str, generated_at: datetime,
                          window: tuple[datetime, datetime]) -> GoLiveReportFiles:
    """Write the report of ``reports`` (one per flow) into ``out_dir`` and return its files and summary."""
    if as_utc(window[0]) >= as_utc(window[1]):
        raise ValueError(f"the go-live window is empty or reversed: {window[0]} → {window[1]}")
    flows = [report.flow for report in reports]
    if len(set(flows)) != len(flows):
        raise ValueError(f"one report per flow, got {flows}")
    out_dir.mkdir(parents=True, exist_ok=True)
    ordered = [DryRunReport(flow=r.flow, read=r.read, would_write=r.would_write, would_fail=r.would_fail,
                            tables=_ordered_tables(r), notes=r.notes) for r in reports]
    ctx = ReportContext(reports={report.flow: report for report in ordered})

    csv_files: dict[str, Path] = {}
    for report in ordered:
        for name, rows in report.tables.items():
            file_name = table_file_name(report.flow, name)
            ctx.csv_names[(report.flow, name)] = file_name
            csv_files[file_name.removesuffix(".csv")] = write_csv(out_dir / file_name, rows)
    failures = [{"flow": report.flow, "record": f.record, "field": f.field, "reason": f.reason, "message": f.message}
                for report in ordered for f in report.would_fail]
    csv_files["failures"] = write_csv(out_dir / FAILURES_CSV, failures,
                                      ["flow", "record", "field", "reason", "message"])

    findings = _findings(ctx)
    summary = build_summary(ordered, findings, run_id=run_id, generated_at=generated_at, window=window)
    sections = flow_sections(ctx)
    overview_id = section_id("overview")
    contents = [(overview_id, "Overview")] + [(anchor, title) for anchor, title, _html in sections]
    page = m.document(f"{TITLE} ({run_id})", contents,
                      [m.section(overview_id, "Overview", _overview(ctx, summary, findings))]
                      + [html for _anchor, _title, html in sections])
    html_path = out_dir / REPORT_FILE
    html_path.write_text(page, encoding="utf-8")
    summary["html"] = str(html_path)
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
    return GoLiveReportFiles(html=html_path, csv=csv_files, summary=summary)


def publish_go_live_report(reports: list[DryRunReport], *, run_id: str, generated_at: datetime,
                           window: tuple[datetime, datetime], base: Path | None = None,
                           keep: int = KEEP_REPORTS, max_age: timedelta | None = None) -> GoLiveReportFiles:
    """Render into this run's folder under :func:`go_live_reports_dir` (or ``base``), then keep only the newest
    ``keep`` reports: they hold customer names and e-mail addresses."""
    files = render_go_live_report(reports, run_report_dir(run_id, base), run_id=run_id, generated_at=generated_at,
                                  window=window)
    prune_reports(base, keep, max_age)
    return files
