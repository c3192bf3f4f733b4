"""The error catalogue: v1 texts, the v1 → v2 translation, and queued errors on the wire."""

from __future__ import annotations

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._errors import (
    V1_MESSAGES,
    qianfan_error,
    translate_to_v2,
    v2_only_error,
)

USER = {"role": "user", "content": "你好"}

TRANSLATION = [
    (336501, 429, "rpm_rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached for RPM"),
    (336502, 429, "tpm_rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached for TPM"),
    (
        18,
        429,
        "user_rate_limit_exceeded",
        "rate_limit_exceeded",
        "qps request limit by APP ID reached",
    ),
    (
        4,
        429,
        "cluster_rate_limit_exceeded",
        "rate_limit_exceeded",
        "request limit by resouce cluster reached",
    ),
    (2, 500, "internal_error", "Internal_error", "Service temporarily unavailable"),
    (336100, 500, "internal_error", "Internal_error", "try again later"),
    (336000, 500, "internal_error", "Internal_error", "Internal error"),
    (1, 500, "internal_error", "Internal_error", "Unknown error"),
    (110, 401, "invalid_iam_token", "access_denied", "IAM Certification failed"),
    (111, 401, "invalid_iam_token", "access_denied", "IAM Certification failed"),
    (14, 401, "invalid_iam_token", "access_denied", "IAM Certification failed"),
    (336003, 400, "invalid_argument", "invalid_request_error", "Invalid Argument"),
    (336001, 400, "invalid_argument", "invalid_request_error", "Invalid Argument"),
    (336002, 400, "malformed_json", "invalid_request_error", "Invalid Argument"),
    (
        336006,
        400,
        "invalid_messages",
        "invalid_request_error",
        "the length of messages must be an odd number",
    ),
    (
        336007,
        400,
        "characters_too_long",
        "invalid_request_error",
        "the max input characters is 24000",
    ),
    (336103, 400, "tokens_too_long", "invalid_request_error", "Prompt tokens too long"),
    (
        336101,
        405,
        "method_not_supported",
        "invalid_request_error",
        "Only POST requests are accepted",
    ),
    (
        3,
        401,
        "invalid_model",
        "access_denied",
        "The model does not exist or you do not have access to it.",
    ),
    (17, 403, "account_overdue", "access_denied", "Open api daily request limit reached"),
    (19, 403, "account_overdue", "access_denied", "Open api total request limit reached"),
    (6, 401, "no_parameter_permission", "access_denied", "No permission to access data"),
    (999999, 500, "internal_error", "Internal_error", "Unknown error"),
]


@pytest.mark.parametrize(("code", "status", "v2_code", "v2_type", "message"), TRANSLATION)
def test_translation_table(
    code: int, status: int, v2_code: str, v2_type: str, message: str
) -> None:
    v2 = translate_to_v2(code)
    assert (v2.status, v2.code, v2.type, v2.message) == (status, v2_code, v2_type, message)


def test_an_explicit_message_is_used_on_both_protocols() -> None:
    error = qianfan_error(336003, "the max length of current question is 2000")
    assert error.message == error.v2.message == "the max length of current question is 2000"


def test_documented_v1_texts() -> None:
    assert V1_MESSAGES[110] == "Access token invalid or no longer valid"
    assert V1_MESSAGES[111] == "Access token expired"
    assert V1_MESSAGES[336101] == "Invalid HTTP Method"
    assert qianfan_error(18).message == "Open api qps request limit reached"


def test_v2_only_errors_pick_a_type_by_status() -> None:
    assert v2_only_error(401, "invalid_appid", "m", v1_code=6).v2.type == "access_denied"
    assert v2_only_error(400, "invalid_model", "m", v1_code=3).v2.type == "invalid_request_error"


@pytest.mark.parametrize(("code", "status", "v2_code", "v2_type", "message"), TRANSLATION[:12])
def test_queued_errors_on_the_wire(
    qianfan_emulator: QianfanEmulator,
    code: int,
    status: int,
    v2_code: str,
    v2_type: str,
    message: str,
) -> None:
    emu = qianfan_emulator
    emu.queue_error(code)
    emu.queue_error(code)
    v1 = requests.post(
        emu.v1_chat_url(),
        json={"messages": [USER]},
        timeout=10,
        params={"access_token": emu.issue_access_token()},
    )
    assert v1.status_code == 200
    assert v1.headers["Content-Type"] == "application/json"
    body = v1.json()
    assert body["error_code"] == code
    assert body["error_msg"] == V1_MESSAGES[code]
    assert body["id"].startswith("as-")
    v2 = requests.post(
        emu.v2_chat_url,
        json={"model": "ernie-speed-8k", "messages": [USER]},
        headers={"Authorization": f"Bearer {emu.api_key}"},
        timeout=10,
    )
    assert v2.status_code == status
    assert v2.json()["error"] == {"code": v2_code, "message": message, "type": v2_type}
    assert v2.json()["id"].startswith("as-")
