"""The request log users assert on."""

from __future__ import annotations

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator, RecordedRequest
from langchain_qianfan_free.emulator.records import RequestLog

USER = {"role": "user", "content": "你好"}


def test_every_request_is_recorded_with_its_protocol(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    token = requests.post(
        emu.token_url,
        timeout=10,
        params={"grant_type": "client_credentials", "client_id": emu.ak, "client_secret": emu.sk},
    ).json()["access_token"]
    requests.post(
        emu.v1_chat_url(),
        params={"access_token": token},
        timeout=10,
        json={"messages": [USER], "temperature": 0.5},
        headers={"X-Custom": "yes"},
    )
    requests.post(
        emu.v2_chat_url,
        data=b"{broken",
        timeout=10,
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )
    requests.get(emu.url + "/elsewhere?x=1", timeout=10)
    log = emu.requests
    assert [record.protocol for record in log] == ["token", "v1", "v2", "other"]
    token_request, chat, broken, other = log
    assert token_request.query["grant_type"] == "client_credentials"
    assert (chat.method, chat.path) == (
        "POST",
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie_speed",
    )
    assert chat.query == {"access_token": token}
    assert chat.json == {"messages": [USER], "temperature": 0.5}
    assert chat.headers["x-custom"] == "yes"  # case-insensitive
    assert chat.headers["CONTENT-TYPE"] == "application/json"
    assert (broken.body, broken.json) == (b"{broken", None)
    assert (other.method, other.query) == ("GET", {"x": "1"})


def test_failed_and_faulted_requests_are_recorded(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_disconnect()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            qianfan_emulator.v2_chat_url,
            json={},
            timeout=10,
            headers={"Authorization": f"Bearer {qianfan_emulator.api_key}"},
        )
    requests.get(qianfan_emulator.v2_chat_url, timeout=10)
    assert [record.method for record in qianfan_emulator.requests] == ["POST", "GET"]


def test_the_log_is_a_snapshot(qianfan_emulator: QianfanEmulator) -> None:
    before = qianfan_emulator.requests
    requests.get(qianfan_emulator.url, timeout=10)
    assert before == []
    assert len(qianfan_emulator.requests) == 1
    qianfan_emulator.reset()
    assert qianfan_emulator.requests == []


def test_request_log_unit() -> None:
    log = RequestLog()
    record = RecordedRequest("GET", "/", {}, {}, b"", None, "other")
    log.append(record)
    snapshot = log.snapshot()
    log.clear()
    assert snapshot == [record]
    assert log.snapshot() == []


def test_requests_over_one_connection_share_the_client_address(
    qianfan_emulator: QianfanEmulator,
) -> None:
    body = {"model": "ernie-speed-8k", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {qianfan_emulator.api_key}"}
    with requests.Session() as session:
        for _ in range(2):
            session.post(qianfan_emulator.v2_chat_url, json=body, headers=headers, timeout=10)
    requests.post(qianfan_emulator.v2_chat_url, json=body, headers=headers, timeout=10)
    clients = [r.client for r in qianfan_emulator.requests]
    assert clients[0] == clients[1]
    assert clients[2] != clients[0]
    assert clients[0].startswith("127.0.0.1:")
