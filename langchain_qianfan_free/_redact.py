"""Credentials out of text: URLs, headers, token answers and messages.

Every error message and log line of the package passes through :func:`redact`; it is
re-exported by :mod:`langchain_qianfan_free.errors`, its public home.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "redact"]

# Query parameters that carry credentials: the v1 access token and, on the token
# endpoint, the API Key / Secret Key pair.
_SECRET_PARAMS = re.compile(r"(?i)\b(access_token|client_secret|client_id)=([^&\s'\"<>]+)")
# An Authorization header (``Authorization: …``, or a headers dict shown as text): its
# value is a credential whatever it looks like.
# An Authorization header's value: after a scheme (Bearer, Basic, …) always a credential;
# without one, only when it is shaped like a token ("authorization: required" stays).
_AUTH_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)"
    r"((?:bearer|basic|token|digest)\s+)?([^\s'\",]+)"
)
# "Bearer <value>" in free text: only a value shaped like a token is hidden, so that
# "Invalid API key or bearer token" stays readable (see _looks_secret).
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9\-._~+/]+=*)")
_IAM_AUTH = re.compile(r"(?i)(bce-auth-v1/)([^\s'\",]+)")
# The same secrets as JSON members (token answers), and bare v2 API keys.
_SECRET_JSON = re.compile(  # JSON, and Python dict reprs ('access_token': '…')
    r"(?i)([\"'](?:access_token|refresh_token|session_key|session_secret|client_secret|"
    r"client_id|api_key)[\"']\s*:\s*[\"'])([^\"']*)"
)
_V2_KEY = re.compile(r"\b(bce-v3/)([^\s'\",]+)")
# Characters that do not occur in English words but do in tokens (RFC 6750 b64token).
_TOKEN_MARKS = frozenset("0123456789/+=_~")
_LONGEST_WORD = 19
REDACTED = "***"


def redact(text: str) -> str:
    """Remove credentials from a URL or message, and nothing else.

    Hidden: the values of ``access_token``/``client_id``/``client_secret`` URL
    parameters and JSON members, ``Authorization`` header values, ``bce-v3/…`` API
    keys, ``bce-auth-v1/…`` signatures, and a token-shaped value after "Bearer". Plain
    words stay: "Invalid API key or bearer token" is left as it is.

    Args:
        text: Any text that may contain a URL with ``access_token``/``client_secret``
            or an ``Authorization`` value.

    Returns:
        The text with every credential value replaced by ``***``.
    """
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _AUTH_HEADER.sub(_hide_header_value, text)
    text = _BEARER.sub(_hide_bearer_value, text)
    text = _SECRET_JSON.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _V2_KEY.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _IAM_AUTH.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


_SHORTEST_TOKEN = 8  # API keys, access tokens and signatures are far longer


def _hide_header_value(match: re.Match[str]) -> str:
    prefix, scheme, value = match.group(1), match.group(2) or "", match.group(3)
    if scheme or _looks_secret(value):
        return f"{prefix}{scheme}{REDACTED}"
    return match.group(0)


def _hide_bearer_value(match: re.Match[str]) -> str:
    value = match.group(2)
    return f"{match.group(1)}{REDACTED}" if _looks_secret(value) else match.group(0)


def _looks_secret(value: str) -> bool:
    """Whether a value after "Bearer" is a token rather than a word ("token", "auth").

    Tokens (API keys, JWTs, access tokens, random strings) hold digits or ``/+=_~``,
    dots or dashes inside, case changes inside, or are longer than English words.
    """
    word = value.rstrip(".-")  # sentence punctuation after a word
    if len(word) < _SHORTEST_TOKEN:  # "12 hours", realm=, "header": words, not tokens
        return False
    return (
        any(c in _TOKEN_MARKS for c in word)
        or "." in word
        or "-" in word
        or len(word) > _LONGEST_WORD
        or (word[1:] != word[1:].lower() and word != word.upper())
    )
