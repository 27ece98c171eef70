"""Fitting Shopify text into Exact MAX's fixed-length CHAR columns, by explicit rules.

Nothing is silently truncated (DESIGN.md: no silent changes). Each change is a :class:`RuleApplied`.
- transliterate: non-ASCII text → ASCII with Unidecode ("Zoë" → "Zoe"); or flag it as an error; or keep it;
- abbreviate: whole words replaced from the configured table ("Street" → "St");
- continue: text split at a word boundary, the rest carried into the next free field.

Text XML cannot carry (control characters, U+FFFE/U+FFFF) is refused with the field's name
(``xml_illegal_character``), and text longer than any Shopify field of its kind is refused before it is split
(``field_limits.MAX_TEXT_CHARS``): fitting stops as soon as the fields run out, so its cost stays bounded.
"""

from __future__ import annotations

import re

from unidecode import unidecode

from shopify_max.orders.field_limits import MAX_TEXT_CHARS
from shopify_max.orders.outcome import XML_ILLEGAL_CHARACTERS, MappingError, MappingRefused, RuleApplied, excerpt


class TextRuleError(MappingRefused):
    """A text rule refused a value (too long, not ASCII under ``flag``, not XML)."""


def refuse_xml_illegal(value: str | None, field: str) -> None:
    """Raise when ``value`` holds a character no XML document can carry (MAX would never see the order)."""
    if value and (bad := XML_ILLEGAL_CHARACTERS.search(value)) is not None:
        raise TextRuleError(MappingError(field, "xml_illegal_character",
                                         f"holds the control character U+{ord(bad.group()):04X} at position "
                                         f"{bad.start() + 1}, which XML (and so MAX) cannot carry", value))


def refuse_absurd_length(value: str, field: str) -> None:
    """Raise before any work on a text longer than any Shopify field of its kind (``field_limits``)."""
    if len(value) > MAX_TEXT_CHARS:
        raise TextRuleError(MappingError(field, "too_long", f"{len(value):,} characters: longer than any Shopify "
                                         f"text field ({MAX_TEXT_CHARS:,}), not fitted", value))


def transliterate(value: str, field: str, mode: str, applied: list[RuleApplied]) -> str:
    """Apply the character-set rule to one value (EXACTMAX.md pitfall 2)."""
    if value.isascii() or mode == "keep":
        return value
    if mode == "flag":
        raise TextRuleError(MappingError(field, "non_ascii", f"{excerpt(value)} has characters MAX may not store "
                                                             "(transliteration is set to flag)", value))
    replaced = unidecode(value).strip()
    applied.append(RuleApplied(field, "transliterate", value, replaced))
    return replaced


def abbreviate(value: str, abbreviations: dict[str, str]) -> str:
    """Replace whole words (case-insensitive, keeping a trailing period off) from the table."""
    if not abbreviations:
        return value
    pattern = re.compile(r"\b(" + "|".join(re.escape(word) for word in abbreviations) + r")\b\.?", re.IGNORECASE)
    lookup = {word.casefold(): short for word, short in abbreviations.items()}
    return pattern.sub(lambda match: lookup[match.group(1).casefold()], value)


def split_at_word(value: str, limit: int) -> tuple[str, str]:
    """First part ≤ ``limit`` characters ending at a word boundary (or a hard cut for one long word)."""
    if len(value) <= limit:
        return value, ""
    cut = value.rfind(" ", 0, limit + 1)
    if cut <= 0:
        cut = limit
    return value[:cut].rstrip(), value[cut:].strip()


def fit_lines(values: list[tuple[str, str]], limit: int, slots: int, overflow: str,
              abbreviations: dict[str, str], applied: list[RuleApplied]) -> list[str]:
    """Fit labelled text values into at most ``slots`` fields of ``limit`` characters.

    ``values`` are (source field, text). Returns the field values in order. Raises :class:`TextRuleError`
    when the rule is ``error`` and a value is too long, or when the lines run out.
    """
    result: list[str] = []
    for source, text in values:
        refuse_absurd_length(text, source)
        text = " ".join(text.split())
        if not text:
            continue
        if len(text) > limit and overflow in ("abbreviate",):
            shorter = abbreviate(text, abbreviations)
            if shorter != text:
                applied.append(RuleApplied(source, "abbreviate", text, shorter))
                text = shorter
        if len(text) > limit and overflow == "error":
            raise TextRuleError(MappingError(source, "too_long", f"{len(text)} characters, MAX holds {limit} "
                                                                 "(text_overflow is set to error)", text))
        while text:
            if len(result) == slots:  # the fields have run out: stop here, whatever the length of the rest
                raise TextRuleError(MappingError(
                    source, "too_long", f"address needs more than {slots} lines of {limit} characters "
                    f"({source} still has {len(text):,} characters to place), MAX holds {slots}",
                    " | ".join([*result, text])))
            head, rest = split_at_word(text, limit)
            if rest:
                applied.append(RuleApplied(source, "continue_into_next_line", text, f"{head} | {rest}"))
            result.append(head)
            text = rest
    return result


def fit_single(value: str | None, field: str, limit: int, overflow: str, abbreviations: dict[str, str],
               applied: list[RuleApplied]) -> str | None:
    """One field that cannot continue elsewhere (CITY, PHONE, ...): abbreviate if allowed, else an error."""
    if value is None:
        return None
    refuse_absurd_length(value, field)
    text = " ".join(value.split())
    if len(text) <= limit:
        return text or None
    if overflow in ("abbreviate", "continue"):
        shorter = abbreviate(text, abbreviations)
        if shorter != text and len(shorter) <= limit:
            applied.append(RuleApplied(field, "abbreviate", text, shorter))
            return shorter
    raise TextRuleError(MappingError(field, "too_long", f"{len(text)} characters, MAX holds {limit}", text))
