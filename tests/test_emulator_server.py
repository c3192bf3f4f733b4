"""Lifecycle of the server thread: start, stop, restart, concurrency, keep-alive, asyncio."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator

pytestmark = pytest.mark.filterwarnings("error")

USER = {"role": "user", "content": "你好"}


def test_start_is_fast_and_stop_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    started = time.monotonic()
    emu = QianfanEmulator().start()
    assert time.monotonic() - started < 2
    assert emu.running
    assert emu.url == f"http://127.0.0.1:{emu.port}"
    assert requests.get(emu.url, timeout=10).status_code == 404
    emu.stop()
    emu.stop()  # idempotent
    assert not emu.running
    assert set(threading.enumerate()) <= before
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url


def test_restart_and_double_start() -> None:
    emu = QianfanEmulator()
    with emu:
        with pytest.raises(RuntimeError, match="already running"):
            emu.start()
        token = emu.issue_access_token()
    with emu:  # state survives a restart
        answer = requests.post(
            emu.v1_chat_url(), params={"access_token": token}, timeout=10, json={"messages": [USER]}
        ).json()
        assert "error_code" not in answer


def test_port_in_use_is_reported() -> None:
    with QianfanEmulator() as first:
        second = QianfanEmulator(port=first.port)
        with pytest.raises(OSError):
            second.start()
        assert not second.running


def test_repr_shows_no_secrets(qianfan_emulator: QianfanEmulator) -> None:
    text = repr(qianfan_emulator)
    assert qianfan_emulator.url in text
    secrets = (qianfan_emulator.sk, qianfan_emulator.api_key, qianfan_emulator.iam_sk)
    for secret in (*secrets, "emulator-secret"):
        assert secret not in text
    assert "stopped" in repr(QianfanEmulator())


def test_urls(qianfan_emulator: QianfanEmulator) -> None:
    base = qianfan_emulator.url
    assert qianfan_emulator.token_url == base + "/oauth/2.0/token"
    assert qianfan_emulator.v1_chat_url("ernie-lite-8k") == (
        base + "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-lite-8k"
    )
    assert qianfan_emulator.v2_base_url == base + "/v2"
    assert qianfan_emulator.v2_chat_url == base + "/v2/chat/completions"
    assert qianfan_emulator.bearer_token_url == base + "/v1/BCE-BEARER/token"


def test_concurrent_requests(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    token = emu.issue_access_token()

    def one(index: int) -> str:
        stream = index % 2 == 0
        if index % 4 < 2:
            response = requests.post(
                emu.v1_chat_url(),
                params={"access_token": token},
                json={"messages": [USER], "stream": stream},
                timeout=10,
            )
        else:
            response = requests.post(
                emu.v2_chat_url,
                headers={"Authorization": f"Bearer {emu.api_key}"},
                json={"model": "ernie-speed-8k", "messages": [USER], "stream": stream},
                timeout=10,
            )
        assert response.status_code == 200
        first = response.content.split(b"\n\n")[0].removeprefix(b"data: ")
        return str(json.loads(first)["id"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(one, range(64)))
    assert len(set(ids)) == 64
    assert len(emu.requests) == 64


def test_keep_alive(qianfan_emulator: QianfanEmulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", qianfan_emulator.port, timeout=10)
    body = json.dumps({"model": "ernie-speed-8k", "messages": [USER]})
    headers = {
        "Authorization": f"Bearer {qianfan_emulator.api_key}",
        "Content-Type": "application/json",
    }
    sockets = []
    for stream in (False, True, False):
        payload = body if not stream else body[:-1] + ', "stream": true}'
        connection.request("POST", "/v2/chat/completions", payload, headers)
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is not None
    assert sockets[0] is sockets[1] is sockets[2]


def test_stop_never_leaves_a_client_hanging() -> None:
    """A request racing with stop() gets an answer or a closed connection, never silence."""
    body = json.dumps({"model": "ernie-speed-8k", "messages": [USER]})
    for _ in range(10):
        emu = QianfanEmulator().start()
        connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
        connection.request(
            "POST", "/v2/chat/completions", body, {"Authorization": f"Bearer {emu.api_key}"}
        )
        started = time.monotonic()
        emu.stop()
        with contextlib.suppress(http.client.HTTPException, ConnectionError):
            connection.getresponse().read()
        assert time.monotonic() - started < 5
        connection.close()


def test_stop_is_prompt_with_a_request_in_flight() -> None:
    emu = QianfanEmulator().start()
    emu.queue_slow(60)
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    connection.request(
        "POST",
        "/v2/chat/completions",
        json.dumps({"model": "ernie-speed-8k", "messages": [USER]}),
        {"Authorization": f"Bearer {emu.api_key}"},
    )
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 5
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        connection.getresponse()
    connection.close()


async def test_async_with_and_an_async_client() -> None:
    async with QianfanEmulator() as emu, aiohttp.ClientSession() as session:
        emu.queue_reply("异步回答")
        async with session.post(
            emu.v2_chat_url,
            headers={"Authorization": f"Bearer {emu.api_key}"},
            json={"model": "ernie-speed-8k", "messages": [USER], "stream": True},
        ) as resp:
            lines = [line.strip() async for line in resp.content if line.strip()]
    assert lines[-1] == b"data: [DONE]"
    text = "".join(
        json.loads(line.removeprefix(b"data: "))["choices"][0]["delta"]["content"]
        for line in lines[:-1]
    )
    assert text == "异步回答"
    assert not emu.running


def test_the_quick_start_in_the_docs_runs() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "emulator.md"
    text = docs.read_text(encoding="utf-8")
    snippet = text.split("## Quick start", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(snippet, str(docs), "exec"), {})  # noqa: S102 - our own documentation
