"""Inline SVG bar charts: no script, no network, readable when the HTML file is opened on its own.

One chart type is enough for the report: horizontal bars, one per label, longest first. When some values are
negative (inventory that would go down) the bars grow left and right of a zero line in the middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

MAX_BARS = 15
LABEL_WIDTH = 280
BAR_AREA = 380
VALUE_WIDTH = 70
ROW_HEIGHT = 22
TOP = 8
LABEL_CHARS = 42
POSITIVE = "#2f6db5"
NEGATIVE = "#c0392b"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, chart_id: str, signed: bool = False) -> str:
    """An SVG of ``bars`` (label, value), at most :data:`MAX_BARS` of them, in the order given; ``""`` when
    there is nothing to draw. ``signed`` shows a ``+`` on positive values (changes rather than counts)."""
    shown = [(label, value) for label, value in bars if value][:MAX_BARS]
    if not shown:
        return ""
    largest = max(abs(value) for _, value in shown)
    two_sided = any(value < 0 for _, value in shown)
    zero_x = LABEL_WIDTH + (BAR_AREA / 2 if two_sided else 0)
    scale = (BAR_AREA / 2 if two_sided else BAR_AREA) / largest
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH * (2 if two_sided else 1)
    if two_sided:
        zero_x += VALUE_WIDTH
    height = TOP * 2 + ROW_HEIGHT * len(shown)
    title_id = f"{chart_id}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(title_id)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
    ]
    for index, (label, value) in enumerate(shown):
        y = TOP + index * ROW_HEIGHT
        length = max(abs(value) * scale, 1)
        x = zero_x - length if value < 0 else zero_x
        text = escape(f"{value:+g}" if signed else f"{value:g}")
        value_x, anchor = (x - 4, "end") if value < 0 else (x + length + 4, "start")
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {text}</title>'
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#222">'
            f"{escape(_short(label))}</text>"
            f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{ROW_HEIGHT - 6}" '
            f'fill="{NEGATIVE if value < 0 else POSITIVE}"/>'
            f'<text x="{value_x:.1f}" y="{y + 15}" text-anchor="{anchor}" font-size="12" fill="#222">{text}</text>'
            "</g>"
        )
    if two_sided:
        parts.append(f'<line x1="{zero_x}" y1="{TOP}" x2="{zero_x}" y2="{height - TOP}" stroke="#555"/>')
    parts.append("</svg>")
    return "".join(parts)
