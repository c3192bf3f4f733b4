"""Checks of the client settings every Qianfan API class shares (pure).

Each check takes the raw value a user gave (no lax coercion of ``True`` or ``"5"``)
and raises ``ValueError`` with a message naming the setting, its environment variable
and the fix; the client base's validators call them, and pydantic turns the
``ValueError`` into a (redacted) ``ValidationError``. Secrets are never echoed.
"""

from __future__ import annotations

import inspect
import ipaddress
import math
import re
import warnings
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pydantic import SecretStr

from langchain_qianfan_free._validation_errors import without_userinfo

__all__ = [
    "MAX_CONNECTIONS",
    "caller_level",
    "clean_app_id",
    "clean_secret",
    "is_loopback",
    "normalize_base_url",
    "normalize_iam_url",
    "positive_seconds",
    "whole_number",
]

MAX_CONNECTIONS = 10_000
"""The most ``max_connections`` takes: far past any account's rate limit; a bound keeps
pools cheap."""

# What an HTTP header value can carry safely: printable ASCII without spaces.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
# Frames of these packages sit between the user's ChatQianfan(...) and a validator.
_INTERNAL_PACKAGES = frozenset(("pydantic", "langchain_core", "langchain_qianfan_free"))


def clean_secret(value: Any, field: str) -> SecretStr | None:
    """Strip stray whitespace (keys pasted or read from files); empty means unset."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"{field} must be a string.")  # noqa: TRY004
    raw = raw.strip()
    if not raw:
        return None
    if field == "api_key" and not _HEADER_SAFE.fullmatch(raw):
        # Never echo the value: it is a secret.
        raise ValueError(
            "api_key (QIANFAN_API_KEY) contains characters an HTTP header cannot "
            "carry (non-ASCII, spaces or control characters); copy the key again "
            "from the Qianfan console."
        )
    return SecretStr(raw)


def clean_app_id(value: Any) -> Any:
    """``app_id`` stripped; empty means unset; it must fit in a header."""
    if isinstance(value, str):
        value = value.strip() or None
        if value is not None and not _HEADER_SAFE.fullmatch(value):
            raise ValueError(
                f"app_id={value!r} (QIANFAN_APP_ID) must be printable ASCII without "
                "spaces, e.g. app-xxxxxxxx."
            )
    return value


def normalize_iam_url(value: str | None) -> str | None:
    """``iam_base_url`` as a host root without a trailing slash; empty means unset."""
    if not value or not value.strip():
        return None
    value = value.strip().rstrip("/")
    parts = _host_root(value, "iam_base_url", "QIANFAN_IAM_BASE_URL", "https://iam.bj.baidubce.com")
    if parts.path:
        raise ValueError(
            f"iam_base_url={without_userinfo(value)!r} must be a host root such as "
            "https://iam.bj.baidubce.com, without a path (set iam_base_url or "
            "QIANFAN_IAM_BASE_URL)."
        )
    return value


def normalize_base_url(value: str | None, api_paths: tuple[str, ...], owner: str) -> str | None:
    """``base_url`` as a host root (a trailing ``/v2`` dropped); empty means unset.

    Args:
        value: The setting.
        api_paths: Paths the client adds itself; a ``base_url`` holding one is refused.
        owner: The class the setting is on, for the message.
    """
    if not value or not value.strip():
        return None
    value = value.strip().rstrip("/")
    parts = _host_root(value, "base_url", "QIANFAN_BASE_URL", "https://qianfan.baidubce.com")
    for api_path in api_paths:
        if api_path in parts.path + "/":
            raise ValueError(
                f"base_url={without_userinfo(value)!r} includes an API path "
                f"({api_path.strip('/')}); give only the host root (e.g. "
                f"https://qianfan.baidubce.com): {owner} adds the paths itself."
            )
    return value.removesuffix("/v2")


def whole_number(name: str, value: Any, owner: str) -> int:
    """``max_retries`` (0 or more) or ``max_connections`` (1 to 10,000), never coerced."""
    low, high = (0, None) if name == "max_retries" else (1, MAX_CONNECTIONS)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"{low} or more" if high is None else f"from {low} to {high}"
        raise ValueError(
            f"{name}={value!r} is not accepted: {name} must be a whole number {bound}. "
            f"Change the {name} setting on {owner}."
        )
    return value


def positive_seconds(value: Any, owner: str) -> Any:
    """``timeout``: a positive finite number of seconds, or ``None`` (``True``, ``"5"`` refused)."""
    if value is None:
        return None
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if not (number and math.isfinite(value) and value > 0):
        raise ValueError(
            f"timeout={value!r} is not accepted: timeout must be a positive number of "
            f"seconds, or None to wait forever. Change the timeout setting on {owner}."
        )
    return value


def _host_root(value: str, setting: str, env: str, example: str) -> SplitResult:
    """Check a host-root URL setting; warn about plain http to another machine."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError(
            f"{setting}={without_userinfo(value)!r} must be an http:// or https:// host root "
            f"such as {example} (set {setting} or {env})."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"{setting} must be a plain host root such as {example}: no query, fragment or "
            "user:password (credentials go in their own settings), "
            f"got {parts.scheme}://{parts.hostname}..."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        warnings.warn(
            f"{setting} http://{parts.hostname}{f':{port}' if port else ''} uses plain http "
            "to a host that is not this machine: keys, tokens and signatures would cross the "
            "network unencrypted. Use https://, or http only for a local emulator "
            "(127.0.0.1 / localhost).",
            UserWarning,
            stacklevel=caller_level(),
        )
    return parts


def caller_level() -> int:
    """The ``stacklevel`` of the first frame outside pydantic, LangChain and this package.

    A warning from a validator then points at the user's line that created the model.
    """
    frame = inspect.currentframe()
    level = 0  # 0: this function; the caller's warnings.warn counts from its own frame
    while frame is not None:
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if level and package not in _INTERNAL_PACKAGES:
            return level
        frame = frame.f_back
        level += 1
    return 1


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)
