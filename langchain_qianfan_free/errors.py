"""Errors raised by ``ChatQianfan``, and the table that maps Qianfan's codes onto them.

Every class also inherits the matching ``langchain_core.exceptions`` class, so callers
can catch either ours or LangChain's provider-neutral one::

    ModelError (langchain_core)
    └── QianfanError                      code, message, request_id, status, hint, retry_after
        ├── QianfanAuthenticationError    + ModelAuthenticationError   110/111, 14, v2 401
        ├── QianfanPermissionError        + ModelPermissionDeniedError  6, 336004, v2 403
        ├── QianfanNotFoundError          + ModelNotFoundError          3, 336005, v2 invalid_model
        ├── QianfanInvalidRequestError    + ModelInvalidRequestError, ValueError
        │   └── QianfanContextOverflowError  + ContextOverflowError     336007, 336103
        ├── QianfanRateLimitError         + ModelRateLimitError         18, 336501/2, v2 429 (retry)
        │   └── QianfanQuotaExceededError                               17, 19 (not retried)
        ├── QianfanAPIError               + ModelAPIError               2, 336100, 5xx, bad bodies
        ├── QianfanConnectionError        + ModelConnectionError        network, cut streams
        └── QianfanTimeoutError           + ModelTimeoutError

``is_retryable`` on each instance says whether the retry policy may send the request
again; any answer with an HTTP 5xx status is retryable, whatever its body says. Messages
carry the Qianfan code and text, the request id and a hint, and pass through
:func:`redact` so no credential ever appears in them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

__all__ = [
    "QianfanAPIError",
    "QianfanAuthenticationError",
    "QianfanConnectionError",
    "QianfanContextOverflowError",
    "QianfanError",
    "QianfanInvalidRequestError",
    "QianfanNotFoundError",
    "QianfanPermissionError",
    "QianfanQuotaExceededError",
    "QianfanRateLimitError",
    "QianfanTimeoutError",
    "error_from_http",
    "error_from_v1",
    "error_from_v2",
    "redact",
]

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

TOKEN_ERROR_CODES: frozenset[int | str] = frozenset({100, 110, 111, "invalid_iam_token"})
"""Codes that mean a fetched token (v1 access token, v2 bearer minted from IAM keys) is
missing, invalid or expired: refresh it and resend once (API keys are never refreshed)."""


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


class QianfanError(ModelError):
    """Base class of everything this package raises about a Qianfan call.

    Attributes:
        code: Qianfan's error code: an ``int`` for v1 (``error_code``), a ``str`` for v2
            (``error.code``), ``None`` for client-side and network errors.
        message: Qianfan's message text (``error_msg`` / ``error.message``) or ours.
        request_id: The response ``id`` (``as-…``) and/or ``X-Baidu-Request-Id``.
        status: The HTTP status, when there was a response.
        hint: What to do about it.
        retry_after: Seconds the server asked to wait before another attempt (its
            ``Retry-After`` header), when the answer had one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None = None,
        request_id: str | None = None,
        status: int | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = redact(message)
        self.code = code
        self.request_id = request_id
        self.status = status
        self.hint = hint
        self.retry_after = retry_after
        if retryable is not None:
            self.is_retryable = retryable
        super().__init__(self._render())

    def set_retry_after(self, seconds: float, hint: str | None = None) -> None:
        """Record the server's ``Retry-After`` (and a new hint); the message follows.

        Args:
            seconds: The wait the server asked for.
            hint: Replaces the hint when given.
        """
        self.retry_after = seconds
        if hint is not None:
            self.hint = hint
        self.args = (self._render(),)

    def _render(self) -> str:
        head = f"Qianfan error {self.code}: " if self.code is not None else ""
        parts = [f"{head}{self.message}"]
        if self.status is not None and self.code is not None:
            parts.append(f"HTTP {self.status}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.retry_after is not None:
            parts.append(f"Retry-After {self.retry_after:g} s")
        text = " | ".join(parts)
        if self.hint:
            text += f". {self.hint}"
        return redact(text)

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable (they cross process and thread-pool boundaries).
        return (
            _rebuild,
            (
                type(self),
                self.message,
                self.code,
                self.request_id,
                self.status,
                self.hint,
                self.is_retryable,
                self.retry_after,
            ),
        )


def _rebuild(
    cls: type[QianfanError],
    message: str,
    code: int | str | None,
    request_id: str | None,
    status: int | None,
    hint: str | None,
    retryable: bool,
    retry_after: float | None = None,
) -> QianfanError:
    return cls(
        message,
        code=code,
        request_id=request_id,
        status=status,
        hint=hint,
        retryable=retryable,
        retry_after=retry_after,
    )


class QianfanAuthenticationError(QianfanError, ModelAuthenticationError):
    """Credentials are missing, wrong, expired or revoked."""


class QianfanPermissionError(QianfanError, ModelPermissionDeniedError):
    """The credentials are valid but may not use this service or parameter."""


class QianfanNotFoundError(QianfanError, ModelNotFoundError):
    """The model or v1 endpoint does not exist (or the account cannot see it)."""


class QianfanInvalidRequestError(QianfanError, ModelInvalidRequestError, ValueError):
    """The request is malformed: bad parameters or messages. Also a ``ValueError``."""


class QianfanContextOverflowError(QianfanInvalidRequestError, ContextOverflowError):
    """The input is longer than the model accepts."""


class QianfanRateLimitError(QianfanError, ModelRateLimitError):
    """A request or token rate limit was hit; retried with backoff."""


class QianfanQuotaExceededError(QianfanRateLimitError):
    """A daily or total quota is used up, or billing is not active; not retried."""

    is_retryable = False


class QianfanAPIError(QianfanError, ModelAPIError):
    """Qianfan reported a server-side failure or answered with something unusable."""


class QianfanConnectionError(QianfanError, ModelConnectionError):
    """Qianfan could not be reached, or the connection broke before the answer ended."""


class QianfanTimeoutError(QianfanError, ModelTimeoutError):
    """No answer within ``timeout`` seconds."""


@dataclass(frozen=True)
class _Rule:
    cls: type[QianfanError]
    retryable: bool
    hint: str | None = None


_HINT_RATE = "Slow down or raise the limit in the Qianfan console; ChatQianfan retries these."
_HINT_TOKEN = (
    "Check QIANFAN_AK / QIANFAN_SK (qianfan_ak / qianfan_sk): the access token could not "
    "be refreshed with them."
)
_HINT_INPUT = "Fix the request; retrying the same request will fail again."
_HINT_CONTEXT = "Shorten the conversation or use a 128K model such as ernie-speed-128k."
_HINT_QUOTA = (
    "A quota is used up or the service is not activated for this account; check billing "
    "and quotas in the Qianfan console."
)
_HINT_SERVER = "Qianfan had a temporary problem; ChatQianfan retries these."
_HINT_MODEL = (
    "Check the model name (e.g. ernie-speed-8k) or, for a custom v1 service, the endpoint setting."
)

_HINT_UNSAFE = "Qianfan judged this content unsafe; change it rather than retrying."

# The one error table (reference §4.2, §4.4, §7.5). Keys: ("v1", error_code),
# ("v2", error.code) and ("http", status) for answers whose code says less than their
# status (or that have none). Lookups go v1/v2 code first, then the HTTP status.
_TABLE: dict[tuple[str, int | str], _Rule] = {
    ("v1", 1): _Rule(QianfanAPIError, False, "Unknown server error."),
    ("v1", 2): _Rule(QianfanAPIError, True, _HINT_SERVER),
    ("v1", 3): _Rule(QianfanNotFoundError, False, _HINT_MODEL),
    ("v1", 4): _Rule(QianfanRateLimitError, True, _HINT_RATE),
    ("v1", 6): _Rule(
        QianfanPermissionError,
        False,
        "The application has no permission for "
        "this model; enable the service in the Qianfan console.",
    ),
    ("v1", 13): _Rule(QianfanAuthenticationError, False, _HINT_TOKEN),
    ("v1", 14): _Rule(
        QianfanAuthenticationError,
        False,
        "IAM authentication failed: check QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY (the IAM keys) "
        "and the machine's clock (signatures carry the time).",
    ),
    ("v1", 15): _Rule(QianfanAPIError, True, _HINT_SERVER),
    ("v1", 17): _Rule(QianfanQuotaExceededError, False, _HINT_QUOTA),
    ("v1", 18): _Rule(QianfanRateLimitError, True, _HINT_RATE),
    ("v1", 19): _Rule(QianfanQuotaExceededError, False, _HINT_QUOTA),
    ("v1", 100): _Rule(QianfanAuthenticationError, False, _HINT_TOKEN),
    ("v1", 110): _Rule(QianfanAuthenticationError, False, _HINT_TOKEN),
    ("v1", 111): _Rule(QianfanAuthenticationError, False, _HINT_TOKEN),
    ("v1", 336000): _Rule(QianfanAPIError, False, "Internal error at Qianfan."),
    ("v1", 336004): _Rule(QianfanPermissionError, False, "No permission to call this service."),
    ("v1", 336005): _Rule(QianfanNotFoundError, False, _HINT_MODEL),
    ("v1", 336007): _Rule(QianfanContextOverflowError, False, _HINT_CONTEXT),
    ("v1", 336100): _Rule(QianfanAPIError, True, _HINT_SERVER),
    ("v1", 336103): _Rule(QianfanContextOverflowError, False, _HINT_CONTEXT),
    ("v1", 336104): _Rule(QianfanInvalidRequestError, False, _HINT_UNSAFE),
    ("v1", 336200): _Rule(QianfanAPIError, False, None),
    ("v1", 336501): _Rule(QianfanRateLimitError, True, _HINT_RATE),
    ("v1", 336502): _Rule(QianfanRateLimitError, True, _HINT_RATE),
    ("v2", "characters_too_long"): _Rule(QianfanContextOverflowError, False, _HINT_CONTEXT),
    ("v2", "tokens_too_long"): _Rule(QianfanContextOverflowError, False, _HINT_CONTEXT),
    ("v2", "invalid_model"): _Rule(QianfanNotFoundError, False, _HINT_MODEL),
    ("v2", "invalid_iam_token"): _Rule(
        QianfanAuthenticationError,
        False,
        "Check QIANFAN_API_KEY (api_key): it was rejected; with IAM keys, check "
        "QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY.",
    ),
    ("v2", "invalid_appid"): _Rule(
        QianfanAuthenticationError,
        False,
        "Check QIANFAN_APP_ID (app_id): this key may not use that app.",
    ),
    ("v2", "no_parameter_permission"): _Rule(QianfanPermissionError, False, None),
    ("v2", "system_unsafe"): _Rule(QianfanInvalidRequestError, False, _HINT_UNSAFE),
    ("v2", "user_setting_unsafe"): _Rule(QianfanInvalidRequestError, False, _HINT_UNSAFE),
    ("v2", "functions_unsafe"): _Rule(QianfanInvalidRequestError, False, _HINT_UNSAFE),
    ("v2", "account_overdue"): _Rule(QianfanQuotaExceededError, False, _HINT_QUOTA),
    ("v2", "model_offline"): _Rule(QianfanNotFoundError, False, _HINT_MODEL),
    ("v2", "internal_error"): _Rule(QianfanAPIError, True, _HINT_SERVER),
    ("v2", "dispatch_internal_error"): _Rule(QianfanAPIError, True, _HINT_SERVER),
    ("http", 400): _Rule(QianfanInvalidRequestError, False, _HINT_INPUT),
    ("http", 401): _Rule(
        QianfanAuthenticationError,
        False,
        "Check QIANFAN_API_KEY (api_key) and QIANFAN_APP_ID (app_id).",
    ),
    ("http", 403): _Rule(QianfanPermissionError, False, None),
    ("http", 404): _Rule(QianfanNotFoundError, False, _HINT_MODEL),
    ("http", 405): _Rule(QianfanInvalidRequestError, False, None),
    ("http", 408): _Rule(QianfanTimeoutError, True, None),
    ("http", 409): _Rule(QianfanAPIError, True, None),
    ("http", 429): _Rule(QianfanRateLimitError, True, _HINT_RATE),
}
_INPUT = _Rule(QianfanInvalidRequestError, False, _HINT_INPUT)
_UNKNOWN = _Rule(QianfanAPIError, False, None)
_SERVER = _Rule(QianfanAPIError, True, _HINT_SERVER)
_RATE = _Rule(QianfanRateLimitError, True, _HINT_RATE)


def _rule_for_status(status: int) -> _Rule:
    rule = _TABLE.get(("http", status))
    if rule is None:
        rule = _SERVER if status >= 500 else _UNKNOWN
    return rule


def _server_trouble(rule: _Rule) -> _Rule:
    """The rule for an answer with HTTP 5xx: retried, whatever its code says.

    The status says the server (or a gateway in front of it) failed, so the code's own
    verdict (final for 1, 336000, unknown codes) does not stand; the class stays, so the
    final error still says what Qianfan reported.
    """
    if rule.retryable:
        return rule
    hint = _HINT_SERVER if rule.cls is QianfanAPIError else rule.hint
    return _Rule(rule.cls, True, hint)


def _build(
    rule: _Rule, message: str, code: int | str | None, status: int | None, request_id: str | None
) -> QianfanError:
    if status is not None and status >= 500:
        rule = _server_trouble(rule)
    return rule.cls(
        message,
        code=code,
        request_id=request_id,
        status=status,
        hint=rule.hint,
        retryable=rule.retryable,
    )


def error_from_v1(
    code: int, message: str, *, request_id: str | None = None, status: int | None = 200
) -> QianfanError:
    """Build the exception for a v1 ``{"error_code", "error_msg"}`` body.

    Args:
        code: ``error_code``.
        message: ``error_msg``.
        request_id: Response ``id`` and/or ``X-Baidu-Request-Id``.
        status: HTTP status (v1 errors normally arrive with 200; with a 5xx status the
            error is retryable whatever the code).

    Returns:
        The matching exception, not raised.
    """
    rule = _TABLE.get(("v1", code))
    if rule is None:
        rule = _INPUT if 336001 <= code <= 336106 else _UNKNOWN
    return _build(rule, message, code, status, request_id)


def error_from_v2(
    status: int, code: str | None, message: str, *, request_id: str | None = None
) -> QianfanError:
    """Build the exception for a v2 error answer (HTTP status + ``error`` object).

    Args:
        status: HTTP status.
        code: ``error.code`` (may be missing).
        message: ``error.message``.
        request_id: Response ``id`` and/or ``X-Baidu-Request-Id``.

    Returns:
        The matching exception, not raised.
    """
    rule = _TABLE.get(("v2", code or ""))
    if rule is None or (code == "invalid_model" and status == 400):  # "model is empty"
        rule = _TABLE.get(("http", status))
    if rule is None:
        rule = _RATE if code and "rate_limit" in code else _rule_for_status(status)
    return _build(rule, message, code if code is not None else status, status, request_id)


def error_from_http(status: int, body: str, *, request_id: str | None = None) -> QianfanError:
    """Build the exception for an error answer that is not in Qianfan's own format.

    Gateways and proxies answer with HTML or BCE-style JSON (``{"code", "message"}``);
    the HTTP status then decides the class.

    Args:
        status: HTTP status.
        body: The body text (shortened in the message; pass ``""`` to leave it out).
        request_id: ``X-Baidu-Request-Id``, when present.

    Returns:
        The matching exception, not raised.
    """
    snippet = " ".join(body.split())[:200] or "(no body shown)"
    return _build(
        _rule_for_status(status), f"HTTP {status} from Qianfan: {snippet}", None, status, request_id
    )
