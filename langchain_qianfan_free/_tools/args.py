"""Check and gently coerce tool-call arguments against the tool's JSON schema.

Small models get argument *types* wrong far more often than their meaning: ``"3"``
for an integer, ``3.0`` for ``3``, ``"true"`` for a boolean, a JSON string where an
object belongs. :func:`coerce_arguments` repairs what can be repaired without guessing
and reports everything else, so the caller can refuse the call instead of passing
nonsense to a tool. It covers the JSON-schema subset LangChain's tool conversion
produces (types, properties, required, items, enum, anyOf/oneOf, additionalProperties);
anything else is accepted as is.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ArgumentError", "coerce_arguments"]

_INT = re.compile(r"^\s*[-+]?\d+\s*$")
_TRUE = {"true", "yes", "1", "是", "对"}
_FALSE = {"false", "no", "0", "否", "不"}


class ArgumentError(ValueError):
    """Arguments that do not fit the schema; the message says where and why."""


def coerce_arguments(arguments: Any, schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fit a tool call's arguments to the tool's parameter schema.

    Args:
        arguments: What the model gave (a dict, or a JSON string of one).
        schema: The tool's ``parameters`` JSON schema (``None``: no parameters).

    Returns:
        The arguments, with lossless type repairs applied.

    Raises:
        ArgumentError: When a required argument is missing, a value cannot be made to
            fit its type or enum, or an unexpected argument is not allowed.
    """
    if arguments is None or arguments == "":
        arguments = {}
    value = _coerce(arguments, dict(schema or {"type": "object"}), "arguments")
    if not isinstance(value, dict):
        raise ArgumentError("arguments must be a JSON object")
    return value


def _coerce(value: Any, schema: Mapping[str, Any], where: str) -> Any:
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _first_fit(value, schema[key], where)
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return _first_fit(value, [{**schema, "type": kind} for kind in kinds], where)
    if kinds == "object":
        value = _object(value, schema, where)
    elif kinds == "array":
        value = _array(value, schema, where)
    elif kinds in _SCALARS:
        value = _SCALARS[kinds](value, where)
    if "enum" in schema:
        value = _in_enum(value, list(schema["enum"]), where)
    return value


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _already(value: Any, option: Any) -> bool:
    """Whether ``value`` is of the option's JSON type as it stands (no repair needed)."""
    kind = option.get("type") if isinstance(option, Mapping) else None
    check = _JSON_TYPES.get(kind) if isinstance(kind, str) else None
    return bool(check and check(value))


def _first_fit(value: Any, options: list[Any], where: str) -> Any:
    # An option the value already has the type of wins over one it could be
    # repaired into: for str | int, "007" stays "007" and 3 stays 3.
    options = sorted(options, key=lambda option: not _already(value, option))
    reasons = []
    for option in options:
        try:
            return _coerce(value, option, where)
        except ArgumentError as error:
            reasons.append(str(error))
    raise ArgumentError(reasons[0] if len(reasons) == 1 else f"{where}: fits no allowed type")


def _object(value: Any, schema: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = _decoded(value, dict, where, "an object")
    properties: Mapping[str, Any] = schema.get("properties") or {}
    missing = [name for name in schema.get("required") or () if name not in value]
    if missing:
        raise ArgumentError(f"{where}: missing required {', '.join(map(repr, missing))}")
    extra = [name for name in value if name not in properties]
    if extra and properties and schema.get("additionalProperties") is False:
        raise ArgumentError(f"{where}: unexpected {', '.join(map(repr, extra))}")
    return {
        name: _coerce(item, properties[name], f"{where}.{name}") if name in properties else item
        for name, item in value.items()
    }


def _array(value: Any, schema: Mapping[str, Any], where: str) -> list[Any]:
    value = _decoded(value, list, where, "a list")
    items = schema.get("items")
    if not isinstance(items, Mapping):
        return list(value)
    return [_coerce(item, items, f"{where}[{i}]") for i, item in enumerate(value)]


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ArgumentError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value):
        return int(value)  # also accepts full-width digits such as "３"
    raise ArgumentError(f"{where}: expected an integer, got {value!r}")


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return int(number) if _INT.match(value) else number
    raise ArgumentError(f"{where}: expected a number, got {value!r}")


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ArgumentError(f"{where}: expected true or false, got {value!r}")


def _string(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ArgumentError(f"{where}: expected a string, got {value!r}")


def _null(value: Any, where: str) -> None:
    if value is not None and value != "null":
        raise ArgumentError(f"{where}: expected null, got {value!r}")


def _in_enum(value: Any, allowed: list[Any], where: str) -> Any:
    if value in allowed:
        return value
    if isinstance(value, str):
        folded = {str(a).casefold(): a for a in allowed}
        if value.strip().casefold() in folded:
            return folded[value.strip().casefold()]
    raise ArgumentError(f"{where}: {value!r} is not one of {allowed!r}")


def _decoded(value: Any, kind: type, where: str, label: str) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if not isinstance(value, kind):
        raise ArgumentError(f"{where}: expected {label}, got {value!r}")
    return value


_SCALARS: dict[str, Callable[[Any, str], Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "string": _string,
    "null": _null,
}
