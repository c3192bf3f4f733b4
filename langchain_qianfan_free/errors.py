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

    OutputParserException (langchain_core)
    └── ToolChoiceError                   forced tool_choice not followed, even when asked again

``is_retryable`` on each instance says whether the retry policy may send the request
again; any answer with an HTTP 5xx status is retryable, whatever its body says. Messages
carry the Qianfan code and text, the request id and a hint, and pass through
:func:`redact` so no credential ever appears in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    OutputParserException,
)

from langchain_qianfan_free._redact import REDACTED, redact  # noqa: F401 (REDACTED: kept here)

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

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
    "ToolChoiceError",
    "error_from_http",
    "error_from_v1",
    "error_from_v2",
    "redact",
]


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


class ToolChoiceError(OutputParserException):
    """A forced ``tool_choice`` was not followed, even after asking again.

    Attributes:
        message: The model's last reply (an ``AIMessage`` without the call).
    """

    def __init__(self, error: str, message: AIMessage) -> None:
        super().__init__(error, llm_output=message.text)
        self.message = message


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
