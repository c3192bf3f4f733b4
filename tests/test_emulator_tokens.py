"""The OAuth token endpoint and the life of the access tokens it issues."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator

USER = {"role": "user", "content": "你好"}
TOKEN_SHAPE = re.compile(r"24\.[0-9a-f]{32}\.(\d+)\.(\d+)\.\d+-\d+")


def get_token(emu: QianfanEmulator, method: str = "POST", **query: str) -> requests.Response:
    params = {
        "grant_type": "client_credentials",
        "client_id": emu.ak,
        "client_secret": emu.sk,
        **query,
    }
    return requests.request(method, emu.token_url, params=params, timeout=10)


def chat(emu: QianfanEmulator, token: str) -> dict[str, Any]:
    response = requests.post(
        emu.v1_chat_url(), params={"access_token": token}, json={"messages": [USER]}, timeout=10
    )
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_token_exchange(qianfan_emulator: QianfanEmulator, method: str) -> None:
    response = get_token(qianfan_emulator, method)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "scope",
        "session_key",
        "session_secret",
    }
    assert body["expires_in"] == 2592000
    match = TOKEN_SHAPE.fullmatch(body["access_token"])
    assert match is not None
    assert match.group(1) == "2592000"
    assert body["refresh_token"].startswith("25.")
    assert "error_code" not in chat(qianfan_emulator, body["access_token"])


@pytest.mark.parametrize(
    ("query", "status", "error", "description"),
    [
        pytest.param(
            {"client_id": "nobody"}, 401, "invalid_client", "unknown client id", id="unknown-client"
        ),
        pytest.param(
            {"client_secret": "wrong"},
            401,
            "invalid_client",
            "Client authentication failed",
            id="wrong-secret",
        ),
        pytest.param({"grant_type": ""}, 400, "invalid_request", "grant_type", id="no-grant-type"),
        pytest.param(
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
            "not supported",
            id="wrong-grant-type",
        ),
    ],
)
def test_token_errors(
    qianfan_emulator: QianfanEmulator,
    query: dict[str, str],
    status: int,
    error: str,
    description: str,
) -> None:
    response = get_token(qianfan_emulator, **query)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert description in body["error_description"]


def test_token_endpoint_rejects_other_methods(qianfan_emulator: QianfanEmulator) -> None:
    assert get_token(qianfan_emulator, "PUT").status_code == 405


def test_expire_tokens(qianfan_emulator: QianfanEmulator) -> None:
    old = get_token(qianfan_emulator).json()["access_token"]
    qianfan_emulator.expire_tokens()
    assert chat(qianfan_emulator, old)["error_code"] == 111
    assert chat(qianfan_emulator, old)["error_msg"] == "Access token expired"
    fresh = get_token(qianfan_emulator).json()["access_token"]
    assert "error_code" not in chat(qianfan_emulator, fresh)


def test_revoke_tokens(qianfan_emulator: QianfanEmulator) -> None:
    old = qianfan_emulator.issue_access_token()
    qianfan_emulator.revoke_tokens()
    answer = chat(qianfan_emulator, old)
    assert (answer["error_code"], answer["error_msg"]) == (
        110,
        "Access token invalid or no longer valid",
    )
    assert "error_code" not in chat(qianfan_emulator, qianfan_emulator.issue_access_token())


def test_reset_makes_expired_and_revoked_tokens_valid_again(
    qianfan_emulator: QianfanEmulator,
) -> None:
    expired, revoked = qianfan_emulator.issue_access_token(), qianfan_emulator.issue_access_token()
    qianfan_emulator.expire_tokens()
    qianfan_emulator.revoke_tokens()
    qianfan_emulator.reset()
    assert "error_code" not in chat(qianfan_emulator, expired)
    assert "error_code" not in chat(qianfan_emulator, revoked)


def test_tokens_expire_after_their_ttl() -> None:
    with QianfanEmulator(token_ttl=0) as emu:
        body = get_token(emu).json()
        assert body["expires_in"] == 0
        assert chat(emu, body["access_token"])["error_code"] == 111


def test_custom_credentials() -> None:
    with QianfanEmulator(credentials={"my-ak": "my-sk", "other": "s2"}) as emu:
        assert (emu.ak, emu.sk) == ("my-ak", "my-sk")
        other = get_token(emu, client_id="other", client_secret="s2")
        assert other.status_code == 200
        assert (
            get_token(
                emu, client_id="emulator-api-key", client_secret="emulator-secret-key"
            ).status_code
            == 401
        )
        with pytest.raises(KeyError):
            emu.issue_access_token("nobody")


def test_seeded_emulators_issue_the_same_tokens() -> None:
    tokens = []
    for _ in range(2):
        with QianfanEmulator(seed=7) as emu:
            token = get_token(emu).json()["access_token"]
            tokens.append(token.split(".")[1])
    assert tokens[0] == tokens[1]
