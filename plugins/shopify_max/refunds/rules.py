"""``include/mappings/refund_rules.yaml``, with the order rules it builds on (freight part, stockroom), checked at
load time: errors name the file and the setting."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.mappings.loader import MappingFileError, load_mappings
from shopify_max.paths import MAPPINGS_DIR

ADJUSTMENT_RULES = ("misc_part", "error_queue")
GIFT_CARD_RULES = ("credit", "error_queue")


@dataclass(frozen=True)
class RefundRules:
    custpo_format: str = "SHOPR{refund_id}"
    adjustments: str = "misc_part"
    misc_part: str = "MISC"
    gift_card_refunds: str = "credit"
    max_wait_days: int = 14
    freight_part: str = "FREIGHT"
    stockroom: str = "MAIN"


def load_refund_rules(directory: Path | None = None) -> RefundRules:
    directory = Path(directory or os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR)
    path = directory / "refund_rules.yaml"
    if not path.exists():
        raise MappingFileError(f"{path}: file is missing")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {"custpo_format", "adjustments", "misc_part_number", "gift_card_refunds", "max_wait_days"}
    if not isinstance(document, dict) or set(document) - known:
        raise MappingFileError(f"{path}: unknown settings {sorted(set(document) - known)}; known: {sorted(known)}")
    custpo = document.get("custpo_format", RefundRules.custpo_format)
    try:
        if not isinstance(custpo, str) or "{refund_id}" not in custpo:
            raise KeyError("refund_id")
        custpo.format(refund_id="1")
    except (KeyError, IndexError, ValueError):
        raise MappingFileError(f"{path}: custpo_format must hold {{refund_id}} and no other field, got {custpo!r}") \
            from None
    for name, choices, default in (("adjustments", ADJUSTMENT_RULES, "misc_part"),
                                   ("gift_card_refunds", GIFT_CARD_RULES, "credit")):
        if document.get(name, default) not in choices:
            raise MappingFileError(f"{path}: {name} must be one of {choices}, got {document.get(name)!r}")
    misc = document.get("misc_part_number", "MISC")
    if not isinstance(misc, str) or not 1 <= len(misc) <= FIELD_LENGTHS["PRTNUM"]:
        raise MappingFileError(f"{path}: misc_part_number must be a MAX part number, got {misc!r}")
    wait = document.get("max_wait_days", 14)
    if not isinstance(wait, int) or isinstance(wait, bool) or not 1 <= wait <= 365:
        raise MappingFileError(f"{path}: max_wait_days must be 1..365, got {wait!r}")
    orders = load_mappings(directory).rules
    return RefundRules(custpo_format=custpo, adjustments=document.get("adjustments", "misc_part"), misc_part=misc,
                       gift_card_refunds=document.get("gift_card_refunds", "credit"), max_wait_days=wait,
                       freight_part=orders.freight_part_number, stockroom=orders.stockroom)
