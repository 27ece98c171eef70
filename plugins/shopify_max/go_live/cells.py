"""How a report value becomes text, in HTML and in CSV, and how a table is written as CSV."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): =, +, -, @, and tab or CR before them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def cell_text(value: Any) -> str:
    """The text of one value: empty for None, ISO for times, compact JSON for lists and dicts."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple | set):
        items = sorted(value, key=str) if isinstance(value, set) else value
        return json.dumps(items, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def csv_cell(value: Any) -> str:
    """The CSV text of one value. Text that a spreadsheet would run as a formula gets a leading ``'``;
    numbers stay numbers (a negative delta is not a formula)."""
    text = cell_text(value)
    if not is_number(value) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of every row, in the order first seen: rows of one table may differ in their keys."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(str(key), None)
    return list(seen)


def safe_name(text: str) -> str:
    """A file-name part made of letters, digits, ``_`` and ``-`` only."""
    return _UNSAFE_NAME.sub("-", text).strip("-") or "unnamed"


def table_file_name(flow: str, table: str) -> str:
    return f"{safe_name(flow)}__{safe_name(table)}.csv"


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> Path:
    """Every row (never capped), UTF-8 with a BOM so that spreadsheets show accented names as they are."""
    header = list(columns) if columns is not None else columns_of(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_cell(name) for name in header])
        for row in rows:
            writer.writerow([csv_cell(row.get(name)) for name in header])
    return path
