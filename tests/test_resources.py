"""Connections and sessions: no descriptor growth, no "Unclosed client session", quiet exits.

Descriptor counts come from ``/proc/self/fd`` (Linux). So that they count only the
client's descriptors, those tests talk to an emulator in a child process; the tests
of warnings and exit noise run whole scripts in a child Python with
``-W error::ResourceWarning`` and require an empty stderr.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

from .conftest import PROTOCOLS, make_model

pytestmark = [
    pytest.mark.usefixtures("fresh_tokens"),
    pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)"),
]

SLACK = 2  # descriptors a run may legitimately leave open (e.g. one re-opened pool slot)

EMULATOR_PROCESS = """
import sys
from langchain_qianfan_free.emulator import QianfanEmulator

with QianfanEmulator(rpm=10**9, tpm=10**12) as emu:
    print(emu.url, flush=True)
    sys.stdin.read()  # serve until the test closes our stdin
"""


@pytest.fixture(scope="module")
def remote() -> Iterator[SimpleNamespace]:
    """An emulator in a child process: its sockets are not in our /proc/self/fd."""
    child = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_PROCESS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    url = child.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), url
        yield SimpleNamespace(
            url=url,
            api_key=QianfanEmulator.DEFAULT_API_KEY,
            ak=QianfanEmulator.DEFAULT_AK,
            sk=QianfanEmulator.DEFAULT_SK,
        )
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        finally:
            if child.poll() is None:  # pragma: no cover - only if it hangs
                child.kill()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def expected(protocol: str, text: str) -> str:
    model = "ernie_speed" if protocol == "v1" else "ernie-speed-8k"
    return f"【千帆模拟器】{model} 收到：{text}"


def sync_call(model: ChatQianfan, text: str, *, stream: bool) -> str:
    if stream:
        return "".join(str(chunk.content) for chunk in model.stream(text))
    return str(model.invoke(text).content)


async def async_call(model: ChatQianfan, text: str, *, stream: bool) -> str:
    if stream:
        return "".join([str(chunk.content) async for chunk in model.astream(text)])
    return str((await model.ainvoke(text)).content)


# ------------------------------------------------------------ descriptor growth


def test_5000_mixed_calls_do_not_grow_the_descriptor_table(remote: SimpleNamespace) -> None:
    models = {protocol: make_model(remote, protocol) for protocol in PROTOCOLS}
    rounds, per_round = 25, 100  # 25 x (100 sync + 100 async) = 5,000 calls

    def sync_round(r: int) -> list[tuple[str, str]]:
        out = []
        for i in range(per_round):
            protocol, text = PROTOCOLS[i % 2], f"同步{r}-{i}"
            out.append((sync_call(models[protocol], text, stream=i % 4 >= 2), protocol + text))
        return out

    async def async_round(r: int) -> list[tuple[str, str]]:
        # ten concurrent calls at a time, so the pool holds several connections
        out: list[tuple[str, str]] = []
        for start in range(0, per_round, 10):
            jobs = [
                (PROTOCOLS[i % 2], f"异步{r}-{i}", i % 4 >= 2) for i in range(start, start + 10)
            ]
            answers = await asyncio.gather(
                *(async_call(models[p], text, stream=s) for p, text, s in jobs)
            )
            out += [(answer, p + text) for answer, (p, text, _) in zip(answers, jobs, strict=True)]
        return out

    def check(pairs: list[tuple[str, str]]) -> None:
        for answer, tagged in pairs:
            protocol, text = tagged[:2], tagged[2:]
            assert answer == expected(protocol, text)

    check(sync_round(-1))  # warm up: token, pools, lazy imports
    check(asyncio.run(async_round(-1)))
    gc.collect()
    before = open_fds()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for r in range(rounds):
            check(sync_round(r))
            check(asyncio.run(async_round(r)))
        gc.collect()
    assert open_fds() <= before + SLACK
    # A socket dropped without being closed is closed by the garbage collector (so
    # the count alone would not show it), with a ResourceWarning.
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_models_made_per_request_in_a_long_running_loop_release_their_connections(
    remote: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    # A web server's loop never ends: a model created for one request and dropped must
    # give its connection back while the loop keeps running.
    async def serve(requests: int) -> tuple[int, int]:
        await async_call(make_model(remote, "v2"), "预热", stream=False)
        await settle()
        before = open_fds()
        for i in range(requests):
            model = make_model(remote, "v2")
            assert await async_call(model, f"请求{i}", stream=i % 2 == 1) == expected(
                "v2", f"请求{i}"
            )
            del model
        await settle()
        return before, open_fds()

    async def settle() -> None:
        # Dropped models close their sessions in tasks the loop runs next: let it run
        # them (no waiting on the clock, only on those tasks).
        gc.collect()
        await asyncio.sleep(0)
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in asyncio.all_tasks() if t is not current))
        await asyncio.sleep(0)

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always", ResourceWarning)
        before, after = asyncio.run(serve(200))
    assert after <= before + SLACK
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if "nclosed" in r.getMessage()] == []


# ---------------------------------------------------------- warnings and noise


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_one_model_serves_many_event_loops_without_warnings(
    qianfan_emulator: QianfanEmulator, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    held = [make_model(qianfan_emulator, protocol)]  # a list, so the test can drop it

    async def both(i: int) -> list[str]:
        return [
            await async_call(held[0], f"第{i}轮", stream=False),
            await async_call(held[0], f"第{i}轮", stream=True),
        ]

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always")
        for i in range(20):  # each asyncio.run is a new event loop
            assert asyncio.run(both(i)) == [expected(protocol, f"第{i}轮")] * 2
        assert sync_call(held[0], "同步", stream=True) == expected(protocol, "同步")
        held.clear()
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [r.getMessage() for r in caplog.records if "nclosed" in r.getMessage()] == []


def run_script(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter that turns ResourceWarnings into errors."""
    return subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONDEVMODE": "", "PYTHONASYNCIODEBUG": ""},
    )


SCRIPT_HEAD = """
import asyncio
from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

emu = QianfanEmulator().start()
models = [
    ChatQianfan(base_url=emu.url, api_key=emu.api_key),
    ChatQianfan(base_url=emu.url, api_version="v1", qianfan_ak=emu.ak, qianfan_sk=emu.sk),
]

async def use(model):
    await model.ainvoke("你好")
    async for _ in model.astream("你好"):
        pass
"""


def test_interpreter_exit_after_sync_and_async_use_is_silent() -> None:
    # Nothing is closed by hand: not the models, not the emulator.
    result = run_script(
        SCRIPT_HEAD
        + """
for model in models:
    model.invoke("你好")
    list(model.stream("你好"))
    asyncio.run(use(model))
    asyncio.run(use(model))
print("ok")
"""
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_dropping_models_is_silent() -> None:
    result = run_script(
        SCRIPT_HEAD
        + """
import gc
for model in models:
    model.invoke("你好")
    asyncio.run(use(model))
del model, models
gc.collect()
print("ok")
"""
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_a_model_dropped_after_an_error_inside_a_running_loop_is_silent() -> None:
    # A web handler that makes a model per request, and one request fails.
    result = run_script(
        SCRIPT_HEAD
        + """
import gc

async def handler():
    model = ChatQianfan(base_url=emu.url, api_key=emu.api_key, max_retries=0)
    await model.ainvoke("你好")
    emu.queue_error(336003)
    try:
        await model.ainvoke("你好")
    except Exception as error:
        return error  # its traceback holds frames that hold the model's transport

async def server():
    error = await handler()
    del error
    gc.collect()
    await asyncio.sleep(0)  # let the loop run what the collection scheduled
    print("ok")

asyncio.run(server())
"""
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


LOOP_CLOSED_BY_HAND = """
def by_hand(model):
    loop = asyncio.new_event_loop()
    loop.run_until_complete(use(model))
    loop.close()  # without loop.shutdown_asyncgens(), unlike asyncio.run
"""


def test_a_loop_closed_by_hand_is_silent_at_exit() -> None:
    result = run_script(
        SCRIPT_HEAD
        + LOOP_CLOSED_BY_HAND
        + """
by_hand(models[0])
print("ok")
"""
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_a_model_moves_on_from_a_loop_closed_by_hand_silently() -> None:
    result = run_script(
        SCRIPT_HEAD
        + LOOP_CLOSED_BY_HAND
        + """
by_hand(models[0])
asyncio.run(use(models[0]))  # the next loop finds the dead one's session
print("ok")
"""
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_scripts_that_leak_are_caught() -> None:
    # The check itself can fail: a script that leaks a socket is not silent.
    result = run_script(
        """
import socket
s = socket.socket()
del s
print("ok")
"""
    )
    assert "ResourceWarning" in result.stderr


def test_aclose_before_closing_a_loop_by_hand_is_silent_and_close_reopens() -> None:
    result = run_script(
        SCRIPT_HEAD
        + """
async def use_and_close(model):
    await use(model)
    await model.aclose()

loop = asyncio.new_event_loop()
loop.run_until_complete(use_and_close(models[1]))
loop.close()
models[0].invoke("你好")
models[0].close()
print(models[0].invoke("再来").content[:7])
"""
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "【千帆模拟器】\n", "")
