"""Many threads and tasks on one model: v1 access tokens are fetched once, answers stay apart.

Every burst starts behind a barrier (threads) or from one ``gather`` (tasks), so the
callers really ask for a token at the same moment; tokens are counted from the
emulator's request log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

from .conftest import make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")

THREADS = 64
TASKS = 1000
BARRIER_TIMEOUT = 60  # a broken barrier fails the test instead of hanging it


@pytest.fixture(scope="module")
def busy_session() -> Iterator[QianfanEmulator]:
    """An emulator whose RPM/TPM limits a thousand-call burst does not reach."""
    with QianfanEmulator(rpm=10**6, tpm=10**9) as emu:
        yield emu


@pytest.fixture
def emu(busy_session: QianfanEmulator) -> QianfanEmulator:
    busy_session.reset()
    return busy_session


def count(emu: QianfanEmulator, protocol: str) -> int:
    return sum(r.protocol == protocol for r in emu.requests)


def expected(text: str) -> str:
    return f"【千帆模拟器】ernie_speed 收到：{text}"


def ask(model: ChatQianfan, text: str, *, stream: bool) -> str:
    if stream:
        return "".join(str(chunk.content) for chunk in model.stream(text))
    return str(model.invoke(text).content)


async def aask(model: ChatQianfan, text: str, *, stream: bool) -> str:
    if stream:
        return "".join([str(chunk.content) async for chunk in model.astream(text)])
    return str((await model.ainvoke(text)).content)


def in_threads(n: int, work: Callable[[int], str]) -> list[str]:
    """Run ``work(0..n-1)`` on ``n`` threads released together by a barrier."""
    barrier = threading.Barrier(n, timeout=BARRIER_TIMEOUT)

    def run(i: int) -> str:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def in_tasks(n: int, work: Callable[[int], Any]) -> list[str]:
    """Run the coroutines ``work(0..n-1)`` as ``n`` tasks of one event loop, gathered."""

    async def run() -> list[str]:
        return list(await asyncio.gather(*(work(i) for i in range(n))))

    return asyncio.run(run())


# ------------------------------------------------------------- one token for all


@pytest.mark.parametrize("models", [1, 8], ids=["one-model", "eight-models-one-credential"])
def test_64_threads_fetch_one_token(emu: QianfanEmulator, models: int) -> None:
    pool = [make_model(emu, "v1") for _ in range(models)]

    def work(i: int) -> str:
        return ask(pool[i % models], f"线程{i}", stream=i % 2 == 1)

    answers = in_threads(THREADS, work)
    assert answers == [expected(f"线程{i}") for i in range(THREADS)]
    assert count(emu, "token") == 1
    assert count(emu, "v1") == THREADS


@pytest.mark.parametrize("models", [1, 8], ids=["one-model", "eight-models-one-credential"])
def test_1000_tasks_fetch_one_token(emu: QianfanEmulator, models: int) -> None:
    pool = [make_model(emu, "v1") for _ in range(models)]

    def work(i: int) -> Any:
        return aask(pool[i % models], f"任务{i}", stream=i % 2 == 1)

    answers = in_tasks(TASKS, work)
    assert answers == [expected(f"任务{i}") for i in range(TASKS)]
    assert count(emu, "token") == 1
    assert count(emu, "v1") == TASKS


# ----------------------------------------------------- a forced refresh under load


@pytest.mark.parametrize("runner", ["threads", "tasks"])
@pytest.mark.parametrize("how", ["expire_tokens", "revoke_tokens"])
def test_a_burst_after_the_token_dies_fetches_one_new_token(
    emu: QianfanEmulator, how: str, runner: str
) -> None:
    # max_retries=0: refreshing the token is not a retry, so nothing else may rescue
    # a caller that the refresh left behind.
    pool = [make_model(emu, "v1", max_retries=0) for _ in range(4)]
    assert pool[0].invoke("预热").content == expected("预热")
    getattr(emu, how)()  # every caller now holds a token the server rejects

    if runner == "threads":
        n = THREADS
        answers = in_threads(n, lambda i: ask(pool[i % 4], f"刷新{i}", stream=i % 2 == 1))
    else:
        n = TASKS
        answers = in_tasks(n, lambda i: aask(pool[i % 4], f"刷新{i}", stream=i % 2 == 1))

    assert answers == [expected(f"刷新{i}") for i in range(n)]
    assert count(emu, "token") == 2  # the first one, and exactly one refresh
    tokens = {r.query["access_token"] for r in emu.requests if r.protocol == "v1"}
    assert len(tokens) == 2  # the dead token (rejected) and the new one, nothing else


# ------------------------------------------------------------ across event loops


def test_threads_each_running_an_event_loop_fetch_one_token(emu: QianfanEmulator) -> None:
    model = make_model(emu, "v1")
    loops = 16

    def work(i: int) -> str:
        return asyncio.run(aask(model, f"循环{i}", stream=False))

    answers = in_threads(loops, work)
    assert answers == [expected(f"循环{i}") for i in range(loops)]
    assert count(emu, "token") == 1


def test_64_threads_log_no_warnings(emu: QianfanEmulator, caplog: pytest.LogCaptureFixture) -> None:
    model = make_model(emu, "v2")
    emu.queue_slow(0.5, times=THREADS)  # every answer waits, so all 64 calls overlap
    with caplog.at_level(logging.WARNING):
        answers = in_threads(THREADS, lambda i: str(model.invoke(f"线程{i}").content))
    assert answers == [f"【千帆模拟器】ernie-speed-8k 收到：线程{i}" for i in range(THREADS)]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_sync_and_async_callers_at_once_fetch_one_token(emu: QianfanEmulator) -> None:
    model = make_model(emu, "v1")

    def work(i: int) -> str:
        if i % 2:
            return asyncio.run(aask(model, f"混合{i}", stream=bool(i % 4 == 1)))
        return str(model.invoke(f"混合{i}").content)

    answers = in_threads(32, work)
    assert answers == [expected(f"混合{i}") for i in range(32)]
    assert count(emu, "token") == 1
