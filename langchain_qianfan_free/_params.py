"""Generation parameters: check them, fit them to ERNIE, decide what goes on the wire.

The names here are LangChain's (``max_tokens``, ``user_id``, ``stop``); the protocol
modules rename them for v1 (``max_output_tokens``) or v2 (``max_tokens``, ``user``).
Ranges are Qianfan's (reference §2.1, §7.2). Every check names the setting and the
fix, and runs before any request is sent. ChatQianfan runs the same checks on
constructor values and on per-call values, on the raw input (no coercion: a bool or a
string is not a number, a float is not a token count), so both accept the same values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from langchain_qianfan_free._catalogue import ModelSpec
from langchain_qianfan_free.errors import QianfanInvalidRequestError

__all__ = [
    "API_STOP_LIMITS",
    "MIN_TEMPERATURE",
    "PARAM_NAMES",
    "RequestParams",
    "check_route_name",
    "check_value",
    "resolve_params",
]

MIN_TEMPERATURE = 0.01
"""What ``temperature=0`` becomes: ERNIE accepts (0, 1] and rejects 0 itself."""

API_STOP_LIMITS = (4, 20)
"""Qianfan accepts at most 4 stop sequences of at most 20 characters each."""

# name → (low, high, low inclusive); the bounds Qianfan documents.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "temperature": (0.0, 1.0, True),  # 0 is mapped to MIN_TEMPERATURE
    "top_p": (0.0, 1.0, True),
    "penalty_score": (1.0, 2.0, True),
    "frequency_penalty": (-2.0, 2.0, True),
    "presence_penalty": (-2.0, 2.0, True),
}

PARAM_NAMES = (
    "temperature",
    "top_p",
    "penalty_score",
    "max_tokens",
    "frequency_penalty",
    "presence_penalty",
    "user_id",
    "stop",
)
"""Generation settings ChatQianfan knows by name (as fields and per-call kwargs)."""


@dataclass(frozen=True)
class RequestParams:
    """Checked parameters for one request.

    Attributes:
        values: Protocol-neutral settings to send (LangChain names; ``None`` = unset).
        api_stop: Stop sequences to send to the API, or ``None`` when they do not fit
            its limits (then the client alone enforces them).
        stops: Every stop sequence; the client enforces all of them on the output.
        extra: Further body fields (``model_kwargs`` and unknown call kwargs), sent as is.
    """

    values: dict[str, Any]
    api_stop: list[str] | None
    stops: tuple[str, ...]
    extra: dict[str, Any]


def check_value(name: str, value: Any, spec: ModelSpec | None = None) -> Any:
    """Check one setting and fit it to ERNIE.

    Args:
        name: The setting's name (one of :data:`PARAM_NAMES`).
        value: What the user gave; ``None`` means unset and passes through.
        spec: The model, when known, for its ``max_tokens`` bound.

    Returns:
        The value to send (``temperature=0`` becomes :data:`MIN_TEMPERATURE`).

    Raises:
        QianfanInvalidRequestError: When the value is of the wrong type or out of range.
    """
    if value is None:
        return None
    if name in _RANGES:
        low, high, _ = _RANGES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(name, value, f"a number in [{low:g}, {high:g}]")
        if not low <= value <= high:
            extra = " (ERNIE's range; 0 is sent as 0.01)" if name == "temperature" else ""
            _fail(name, value, f"a number in [{low:g}, {high:g}]{extra}")
        if name == "temperature" and value == 0:
            return MIN_TEMPERATURE
        return float(value)
    if name == "max_tokens":
        ceiling = spec.max_output_tokens if spec else None
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(name, value, "a whole number of at least 2")
        if value < 2 or (ceiling is not None and value > ceiling):
            bound = f"between 2 and {ceiling} for {spec.display_name}" if spec else "at least 2"
            _fail(name, value, bound)
        return value
    if name == "user_id":
        if not isinstance(value, str) or not value:
            _fail(name, value, "a non-empty string")
        return value
    if name == "stop":
        return _check_stop(value)
    raise KeyError(name)


def check_route_name(name: str, value: Any) -> str:
    """Check ``model`` or the v1 ``endpoint``: a name that becomes a path segment.

    The same check runs at construction and per call, so both refuse the same values.

    Args:
        name: ``"model"`` or ``"endpoint"``.
        value: What the user gave.

    Returns:
        The name without surrounding whitespace (and, for ``endpoint``, slashes).

    Raises:
        QianfanInvalidRequestError: When it is not a string, is empty, or is ``.`` or
            ``..`` (which URL normalization would turn into another route).
    """
    example = "model='ernie-speed-8k'" if name == "model" else "endpoint='ernie_speed'"
    what = "a model name" if name == "model" else "the name of a v1 service endpoint"
    cleaned = value.strip() if isinstance(value, str) else None
    if cleaned is not None and name == "endpoint":
        cleaned = cleaned.strip("/").strip()
    if not cleaned or cleaned in (".", ".."):
        where = "on ChatQianfan or in the call" if name == "model" else "on ChatQianfan"
        _fail(name, value, f"{what}, e.g. {example} (not empty, '.' or '..')", where)
    return cleaned


def resolve_params(
    settings: Mapping[str, Any],
    extra: Mapping[str, Any],
    spec: ModelSpec | None,
) -> RequestParams:
    """Check all settings of one request.

    Args:
        settings: Values of :data:`PARAM_NAMES` (fields overridden by call kwargs).
        extra: Body fields to pass through (``model_kwargs`` + unknown call kwargs).
        spec: The model, when known.

    Returns:
        What to send and which stop sequences the client must enforce.
    """
    values = {name: check_value(name, settings.get(name), spec) for name in PARAM_NAMES}
    stops: tuple[str, ...] = tuple(values.pop("stop") or ())
    max_count, max_len = API_STOP_LIMITS
    fits = 0 < len(stops) <= max_count and all(len(s) <= max_len for s in stops)
    return RequestParams(values, list(stops) if fits else None, stops, dict(extra))


def _check_stop(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(s, str) for s in value):
        _fail("stop", value, "a list of strings")
    if any(not s for s in value):
        _fail("stop", value, "a list of non-empty strings")
    return list(dict.fromkeys(value))


def _fail(
    name: str, value: Any, expected: str, where: str = "on ChatQianfan or in the call"
) -> NoReturn:
    raise QianfanInvalidRequestError(
        f"{name}={value!r} is not accepted: {name} must be {expected}. "
        f"Change the {name} setting ({where})."
    )
