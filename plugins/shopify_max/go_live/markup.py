"""HTML pieces of the report. Every value goes through :func:`esc`; nothing from a record is trusted.

Tables are capped at :data:`HTML_ROW_CAP` rows with a link to the CSV that holds them all: a person reads the
first rows in the browser and opens the rest in a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from shopify_max.go_live.cells import cell_text, columns_of, is_number

HTML_ROW_CAP = 200

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 0 2rem 4rem; max-width: 1400px; }
h1 { margin: 1.2rem 0 .3rem; } h2 { margin-top: 2.4rem; border-bottom: 2px solid #ddd; padding-bottom: .2rem; }
h3 { margin: 1.4rem 0 .4rem; }
nav.contents ol { columns: 3; padding-left: 1.2rem; }
table { border-collapse: collapse; margin: .4rem 0 .6rem; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; background: #fafafa; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
.verdict { font-size: 1.3rem; font-weight: 600; padding: .6rem 1rem; border-radius: 4px; display: inline-block; }
.verdict.ready { background: #e3f4e3; color: #1d5e1d; } .verdict.not-ready { background: #fdecea; color: #8a1c12; }
.more { color: #555; font-style: italic; } .empty { color: #666; }
.missing { background: #fff4d6; padding: .4rem .8rem; border-left: 4px solid #e0a800; }
.chart { display: block; margin: .6rem 0 1rem; max-width: 100%; height: auto; }
.figures { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
ul.notes li { margin: .2rem 0; }
"""


def esc(value: Any) -> str:
    """Escaped text of any value: ``Smith & <Sons>`` shows as written and never becomes markup."""
    return escape(cell_text(value), quote=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def paragraph(text: str, css_class: str | None = None) -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{esc(text)}</p>"


def link(href: str, text: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def heading(level: int, text: str, anchor: str | None = None) -> str:
    attribute = f' id="{esc(anchor)}"' if anchor else ""
    return f"<h{level}{attribute}>{esc(text)}</h{level}>"


def _cell(value: Any) -> str:
    css = ' class="num"' if is_number(value) else ""
    return f"<td{css}>{esc(value)}</td>"


def table(rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, caption: str | None = None,
          csv_name: str | None = None, cap: int = HTML_ROW_CAP, css_id: str | None = None) -> str:
    """A table of ``rows`` (columns: every key, first seen first), at most ``cap`` rows; the rest are counted,
    with a link to ``csv_name`` when there is one."""
    if not rows:
        return paragraph(f"{caption}: none." if caption else "None.", "empty")
    header = list(columns) if columns is not None else columns_of(rows)
    attribute = f' id="{esc(css_id)}"' if css_id else ""
    parts = [f"<table{attribute}>"]
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{esc(name)}</th>" for name in header) + "</tr></thead><tbody>")
    for row in rows[:cap]:
        parts.append("<tr>" + "".join(_cell(row.get(name)) for name in header) + "</tr>")
    parts.append("</tbody></table>")
    hidden = len(rows) - cap
    if hidden > 0:
        where = f"in {link(csv_name, csv_name)}" if csv_name else "not shown"
        parts.append(f'<p class="more">First {cap} of {len(rows)} rows shown; {hidden} more {where}.</p>')
    elif csv_name:
        parts.append(f'<p class="more">Also as {link(csv_name, csv_name)}.</p>')
    return "".join(parts)


def counts_table(label: str, counts: Sequence[tuple[str, int]], *, caption: str | None = None,
                 total: bool = True) -> str:
    """Two columns, ``label`` and ``count``, with a total row."""
    if not counts:
        return paragraph(f"{caption}: none." if caption else "None.", "empty")
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    parts.append(f"<thead><tr><th>{esc(label)}</th><th>count</th></tr></thead><tbody>")
    parts += [f"<tr><td>{esc(name)}</td>{_cell(count)}</tr>" for name, count in counts]
    if total and len(counts) > 1:
        parts.append(f'<tr class="total"><td>total</td>{_cell(sum(count for _, count in counts))}</tr>')
    parts.append("</tbody></table>")
    return "".join(parts)


def figures(*blocks: str) -> str:
    """Blocks side by side (a counts table beside its chart)."""
    return '<div class="figures">' + "".join(f"<div>{block}</div>" for block in blocks if block) + "</div>"


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{esc(section_id)}">{heading(2, title)}{body}</section>'


def document(title: str, contents: Sequence[tuple[str, str]], sections: Sequence[str]) -> str:
    """The whole page: inline style, a contents list of (section id, title), then the sections. No script."""
    items = "".join(f"<li>{link('#' + anchor, name)}</li>" for anchor, name in contents)
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1>"
            f'<nav class="contents" aria-label="Sections"><ol>{items}</ol></nav>'
            + "".join(sections) + "</body></html>\n")
