"""The errors the emulator answers with, in both protocols' shapes.

Every error is one :class:`EmulatedError` (an exception): a v1 ``error_code`` and ``error_msg``
(answered with HTTP 200, reference §4) plus its v2 form (HTTP status and
``{"error": {"code", "message", "type"}}``, reference §7.5). Errors raised by v1
rules get their v2 form from :data:`V2_TRANSLATION`, so one rule serves both
protocols; rules that only exist on v2 state their v2 form directly.

Translation table (v1 code → v2 status / code / type):

======================================  ======  ============================  ====================
v1 code(s)                              status  v2 ``code``                   v2 ``type``
======================================  ======  ============================  ====================
336501                                  429     rpm_rate_limit_exceeded       rate_limit_exceeded
336502                                  429     tpm_rate_limit_exceeded       rate_limit_exceeded
18                                      429     user_rate_limit_exceeded      rate_limit_exceeded
4                                       429     cluster_rate_limit_exceeded   rate_limit_exceeded
1, 2, 13, 15, 336000, 336100            500     internal_error                Internal_error
14, 100, 110, 111                       401     invalid_iam_token             access_denied
6, 336004                               401     no_parameter_permission       access_denied
3, 336005                               401     invalid_model                 access_denied
17, 19                                  403     account_overdue               access_denied
336001, 336003, 336008, 336102,         400     invalid_argument              invalid_request_error
336104, 336105, 336106
336002                                  400     malformed_json                invalid_request_error
336006                                  400     invalid_messages              invalid_request_error
336007                                  400     characters_too_long           invalid_request_error
336103                                  400     tokens_too_long               invalid_request_error
336101                                  405     method_not_supported          invalid_request_error
any other code                          500     internal_error                Internal_error
======================================  ======  ============================  ====================

The ``type`` values ``rate_limit_exceeded``, ``Internal_error`` and ``access_denied``
are documented for some rows; where the reference leaves ``type`` blank we use
``access_denied`` for 401/403 and the OpenAI-style ``invalid_request_error`` for
400/405 (assumption, see docs/emulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "V1_MESSAGES",
    "V2_TRANSLATION",
    "EmulatedError",
    "V2Error",
    "qianfan_error",
    "translate_to_v2",
    "v2_only_error",
]

#: Default ``error_msg`` per v1 code (reference §4.2).
V1_MESSAGES: dict[int, str] = {
    1: "Unknown error",
    2: "Service temporarily unavailable",
    3: "Unsupported openapi method",
    4: "Open api request limit reached",
    6: "No permission to access data",
    13: "Get service token failed",
    14: "IAM Certification failed",
    15: "app not exists or create failed",
    17: "Open api daily request limit reached",
    18: "Open api qps request limit reached",
    19: "Open api total request limit reached",
    100: "Invalid parameter",
    110: "Access token invalid or no longer valid",
    111: "Access token expired",
    336000: "Internal error",
    336001: "Invalid Argument",
    336002: "Invalid JSON",
    336003: "Invalid Argument",
    336004: "No permission to call this service",
    336005: "API name not exist",
    336006: "the length of messages must be an odd number",
    336007: "the max input characters is 24000",
    336100: "try again later",
    336101: "Invalid HTTP Method",
    336103: "Prompt tokens too long",
    336104: "Invalid Argument System",
    336105: "Invalid Argument User Setting",
    336501: "Rate limit reached for RPM",
    336502: "Rate limit reached for TPM",
}

_INVALID_REQUEST = "invalid_request_error"
_ACCESS_DENIED = "access_denied"
_RATE_LIMITED = "rate_limit_exceeded"
_INTERNAL = "Internal_error"


@dataclass(frozen=True)
class V2Error:
    """The v2 form of an error.

    Attributes:
        status: HTTP status code.
        code: ``error.code``, e.g. ``rpm_rate_limit_exceeded``.
        message: ``error.message``.
        type: ``error.type``.
    """

    status: int
    code: str
    message: str
    type: str


@dataclass(frozen=True)
class _Row:
    status: int
    code: str
    type: str
    message: str | None = None  # None: reuse the v1 text


_RATE_RPM = _Row(429, "rpm_rate_limit_exceeded", _RATE_LIMITED, "Rate limit reached for RPM")
_RATE_TPM = _Row(429, "tpm_rate_limit_exceeded", _RATE_LIMITED, "Rate limit reached for TPM")
_RATE_APP = _Row(
    429, "user_rate_limit_exceeded", _RATE_LIMITED, "qps request limit by APP ID reached"
)
_RATE_CLUSTER = _Row(
    429, "cluster_rate_limit_exceeded", _RATE_LIMITED, "request limit by resouce cluster reached"
)
_INTERNAL_ROW = _Row(500, "internal_error", _INTERNAL)
_IAM = _Row(401, "invalid_iam_token", _ACCESS_DENIED, "IAM Certification failed")
_PERMISSION = _Row(401, "no_parameter_permission", _ACCESS_DENIED)
_MODEL = _Row(
    401,
    "invalid_model",
    _ACCESS_DENIED,
    "The model does not exist or you do not have access to it.",
)
_OVERDUE = _Row(403, "account_overdue", _ACCESS_DENIED)
_ARGUMENT = _Row(400, "invalid_argument", _INVALID_REQUEST)

#: v1 code → v2 form (status, code, type, default message).
V2_TRANSLATION: dict[int, _Row] = {
    336501: _RATE_RPM,
    336502: _RATE_TPM,
    18: _RATE_APP,
    4: _RATE_CLUSTER,
    **dict.fromkeys((1, 2, 13, 15, 336000, 336100), _INTERNAL_ROW),
    **dict.fromkeys((14, 100, 110, 111), _IAM),
    **dict.fromkeys((6, 336004), _PERMISSION),
    **dict.fromkeys((3, 336005), _MODEL),
    **dict.fromkeys((17, 19), _OVERDUE),
    **dict.fromkeys((336001, 336003, 336008, 336102, 336104, 336105, 336106), _ARGUMENT),
    336002: _Row(400, "malformed_json", _INVALID_REQUEST, "Invalid Argument"),
    336006: _Row(400, "invalid_messages", _INVALID_REQUEST),
    336007: _Row(400, "characters_too_long", _INVALID_REQUEST),
    336103: _Row(400, "tokens_too_long", _INVALID_REQUEST, "Prompt tokens too long"),
    336101: _Row(405, "method_not_supported", _INVALID_REQUEST, "Only POST requests are accepted"),
}


class EmulatedError(Exception):
    """One Qianfan error, ready to be answered on either protocol.

    Authentication and request checks raise it; the chat handler catches it once and
    answers it in the request's protocol.

    Args:
        code: v1 ``error_code``.
        message: v1 ``error_msg``.
        v2: The v2 form (HTTP status, code, message, type).

    Attributes:
        code: v1 ``error_code``.
        message: v1 ``error_msg``.
        v2: The v2 form (HTTP status, code, message, type).
    """

    def __init__(self, code: int, message: str, v2: V2Error) -> None:
        super().__init__(code, message, v2)
        self.code = code
        self.message = message
        self.v2 = v2

    def __str__(self) -> str:
        return f"{self.code} {self.message}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmulatedError):
            return NotImplemented
        return (self.code, self.message, self.v2) == (other.code, other.message, other.v2)

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.v2))


def translate_to_v2(code: int, message: str | None = None) -> V2Error:
    """The documented v2 equivalent of a v1 error code.

    Args:
        code: v1 ``error_code``.
        message: Explicit message; when ``None`` the row's v2 text (or the v1 text)
            is used.
    """
    row = V2_TRANSLATION.get(code, _INTERNAL_ROW)
    text = message or row.message or V1_MESSAGES.get(code, "Unknown error")
    return V2Error(row.status, row.code, text, row.type)


def qianfan_error(code: int, message: str | None = None) -> EmulatedError:
    """An error defined by its v1 code; its v2 form comes from the translation table.

    Args:
        code: v1 ``error_code``.
        message: ``error_msg``; defaults to the documented text for ``code``.
    """
    v1_text = message or V1_MESSAGES.get(code, "Unknown error")
    return EmulatedError(code, v1_text, translate_to_v2(code, message))


def v2_only_error(
    status: int, code: str, message: str, *, v1_code: int, error_type: str | None = None
) -> EmulatedError:
    """An error whose v2 form is stated directly (rules that have no exact v1 twin).

    Args:
        status: HTTP status.
        code: v2 ``error.code``.
        message: Message used in both forms.
        v1_code: The nearest v1 code, used if the error is ever answered on v1.
        error_type: v2 ``error.type``; defaults by status as in the module table.
    """
    if error_type is None:
        error_type = {429: _RATE_LIMITED, 500: _INTERNAL}.get(
            status, _ACCESS_DENIED if status in (401, 403) else _INVALID_REQUEST
        )
    return EmulatedError(v1_code, message, V2Error(status, code, message, error_type))
