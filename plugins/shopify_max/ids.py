"""Shopify global ids, ``gid://shopify/<Type>/<legacy id>``: the one place a gid is built, split or checked.

A gid is text, never a number: Shopify's legacy ids exceed 2^53 (SHOPIFY.md §4). Some gids carry a query
after the id (``gid://shopify/InventoryLevel/1?inventory_item_id=2``); it is kept as part of the gid.
"""

from __future__ import annotations

import re
from typing import NamedTuple

GID_PREFIX = "gid://shopify/"
_GID = re.compile(r"gid://shopify/([A-Za-z][A-Za-z0-9]*)/([0-9]+)(\?[^/]*)?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")


class InvalidShopifyGid(ValueError):
    """A value that should be a Shopify gid (or legacy id) of some type is not one."""


class ShopifyGid(NamedTuple):
    """A gid split: ``kind`` is the resource type (``Order``), ``legacy_id`` its ASCII digits."""

    kind: str
    legacy_id: str


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def shopify_gid(kind: str, legacy_id: int | str) -> str:
    """``("Location", 64001001)`` → ``gid://shopify/Location/64001001``; the id must be ASCII digits."""
    if not _KIND.fullmatch(kind):
        raise InvalidShopifyGid(f"not a Shopify resource type: {_shown(kind)}")
    if isinstance(legacy_id, bool) or not isinstance(legacy_id, (int, str)):
        raise InvalidShopifyGid(f"a {kind} id must be a whole number, not {type(legacy_id).__name__}")
    text = str(legacy_id)
    if not (text.isascii() and text.isdigit()):
        raise InvalidShopifyGid(f"not a Shopify {kind} id: {_shown(legacy_id)}")
    return f"{GID_PREFIX}{kind}/{text}"


def split_gid(gid: object, kind: str | None = None) -> ShopifyGid:
    """``gid://shopify/Order/820982911946154508`` → ``ShopifyGid("Order", "820982911946154508")``.

    Raises :class:`InvalidShopifyGid` when ``gid`` is not a Shopify gid, or not one of ``kind``.
    """
    match = _GID.fullmatch(gid) if isinstance(gid, str) else None
    if match is None:
        raise InvalidShopifyGid(f"not a Shopify {kind or 'gid'}: {_shown(gid)}")
    if kind is not None and match.group(1) != kind:
        raise InvalidShopifyGid(f"not a Shopify {kind} gid: {_shown(gid)}")
    return ShopifyGid(match.group(1), match.group(2))


def is_shopify_gid(value: object, kind: str | None = None) -> bool:
    """Whether ``value`` is a Shopify gid (of ``kind``, when given)."""
    try:
        split_gid(value, kind)
    except InvalidShopifyGid:
        return False
    return True


def as_shopify_gid(value: int | str, kind: str) -> str:
    """A ``kind`` gid from its gid or its legacy id (``64001001`` or ``gid://shopify/Location/64001001``)."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.startswith(GID_PREFIX):
        split_gid(text, kind)
        return text
    return shopify_gid(kind, text)


def legacy_id(value: int | str, kind: str) -> str:
    """The legacy id (ASCII digits) of a ``kind`` resource given as its gid, its digits, or an int."""
    return split_gid(as_shopify_gid(value, kind), kind).legacy_id
