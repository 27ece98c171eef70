"""The rendered report read back with the standard library's HTML parser, the way a browser sees it (entities
decoded): its sections, their headings, tables, charts and links."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Table:
    css_id: str | None
    rows: list[list[str]] = field(default_factory=list)  # the header row first

    def records(self) -> list[dict[str, str]]:
        header, *body = self.rows
        return [dict(zip(header, row, strict=False)) for row in body]


@dataclass
class Section:
    id: str
    heading: str = ""
    subheadings: list[str] = field(default_factory=list)
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    charts: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)  # id → (label, fill, width)


class Outline(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: dict[str, Section] = {}
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self._section: Section | None = None
        self._table: Table | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._heading: tuple[str, list[str]] | None = None
        self._chart: str | None = None
        self._bar: dict[str, object] | None = None
        self._bar_label: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        if "href" in attributes:
            self.hrefs.append(attributes["href"] or "")
        if tag == "section":
            self._section = self.sections.setdefault(attributes["id"] or "", Section(attributes["id"] or ""))
        elif tag == "table" and self._section is not None:
            self._table = Table(attributes.get("id"))
            self._section.tables.append(self._table)
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("h2", "h3"):
            self._heading = (tag, [])
        elif tag == "svg" and self._section is not None:
            self._chart = attributes["id"]
            self._section.charts[self._chart or ""] = []
        elif tag == "g" and self._chart:
            self._bar = {"label": None}
        elif tag == "text" and self._bar is not None and self._bar["label"] is None:
            self._bar_label = []
        elif tag == "rect" and self._bar is not None:
            self._bar.update(fill=attributes["fill"], width=float(attributes["width"] or 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table.rows.append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag in ("h2", "h3") and self._heading and self._section is not None:
            text = "".join(self._heading[1])
            if tag == "h2":
                self._section.heading = text
            else:
                self._section.subheadings.append(text)
            self._heading = None
        elif tag == "svg":
            self._chart = None
        elif tag == "text" and self._bar_label is not None and self._bar is not None:
            self._bar["label"] = "".join(self._bar_label)
            self._bar_label = None
        elif tag == "g" and self._bar is not None and self._chart and self._section is not None:
            self._section.charts[self._chart].append((str(self._bar["label"]), str(self._bar["fill"]),
                                                      float(self._bar["width"])))  # type: ignore[arg-type]
            self._bar = None

    def handle_data(self, data: str) -> None:
        if self._section is not None:
            self._section.text += data
        for sink in (self._cell, self._bar_label, self._heading[1] if self._heading else None):
            if sink is not None:
                sink.append(data)

    def table(self, section_id: str, header_starts: str) -> Table:
        """The table of a section whose first column is ``header_starts``."""
        for table in self.sections[section_id].tables:
            if table.rows and table.rows[0][0] == header_starts:
                return table
        raise AssertionError(f"no table starting with {header_starts!r} in {section_id}")
