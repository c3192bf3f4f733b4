"""Who may call: v1 access tokens and IAM mode, v2 bearer keys and ``appid``."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._auth import SignedRequest, authenticate_v1
from langchain_qianfan_free.emulator._errors import EmulatedError
from langchain_qianfan_free.emulator._ids import IdSource
from langchain_qianfan_free.emulator._tokens import TokenStore

USER = {"role": "user", "content": "你好"}
V2_BODY = {"model": "ernie-speed-8k", "messages": [USER]}


def v1(
    emu: QianfanEmulator, params: dict[str, str], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = requests.post(
        emu.v1_chat_url(), params=params, headers=headers, json={"messages": [USER]}, timeout=10
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        pytest.param({}, 100, "Invalid parameter", id="missing"),
        pytest.param({"access_token": ""}, 100, "Invalid parameter", id="empty"),
        pytest.param(
            {"access_token": "24.abc.2592000.1.1-1"},
            110,
            "Access token invalid or no longer valid",
            id="unknown",
        ),
    ],
)
def test_v1_access_token_errors(
    qianfan_emulator: QianfanEmulator, params: dict[str, str], code: int, message: str
) -> None:
    answer = v1(qianfan_emulator, params)
    assert (answer["error_code"], answer["error_msg"]) == (code, message)


def test_v1_iam_mode_with_an_unknown_access_key_answers_14(
    qianfan_emulator: QianfanEmulator,
) -> None:
    # Authorization + x-bce-date: IAM mode (signatures are covered in test_emulator_iam.py).
    headers = {
        "Authorization": "bce-auth-v1/ak/2024-05-21T08:00:00Z/1800/host/abc",
        "x-bce-date": "2024-05-21T08:00:00Z",
    }
    answer = v1(qianfan_emulator, {}, headers)
    assert (answer["error_code"], answer["error_msg"]) == (14, "IAM Certification failed")


def test_the_iam_seam_can_accept_signed_requests() -> None:
    request = SignedRequest(
        "POST", "/rpc", {}, {"Authorization": "bce-auth-v1/ak/...", "x-bce-date": "now"}
    )
    tokens = TokenStore({}, 60, IdSource(0))
    assert authenticate_v1(request, tokens, iam=lambda r: "iam:ak") == "iam:ak"
    with pytest.raises(EmulatedError) as rejected:
        authenticate_v1(request, tokens)
    assert rejected.value.code == 14


def test_v1_only_authorization_without_date_uses_the_token(
    qianfan_emulator: QianfanEmulator,
) -> None:
    answer = v1(
        qianfan_emulator,
        {"access_token": qianfan_emulator.issue_access_token()},
        {"Authorization": "whatever"},
    )
    assert "error_code" not in answer


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer bce-v3/ALTAK-other/secret"}, id="unknown-key"),
        pytest.param({"Authorization": "Basic emulator"}, id="wrong-scheme"),
        pytest.param({"Authorization": "Bearer "}, id="empty-key"),
    ],
)
def test_v2_bearer_errors(qianfan_emulator: QianfanEmulator, headers: dict[str, str]) -> None:
    response = requests.post(
        qianfan_emulator.v2_chat_url, json=V2_BODY, headers=headers, timeout=10
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_iam_token"
    assert response.json()["error"]["message"] == "IAM Certification failed"


def test_v2_does_not_accept_v1_access_tokens(qianfan_emulator: QianfanEmulator) -> None:
    token = qianfan_emulator.issue_access_token()
    response = requests.post(
        qianfan_emulator.v2_chat_url,
        json=V2_BODY,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("appid", "status"),
    [
        pytest.param(None, 200, id="absent"),
        pytest.param("app-emulator", 200, id="known"),
        pytest.param("app-other", 401, id="unknown"),
    ],
)
def test_v2_appid(qianfan_emulator: QianfanEmulator, appid: str | None, status: int) -> None:
    headers = {"Authorization": f"bearer {qianfan_emulator.api_key}"}
    if appid is not None:
        headers["appid"] = appid
    response = requests.post(
        qianfan_emulator.v2_chat_url, json=V2_BODY, headers=headers, timeout=10
    )
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["code"] == "invalid_appid"
        assert response.json()["error"]["message"] == "No permission to use the appid"


def test_custom_v2_keys_and_app_ids() -> None:
    with QianfanEmulator(api_keys=["k1", "k2"], app_ids=["a1"]) as emu:
        assert (emu.api_key, emu.app_id) == ("k1", "a1")
        for key in ("k1", "k2"):
            response = requests.post(
                emu.v2_chat_url,
                json=V2_BODY,
                timeout=10,
                headers={"Authorization": f"Bearer {key}", "appid": "a1"},
            )
            assert response.status_code == 200
        response = requests.post(
            emu.v2_chat_url,
            json=V2_BODY,
            timeout=10,
            headers={"Authorization": f"Bearer {QianfanEmulator.DEFAULT_API_KEY}"},
        )
        assert response.status_code == 401


def test_auth_failures_do_not_use_queued_faults(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_error(336501)
    assert v1(qianfan_emulator, {"access_token": "nope"})["error_code"] == 110
    assert len(qianfan_emulator.pending_faults) == 1
    assert (
        v1(qianfan_emulator, {"access_token": qianfan_emulator.issue_access_token()})["error_code"]
        == 336501
    )
