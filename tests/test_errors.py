"""The error table: each Qianfan code maps to a class a user can catch, and nothing leaks."""

from __future__ import annotations

import pickle

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)

from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanContextOverflowError,
    QianfanInvalidRequestError,
    QianfanNotFoundError,
    QianfanPermissionError,
    QianfanQuotaExceededError,
    QianfanRateLimitError,
    error_from_http,
    error_from_v1,
    error_from_v2,
    redact,
)


@pytest.mark.parametrize(
    ("code", "cls", "core", "retryable"),
    [
        (2, QianfanAPIError, ModelAPIError, True),
        (3, QianfanNotFoundError, ModelNotFoundError, False),
        (4, QianfanRateLimitError, ModelRateLimitError, True),
        (6, QianfanPermissionError, ModelPermissionDeniedError, False),
        (14, QianfanAuthenticationError, ModelAuthenticationError, False),
        (17, QianfanQuotaExceededError, ModelRateLimitError, False),
        (18, QianfanRateLimitError, ModelRateLimitError, True),
        (110, QianfanAuthenticationError, ModelAuthenticationError, False),
        (111, QianfanAuthenticationError, ModelAuthenticationError, False),
        (336003, QianfanInvalidRequestError, ModelInvalidRequestError, False),
        (336006, QianfanInvalidRequestError, ModelInvalidRequestError, False),
        (336007, QianfanContextOverflowError, ContextOverflowError, False),
        (336100, QianfanAPIError, ModelAPIError, True),
        (336103, QianfanContextOverflowError, ContextOverflowError, False),
        (336501, QianfanRateLimitError, ModelRateLimitError, True),
        (336502, QianfanRateLimitError, ModelRateLimitError, True),
        (999999, QianfanAPIError, ModelAPIError, False),
    ],
)
def test_v1_codes(code, cls, core, retryable) -> None:
    error = error_from_v1(code, "msg", request_id="as-abc")
    assert type(error) is cls
    assert isinstance(error, core)
    assert error.is_retryable is retryable
    assert f"Qianfan error {code}: msg" in str(error)
    assert "as-abc" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "cls", "retryable"),
    [
        (400, "invalid_argument", QianfanInvalidRequestError, False),
        (400, "invalid_model", QianfanInvalidRequestError, False),
        (400, "characters_too_long", QianfanContextOverflowError, False),
        (400, "tokens_too_long", QianfanContextOverflowError, False),
        (401, "invalid_iam_token", QianfanAuthenticationError, False),
        (401, "invalid_model", QianfanNotFoundError, False),
        (403, "account_overdue", QianfanQuotaExceededError, False),
        (403, "system_unsafe", QianfanInvalidRequestError, False),
        (429, "rpm_rate_limit_exceeded", QianfanRateLimitError, True),
        (429, "tpm_rate_limit_exceeded", QianfanRateLimitError, True),
        (500, "internal_error", QianfanAPIError, True),
        (503, None, QianfanAPIError, True),
    ],
)
def test_v2_status_and_codes(status, code, cls, retryable) -> None:
    error = error_from_v2(status, code, "m", request_id="as-1")
    assert type(error) is cls
    assert error.is_retryable is retryable
    assert error.status == status


def test_invalid_request_is_also_a_value_error() -> None:
    assert isinstance(error_from_v1(336003, "bad"), ValueError)


def test_gateway_errors_by_status() -> None:
    assert error_from_http(502, "<html>Bad gateway</html>").is_retryable
    assert "Bad gateway" in str(error_from_http(502, "<html>Bad gateway</html>"))
    assert type(error_from_http(401, "")) is QianfanAuthenticationError


@pytest.mark.parametrize(
    "text",
    [
        "https://aip.baidubce.com/rpc/2.0/x?access_token=24.abc.2592000.1.2-3&x=1",
        "/oauth/2.0/token?grant_type=client_credentials&client_id=AKAK&client_secret=SKSK",
        "Authorization: Bearer bce-v3/ALTAK-xyz/secretpart",
        "Authorization: bce-auth-v1/myak/2024-05-21T08:00:00Z/300//abcdef",
        '{"access_token": "24.abc", "refresh_token": "AKAK", "session_secret": "SKSK"}',
        "api key bce-v3/ALTAK-xyz/secretpart was rejected",
        "Authorization: Bearer secretPart9",
        "{'Authorization': 'Bearer secretPart9', 'appid': 'app'}",
        "authorization=Bearer abc123def",
        "Authorization: Bearer k1",
        "{'Authorization': 'Bearer testkey'}",
        'curl -H "Authorization: Bearer sk-test"',
        "Authorization: Basic dXNlcjpwYXNz",
        "Proxy-Authorization: Token pRoXy",
        "{'access_token': '24.abc'}",
        "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJteWFrIn0.abcdef",
        "rejected bearer 24.abc.2592000.1.2-3",
        "sent Bearer SKSKxYzw",
    ],
)
def test_redact_removes_every_credential(text) -> None:
    cleaned = redact(text)
    for secret in (
        "24.abc",
        "AKAK",
        "SKSK",
        "ALTAK-xyz",
        "secretpart",
        "myak",
        "abc123def",
        "k1",
        "testkey",
        "sk-test",
        "dXNlcjpwYXNz",
        "pRoXy",
    ):
        assert secret not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "Invalid API key or bearer token",
        "Invalid API key or bearer token.",
        "Bearer tokens expire after 12 hours; fetch a new bearer token.",
        "the Authorization header is missing",
        "BEARER TOKEN INVALID",
        "access_token is invalid, client_id unknown",
        "IAM Certification failed",
        "authorization: required",
        "Missing Authorization: header",
        "invalid authorization=header",
        "Bearer 12 hours max",
        'Bearer realm="qianfan"',
    ],
)
def test_redact_leaves_plain_server_text_alone(text) -> None:
    assert redact(text) == text
    error = error_from_v2(401, "invalid_iam_token", text)
    assert text in str(error)


def test_error_messages_are_redacted() -> None:
    error = QianfanAPIError("failed at http://h/chat?access_token=24.topsecret")
    assert "topsecret" not in str(error)
    assert "topsecret" not in repr(error)


def test_errors_survive_pickling() -> None:
    error = error_from_v1(336501, "Rate limit reached for RPM", request_id="as-x")
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is QianfanRateLimitError
    assert (clone.code, clone.request_id, clone.is_retryable) == (336501, "as-x", True)


def test_retry_after_survives_pickling_and_is_shown() -> None:
    error = error_from_v2(429, "rpm_rate_limit_exceeded", "Rate limit reached for RPM")
    error.set_retry_after(120.0, hint="wait two minutes")
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is QianfanRateLimitError
    assert (clone.retry_after, clone.hint, str(clone)) == (120.0, "wait two minutes", str(error))
    assert "Retry-After 120 s" in str(error)
    assert QianfanAPIError("x", retry_after=1.5).retry_after == 1.5


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1, QianfanAPIError),
        (336000, QianfanAPIError),
        (999999, QianfanAPIError),
        (3, QianfanNotFoundError),
        (17, QianfanQuotaExceededError),
    ],
)
def test_any_5xx_is_retried_whatever_the_v1_code(status, code, cls) -> None:
    error = error_from_v1(code, "Internal error", request_id="as-5", status=status)
    assert type(error) is cls  # the class the code names, kept
    assert error.is_retryable
    assert (error.code, error.status) == (code, status)
    assert f"Qianfan error {code}" in str(error)
    # the same code in a 200 answer keeps the table's verdict
    assert error_from_v1(code, "x", status=200).is_retryable is False


@pytest.mark.parametrize("code", ["invalid_model", "model_offline", "no_parameter_permission"])
def test_any_5xx_is_retried_whatever_the_v2_code(code) -> None:
    error = error_from_v2(500, code, "m")
    assert error.is_retryable
    assert (error.code, error.status) == (code, 500)
