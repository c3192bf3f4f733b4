"""Reading the token endpoints' answers: the token and its lifetime, or a typed error.

Pure: status and bytes in, a :class:`TokenAnswer` or a ``QianfanError`` out. An answer
is never quoted in an error (a broken one may still hold a token or a key). Refusals of
the credentials are ``QianfanAuthenticationError``; a 429 or 5xx is retryable whatever
its body says; an answer whose token or lifetime cannot be used is a retryable
``QianfanAPIError``.

The readers return the error instead of raising it, so that the caller can drop the
answer from its frame before it raises (error trackers record frame locals).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone

from langchain_qianfan_free._protocols.common import unusable_answer
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanError,
    QianfanRateLimitError,
    error_from_http,
)

__all__ = ["TokenAnswer", "iam_answer", "oauth_answer"]


@dataclass(frozen=True)
class TokenAnswer:
    """A token the server issued, and how long it lives.

    Attributes:
        value: The token, as it is sent.
        lifetime: Seconds it is valid, counted from when its request was sent.
    """

    value: str
    lifetime: float

    def __repr__(self) -> str:
        return f"TokenAnswer(value='***', lifetime={self.lifetime:.0f})"


_V1_DEFAULT_LIFETIME = 2592000.0
"""Seconds a v1 token whose answer has no ``expires_in`` is used (the documented 30 days;
a token the server expired sooner is refreshed on its 110/111 answer)."""


def oauth_answer(status: int, body: bytes) -> TokenAnswer | QianfanError:
    """A v1 token answer's token and lifetime, or the error to raise."""
    data = _json_object(body)
    if data is None or not data.get("access_token"):
        return _token_error(status, data, body)
    value = _token_value(data["access_token"])
    lifetime = _expires_in(data.get("expires_in"))
    if value is not None and lifetime is not None:
        return TokenAnswer(value, lifetime)
    what = (
        "an access_token that is not a string of visible characters"
        if value is None
        else "an expires_in that is not a positive number of seconds"
    )
    return unusable_answer(f"a token answer with {what} (not shown: it holds credentials)", None)


def iam_answer(status: int, body: bytes, sent: float, asked: int) -> TokenAnswer | QianfanError:
    """An IAM bearer-token answer's token and lifetime, or the error to raise.

    Args:
        status: The answer's HTTP status.
        body: The answer.
        sent: When the mint request was sent (wall-clock seconds).
        asked: The lifetime the request asked for, in seconds (the most it gets).
    """
    data = _json_object(body)
    if not (status == 200 and data is not None and data.get("token")):
        return _iam_error(status, data)
    value = _token_value(data["token"])
    lifetime = _iam_lifetime(data, sent, asked)
    if value is not None and lifetime is not None:
        return TokenAnswer(value, lifetime)
    what = (
        "a token that is not a string of visible characters"
        if value is None
        else "an expireTime that is not after its createTime"
    )
    return unusable_answer(
        f"an IAM token answer with {what} (not shown: it holds credentials)", None
    )


def _iam_lifetime(data: dict[str, object], sent: float, asked: int) -> float | None:
    """Seconds the minted token lives, at most the lifetime asked for.

    On the server's own clock (``createTime`` → ``expireTime``) when it sent both,
    so a skewed local clock does not shorten or stretch it. Times that cannot be
    read count as absent (the lifetime asked for then applies); ``None`` when the
    server says the token expired before it was made.
    """
    created = _iso_seconds(data.get("createTime"))
    expires = _iso_seconds(data.get("expireTime"))
    if created is not None and expires is not None:
        if expires <= created:
            return None
        lifetime = expires - created
    elif expires is not None:
        lifetime = expires - sent
    else:
        lifetime = float(asked)
    return min(max(lifetime, 0.0), float(asked))


def _iso_seconds(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # IAM times are UTC
        return moment.timestamp()
    except (ValueError, OverflowError):  # not a time, or beyond the calendar
        return None


def _json_object(body: bytes) -> dict[str, object] | None:
    """The answer as a JSON object, or ``None`` (not JSON, or not an object)."""
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _token_value(value: object) -> str | None:
    """The token if it can be sent as-is: a string of visible ASCII characters.

    Anything else (a number, an object, spaces or line breaks, which would break the
    ``Authorization`` header) makes the answer unusable.
    """
    if isinstance(value, str) and value and all("!" <= c <= "~" for c in value):
        return value
    return None


def _expires_in(value: object) -> float | None:
    """A v1 ``expires_in`` as seconds, or ``None`` when it is not a positive number.

    Absent or ``null``: :data:`_V1_DEFAULT_LIFETIME`. A string of digits is read as
    the number it spells; booleans, other strings, lists, objects, zero, negative and
    non-finite numbers are unusable.
    """
    if value is None:
        return _V1_DEFAULT_LIFETIME
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


_IAM_AUTH_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "RequestExpired",
        "InvalidHTTPAuthHeader",
        "AccessDenied",
        "InvalidSessionToken",
    }
)


def _iam_error(status: int, data: object) -> QianfanError:
    # Never quote a token answer; IAM error answers hold a code and a message.
    code = str(data.get("code")) if isinstance(data, dict) and data.get("code") else None
    text = str(data.get("message") or "") if isinstance(data, dict) else ""
    # BCE answers signature problems with 400 or 403 depending on the service: the
    # code says what happened.
    # A 5xx is server trouble whatever its body says (retried, like chat answers).
    if status < 500 and (status in (401, 403) or code in _IAM_AUTH_CODES):
        return QianfanAuthenticationError(
            "Baidu IAM refused the request for a v2 token "
            f"({code or status}: {text or 'no detail'})",
            code=code,
            status=status,
            hint=(
                "Check QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY (qianfan_access_key / "
                "qianfan_secret_key: the IAM keys of your Baidu Cloud account), and the "
                "machine's clock (signatures carry the time)."
            ),
        )
    if status == 200:
        return unusable_answer(
            "an IAM token answer that holds no token (not shown: it may hold credentials)",
            None,
        )
    return _busy_or_failed(status)(
        f"Baidu IAM could not issue a v2 token (HTTP {status}"
        f"{f', {code}' if code else ''}{f': {text}' if text else ''})",
        code=code,
        status=status,
        retryable=_worth_retrying(status),
    )


def _token_error(status: int, data: object, body: bytes) -> QianfanError:
    if isinstance(data, dict) and data.get("error"):
        error, text = str(data["error"]), str(data.get("error_description") or "")
        if error == "invalid_client" and status < 500:
            which = (
                "the API Key (QIANFAN_AK / qianfan_ak) is unknown"
                if "unknown client" in text.lower()
                else "the Secret Key (QIANFAN_SK / qianfan_sk) does not match the API Key"
            )
            return QianfanAuthenticationError(
                f"Qianfan refused the access-token request: {which} ({error}: {text})",
                code=error,
                status=status,
                hint="Copy both keys again from the application in the Qianfan console.",
            )
        return _busy_or_failed(status)(
            f"Qianfan refused the access-token request ({error}: {text})",
            code=error,
            status=status,
            retryable=_worth_retrying(status),
        )
    # Never quote a token answer: a broken one may still hold a token or key.
    if status == 200:
        return unusable_answer(
            f"a token answer that holds no token ({len(body)} bytes; not shown, since it "
            "may hold credentials)",
            None,
        )
    return error_from_http(status, "")


def _worth_retrying(status: int) -> bool:
    """A token endpoint's failure that another attempt may not meet: 429 and any 5xx."""
    return status >= 500 or status == 429


def _busy_or_failed(status: int) -> type[QianfanError]:
    return QianfanRateLimitError if status == 429 else QianfanAPIError
