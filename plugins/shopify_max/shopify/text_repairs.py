"""Text the Shopify models repair as they read a payload, each repair listed (never a silent change).

JSON may escape half of a UTF-16 pair (``"\\ud800"``); Python then holds a string that cannot be encoded,
stored or serialised. :func:`replace_lone_surrogates` replaces each such character with U+FFFD and lists where.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_REPAIR_CONTEXT = 30  # characters either side of the first replacement kept in a TextRepair


class TextRepair(BaseModel):
    """A text the model changed as it read an order; the order mapping records each as a rule applied.

    ``lone_surrogate_replaced``: JSON may escape half of a UTF-16 pair (``"\\ud800"``); Python then holds a
    string that cannot be encoded, stored or serialised. Each such character becomes U+FFFD.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    field: str  # where, in the input's own names: "shipping_address.address1", "lineItems[0].name"
    rule: str = "lone_surrogate_replaced"
    count: int  # characters replaced in that text
    before: str  # the text around the first one, the surrogate written as an escape ("Zo\\ud800")
    after: str  # the same stretch as kept


def _find_lone_surrogates(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    found, pending = [], [((), data)]
    while pending:  # a loop, not recursion: JSON may nest deep
        path, value = pending.pop()
        if isinstance(value, str):
            if not value.isascii() and _LONE_SURROGATE.search(value):
                found.append((path, value))
        elif isinstance(value, dict):
            pending.extend(((*path, key), item) for key, item in value.items() if key not in ("text_repairs", "textRepairs"))
        elif isinstance(value, list):
            pending.extend(((*path, index), item) for index, item in enumerate(value))
    return sorted(found, key=lambda item: [(0, part, "") if isinstance(part, int) else (1, 0, part) for part in item[0]])


def _path_text(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _repair(path: tuple[Any, ...], value: str) -> tuple[str, TextRepair]:
    fixed, count = _LONE_SURROGATE.subn("\ufffd", value)
    first = _LONE_SURROGATE.search(value).start()
    start, end = max(first - _REPAIR_CONTEXT, 0), first + _REPAIR_CONTEXT
    before = value[start:end].encode("utf-8", "backslashreplace").decode("utf-8")
    return fixed, TextRepair(field=_path_text(path), count=count, before=before, after=fixed[start:end])


def replace_lone_surrogates(data: dict[str, Any]) -> tuple[dict[str, Any], list[TextRepair]]:
    """``data`` with every lone surrogate replaced by U+FFFD (copied where changed, never changed in place)."""
    found = _find_lone_surrogates(data)
    if not found:
        return data, []
    root, copies, repairs = dict(data), set(), []
    copies.add(id(root))
    for path, value in found:
        node = root
        for part in path[:-1]:
            child = node[part]
            if id(child) not in copies:
                child = dict(child) if isinstance(child, dict) else list(child)
                copies.add(id(child))
                node[part] = child
            node = child
        node[path[-1]], repair = _repair(path, value)
        repairs.append(repair)
    return root, repairs
