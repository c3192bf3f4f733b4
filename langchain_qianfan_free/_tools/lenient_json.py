"""A lenient JSON reader: JSON the way small models write it.

Replies hold JSON wrapped in prose or code fences, with full-width punctuation
(``｛"a"：1，｝``), trailing commas, single quotes, or cut off at the end. This module
finds and reads such values without ever inventing one: JSON cut inside a string is
never completed (the value would be cut off). Prompt-mode tool calling
(:mod:`~langchain_qianfan_free._tools.prompt`) and JSON mode
(:mod:`~langchain_qianfan_free._tools.structured`) both read replies with it.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

from langchain_core.utils.json import parse_partial_json

__all__ = [
    "FENCED",
    "balanced_close",
    "extract_json",
    "fold_full_width",
    "load",
    "load_all",
    "segments",
]

FENCED = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|\Z)", re.DOTALL)
"""A code fence (an unclosed one runs to the end); group 1 is its body."""

_FULL_WIDTH = str.maketrans(
    {
        "｛": "{",
        "｝": "}",
        "［": "[",
        "］": "]",
        "：": ":",
        "，": ",",
        "“": '"',
        "”": '"',
        "＂": '"',
    }
)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def fold_full_width(text: str) -> str:
    """``text`` with full-width brackets, colons, commas and curly quotes made ASCII."""
    return text.translate(_FULL_WIDTH)


def extract_json(text: str, *, complete: bool = True) -> Any:
    """The JSON value a reply holds.

    That is the whole reply, a fenced block, or the first balanced ``{...}``/``[...]``
    in prose; full-width punctuation, trailing commas and single quotes are repaired.
    With ``complete=False`` (the reply was cut), JSON is never completed by guessing.

    Raises:
        ValueError: When the reply holds no JSON object or array.
    """
    for candidate in (text, *(m.group(1) for m in FENCED.finditer(text))):
        value = load(candidate, partial=complete)
        if isinstance(value, dict | list):
            return value
    for start, end in segments(text):
        value = load(text[start:end], partial=complete)
        if isinstance(value, dict | list):
            return value
    raise ValueError("the reply holds no JSON object")


def segments(text: str) -> Iterator[tuple[int, int]]:
    """Top-level ``{...}`` / ``[...]`` segments (full-width brackets too).

    An unclosed last one runs to the end of the text.
    """
    i = 0
    while i < len(text):
        if text[i] in "{[｛［":
            end = _balanced_end(text, i)
            yield i, end
            i = end
        else:
            i += 1


def _balanced_end(text: str, start: int) -> int:
    end = balanced_close(text, start)
    return len(text) if end is None else end  # unbalanced: take the rest (a truncated reply)


def balanced_close(text: str, start: int) -> int | None:
    """The end of the bracketed segment opening at ``start``; ``None`` if it is not closed."""
    depth, quoted, escaped = 0, False, False
    for i in range(start, len(text)):
        char = text[i]
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char in '"”':
                quoted = False
        elif char in '"“':
            quoted = True
        elif char in "{[｛［":
            depth += 1
        elif char in "}]｝］":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _ends_inside_string(text: str) -> bool:
    quoted, escaped = False, False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
    return quoted


def load_all(raw: str, *, partial: bool) -> list[Any]:
    """The JSON values in a block: one, or several written one after another."""
    value = load(raw, partial=False)
    if value is not None:
        return [value]
    found = list(segments(raw))
    if len(found) > 1:
        return [v for s, e in found if (v := load(raw[s:e], partial=partial)) is not None]
    value = load(raw, partial=partial)
    return [] if value is None else [value]


def load(raw: str, *, partial: bool = True) -> Any:
    """Parse JSON the way small models write it; ``None`` when it cannot be read.

    With ``partial``, JSON that only lacks its closing brackets is completed; JSON
    cut inside a string never is (the value would be cut off).
    """
    raw = raw.strip()
    attempts = (raw, fold_full_width(raw))
    for candidate in attempts:
        for text in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
            try:
                return json.loads(text)
            except ValueError:
                pass
    repaired = _TRAILING_COMMA.sub(r"\1", attempts[1])
    try:
        return ast.literal_eval(repaired)  # single-quoted, Python-style dicts
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    if not partial or _ends_inside_string(repaired):
        return None
    try:
        return parse_partial_json(repaired)  # closing brackets missing at the end
    except ValueError:
        return None
