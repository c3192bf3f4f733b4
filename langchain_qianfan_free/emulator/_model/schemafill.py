"""Deterministic values for a JSON Schema, taken from a user message (pure).

The scripted model fills tool arguments and JSON answers with :func:`fill_schema`:

* ``$ref`` into ``$defs``/``definitions`` is resolved; ``anyOf``/``oneOf`` take the first
  non-null branch; ``allOf`` is merged; ``const`` is used as is.
* ``enum``: the first value mentioned in the message (case-insensitive), else the first.
* ``integer``/``number``: the numbers of the message (ASCII or full-width digits), in
  order of appearance, one per numeric property; when none is left the schema's
  ``default``, else its ``minimum``, else 1 (clamped to ``minimum``/``maximum``).
* ``string``: quoted parts of the message ('…', "…", “…”, ‘…’, 「…」, 『…』), one per
  string property in order; then a placeholder for a known ``format`` (date, email,
  …); then, for location-like names (location, city, place, address), the words after
  the last "in"/"at" (up to the end of the sentence or a following "and", "then",
  "with", "for", "to"); else the message itself, whitespace collapsed, at most 60
  characters. Never empty.
* ``boolean`` → ``true``; ``null`` → ``null``; ``array`` → ``minItems`` (at least one)
  filled items, ``[]`` without an ``items`` schema; ``object`` → every property,
  required or not (``{}`` without properties).
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from typing import Any

__all__ = ["FALLBACK_TEXT", "fill_schema", "message_numbers", "quoted_parts"]

#: The string used when the message has no text at all.
FALLBACK_TEXT = "示例"
_TEXT_CHARS = 60
_MAX_DEPTH = 8
_MAX_ITEMS = 5
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])(-?)(\d+(?:\.\d+)?)")
_QUOTED = re.compile(
    r"(?<![A-Za-z0-9])'([^'\n]+?)'(?![A-Za-z0-9])"
    r'|"([^"\n]+?)"|“([^”\n]+?)”|‘([^’\n]+?)’|「([^」\n]+?)」|『([^』\n]+?)』'
)
_PLACE_NAMES = ("location", "city", "place", "address")
_PLACE = re.compile(
    r"\b(?:in|at)\s+([^?!.。？！\n]+?)(?=\s+(?:and|then|with|for|to)\b|[?!.。？！\n]|$)",
    re.IGNORECASE,
)
_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def message_numbers(text: str) -> list[int | float]:
    """The numbers written in ``text`` (full-width digits too), in order.

    A minus sign counts only right before the digits and not after a digit
    (``3 - 4`` is 3 and 4, ``-5`` is -5); digits glued to a preceding letter or
    underscore (``tool2``) are not numbers.
    """
    found: list[int | float] = []
    for match in _NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        raw = match.group(1) + match.group(2)
        found.append(float(raw) if "." in raw else int(raw))
    return found


def quoted_parts(text: str) -> list[str]:
    """The non-blank quoted parts of ``text``, in order of appearance."""
    parts = []
    for match in _QUOTED.finditer(text):
        part = next(group for group in match.groups() if group is not None).strip()
        if part:
            parts.append(part)
    return parts


def _collapse(text: str) -> str:
    return " ".join(text.split())[:_TEXT_CHARS].strip() or FALLBACK_TEXT


def _schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


class _Filler:
    """One fill: the message's numbers and quoted parts are used up as properties take them."""

    def __init__(self, root: dict[str, Any], text: str) -> None:
        self._root = root
        self._text = text
        self._lower = text.lower()
        self._numbers = deque(message_numbers(text))
        self._quoted = deque(quoted_parts(text))

    def _resolve(self, schema: Any) -> dict[str, Any]:
        for _ in range(_MAX_DEPTH):
            if not isinstance(schema, dict):
                return {}
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                return schema
            target: Any = self._root
            for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else ():
                target = target.get(part) if isinstance(target, dict) else None
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **rest} if isinstance(target, dict) else rest
        return {}

    def _branch(self, schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """The schema with ``anyOf``/``oneOf``/``allOf`` settled."""
        if depth >= _MAX_DEPTH:
            return {}
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                resolved = [self._resolve(branch) for branch in branches]
                chosen = next((b for b in resolved if _schema_type(b) != "null"), resolved[0])
                rest = {k: v for k, v in schema.items() if k != key}
                return self._branch({**rest, **chosen}, depth + 1)
        parts = schema.get("allOf")
        if isinstance(parts, list):
            merged = {key: value for key, value in schema.items() if key != "allOf"}
            for raw in parts:
                part = self._branch(self._resolve(raw), depth + 1)
                properties = {**merged.get("properties", {}), **part.get("properties", {})}
                merged = {**merged, **part, "properties": properties}
            return merged
        return schema

    def value(self, raw: Any, name: str = "", depth: int = 0) -> Any:
        schema = self._branch(self._resolve(raw))
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return next((v for v in enum if str(v).lower() in self._lower), enum[0])
        kind = _schema_type(schema)
        if kind == "object":
            properties = schema.get("properties")
            if depth >= _MAX_DEPTH or not isinstance(properties, dict):
                return {}
            return {key: self.value(sub, key, depth + 1) for key, sub in properties.items()}
        if kind == "array":
            items = schema.get("items")
            if depth >= _MAX_DEPTH or not isinstance(items, dict):
                return []
            least = schema.get("minItems", 1)
            count = min(max(1, least if isinstance(least, int) else 1), _MAX_ITEMS)
            return [self.value(items, name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, name)

    def _number(self, schema: dict[str, Any], *, integer: bool) -> int | float:
        value: Any = self._numbers.popleft() if self._numbers else None
        for fallback in (schema.get("default"), schema.get("minimum"), 1):
            usable = isinstance(fallback, int | float) and not isinstance(fallback, bool)
            if value is None and usable:
                value = fallback
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int | float) and value < low:
            value = low
        if isinstance(high, int | float) and value > high:
            value = high
        if integer or float(value).is_integer():
            return int(value)
        return float(value)

    def _string(self, schema: dict[str, Any], name: str) -> str:
        if self._quoted:
            text = self._quoted.popleft()
        elif schema.get("format") in _FORMATS:
            text = _FORMATS[schema["format"]]
        elif any(word in name.lower() for word in _PLACE_NAMES) and _PLACE.findall(self._text):
            text = _collapse(_PLACE.findall(self._text)[-1])
        else:
            text = _collapse(self._text)
        limit = schema.get("maxLength")
        if isinstance(limit, int) and limit >= 1:
            text = text[:limit]
        return text


def fill_schema(schema: dict[str, Any], text: str) -> Any:
    """A value matching ``schema``, filled deterministically from ``text`` (see module doc).

    Args:
        schema: A JSON Schema (``$defs``/``definitions`` are looked up from it).
        text: The user message the values are taken from.
    """
    return _Filler(schema, text).value(schema)
