"""Validation errors without secrets: ``ValidationError`` rebuilt from plain data.

pydantic's ``hide_input_in_errors`` hides the input from ``str(error)`` only;
``errors()``, ``json()``, ``repr`` and a pickled error still carry it (for an error
about the whole model, every keyword argument, keys included). Error trackers, Celery
result backends and structured loggers store exactly those. ChatQianfan's validators
pass every error through :func:`redacted_validation_error`.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from pydantic import SecretBytes, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from langchain_qianfan_free.errors import redact

__all__ = ["SECRET_ENV", "SECRET_FIELDS", "redacted_validation_error", "without_userinfo"]

SECRET_ENV = {
    "api_key": "QIANFAN_API_KEY",
    "qianfan_ak": "QIANFAN_AK",
    "qianfan_sk": "QIANFAN_SK",
    "qianfan_access_key": "QIANFAN_ACCESS_KEY",
    "qianfan_secret_key": "QIANFAN_SECRET_KEY",
}
"""The secret settings and the environment variables they come from (``lc_secrets``)."""
SECRET_FIELDS = frozenset(SECRET_ENV)
_URL_FIELDS = frozenset(("base_url", "iam_base_url"))
_MASK = "**********"
# In a URL setting, everything up to its last "@" (user:password, however malformed).
_URL_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)?.*@", re.DOTALL)
# In other text, a URL's userinfo.
_TEXT_USERINFO = re.compile(r"//\S*@")
_ERROR_TYPES = frozenset(get_args(ErrorType))


def without_userinfo(url: str) -> str:
    """``url`` as it may be shown: its ``user:password@`` masked."""
    return _URL_USERINFO.sub(lambda m: f"{m.group(1) or ''}{_MASK}@", url, count=1)


def redacted_validation_error(error: ValidationError, values: Any, mode: str) -> ValidationError:
    """``error`` rebuilt with secret inputs masked and its messages scrubbed.

    The rebuilt error holds only plain data (strings, numbers, containers, fresh
    ``ValueError``s), so it also pickles and unpickles.
    """
    secrets = _secret_values(values, error)
    line_errors: list[InitErrorDetails] = []
    for detail in error.errors(include_url=False, include_context=True):
        loc = detail["loc"]
        field = loc[0] if loc else None
        if detail["type"] == "json_invalid" or (not loc and not isinstance(values, dict)):
            # The unparsed document, or input that is not the settings' dict (a list, a
            # bare string): which part is a secret cannot be told, so none is shown.
            shown: Any = _MASK
        elif field in SECRET_FIELDS:
            shown = None if detail["input"] is None else _MASK
        elif field in _URL_FIELDS and isinstance(detail["input"], str):
            shown = _scrub_text(without_userinfo(detail["input"]), secrets)
        else:
            shown = _scrub(detail["input"], secrets)
        ctx = {k: _scrub(v, secrets) for k, v in detail.get("ctx", {}).items()}
        kind: Any = detail["type"]
        if kind not in _ERROR_TYPES:  # a PydanticCustomError: keep its rendered text
            kind, ctx = PydanticCustomError(kind, _scrub_text(detail["msg"], secrets)), {}
        line: InitErrorDetails = {"type": kind, "loc": loc, "input": shown}
        if ctx:
            line["ctx"] = ctx
        line_errors.append(line)
    return ValidationError.from_exception_data(
        error.title,
        line_errors,
        input_type="json" if mode == "json" else "python",
        hide_input=True,
    )


def _secret_values(values: Any, error: ValidationError) -> set[str]:
    """The secrets given, to blank out wherever they might be quoted."""
    found = [values.get(name) for name in SECRET_FIELDS] if isinstance(values, dict) else []
    found += [e["input"] for e in error.errors() if e["loc"] and e["loc"][0] in SECRET_FIELDS]
    raw = [v.get_secret_value() if isinstance(v, SecretStr) else v for v in found]
    # Short values (test keys such as "k") would blank out ordinary letters.
    return {v.strip() for v in raw if isinstance(v, str) and len(v.strip()) >= 6}


def _scrub(value: Any, secrets: set[str]) -> Any:
    """A plain copy of ``value`` without secrets, URL userinfo or foreign objects."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, BaseException):
        return ValueError(_scrub_text(str(value), secrets))
    if isinstance(value, dict):
        return {_scrub_key(k, secrets): _scrub_member(k, v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, secrets) for v in value]
    # SecretStr, callbacks, rate limiters, caches: their type only (their repr or
    # pickled state may hold anything, and some cannot be pickled).
    return _MASK if isinstance(value, (SecretStr, SecretBytes)) else f"<{type(value).__name__}>"


def _scrub_key(key: Any, secrets: set[str]) -> Any:
    if key is None or isinstance(key, (str, bool, int, float)):
        return _scrub(key, secrets)
    return f"<{type(key).__name__}>"  # hashable, unlike a scrubbed tuple


def _scrub_member(key: Any, value: Any, secrets: set[str]) -> Any:
    if key in SECRET_FIELDS and value is not None:
        return _MASK
    if key in _URL_FIELDS and isinstance(value, str):
        return _scrub_text(without_userinfo(value), secrets)
    return _scrub(value, secrets)


def _scrub_text(text: str, secrets: set[str]) -> str:
    text = redact(_TEXT_USERINFO.sub(f"//{_MASK}@", text))  # also ?access_token=… and keys
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text
