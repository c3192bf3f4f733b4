"""The connection pool: bounded waits on both paths, and per-loop tables safe under threads.

A call that finds all ``max_connections`` in use waits at most ``timeout`` and then
raises ``QianfanTimeoutError`` saying the pool was full: no hang at any concurrency
(nested calls made while streaming, streams abandoned but still referenced). One model
used from many threads, each running its own event loop, never fails because another
thread's loop closed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.errors import QianfanTimeoutError

from .conftest import PROTOCOLS, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")

WAIT = 0.3  # the timeout of the calls that find the pool full (how long they wait)


@pytest.fixture(scope="module")
def emu() -> Iterator[QianfanEmulator]:
    with QianfanEmulator(rpm=10**9, tpm=10**12) as server:
        yield server


def _pool_full(error: BaseException) -> bool:
    return isinstance(error, QianfanTimeoutError) and "pool was full" in str(error)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_100_streams_each_nesting_a_call_end_instead_of_hanging(
    emu: QianfanEmulator, protocol: str
) -> None:
    """A tool or summarizer called while streaming, at the pool's width (100)."""
    model = make_model(emu, protocol, timeout=WAIT)
    model.invoke("warm")  # the v1 token, fetched before the burst

    async def main() -> list[Any]:
        started = finished = 0
        all_started, all_finished = asyncio.Event(), asyncio.Event()

        async def one(i: int) -> Any:
            nonlocal started, finished
            stream = model.astream(f"流 {i}")
            try:
                await stream.__anext__()  # this stream now holds a connection
                started += 1
                if started == 100:
                    all_started.set()
                await all_started.wait()
                outcome: Any = "no error"
                try:
                    await model.ainvoke("nested")
                except QianfanTimeoutError as error:
                    outcome = error
                finished += 1
                if finished == 100:
                    all_finished.set()
                await all_finished.wait()  # no stream lets go before every call ended
                return outcome
            finally:
                await stream.aclose()

        # A bound of our own, so that a hang fails this test instead of the run.
        return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(100))), 60)

    outcomes = asyncio.run(main())
    assert all(_pool_full(o) for o in outcomes), {repr(o)[:120] for o in outcomes}
    assert "收到：after" in str(model.invoke("after").content)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_abandoned_streams_still_referenced_do_not_hang_later_calls(
    emu: QianfanEmulator, protocol: str
) -> None:
    model = make_model(emu, protocol, timeout=WAIT, max_connections=5)

    async def main() -> tuple[BaseException | None, str]:
        abandoned = [model.astream(f"丢下 {i}") for i in range(5)]
        for stream in abandoned:
            await stream.__anext__()  # read a little, then stop reading
        failure: BaseException | None = None
        try:
            await asyncio.wait_for(model.ainvoke("blocked"), 60)
        except QianfanTimeoutError as error:
            failure = error
        for stream in abandoned:
            await stream.aclose()  # closing them gives their connections back
        return failure, str((await model.ainvoke("freed")).content)

    failure, answer = asyncio.run(main())
    assert failure is not None
    assert _pool_full(failure)
    assert "max_connections=5" in str(failure)
    assert "收到：freed" in answer


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_sync_path_waits_alike(emu: QianfanEmulator, protocol: str) -> None:
    model = make_model(emu, protocol, timeout=WAIT, max_connections=2)
    model.invoke("warm")
    held = [model.stream(f"占 {i}") for i in range(2)]
    for stream in held:
        next(stream)
    with pytest.raises(QianfanTimeoutError, match="pool was full") as info:
        model.invoke("blocked")
    assert not info.value.is_retryable  # waiting again would only repeat the wait
    held[0].close()
    assert "收到：freed" in str(model.invoke("freed").content)
    held[1].close()


def test_a_waiting_call_gets_the_connection_a_finished_call_frees(emu: QianfanEmulator) -> None:
    """Within ``timeout``, a full pool is a queue, not an error."""
    model = make_model(emu, "v2", timeout=30, max_connections=1)

    async def main() -> list[str]:
        stream = model.astream("先")
        first = await stream.__anext__()
        waiting = asyncio.ensure_future(model.ainvoke("后"))
        await asyncio.sleep(0)  # let it start waiting for the one connection
        rest = [chunk.text async for chunk in stream]  # finishing frees it
        return [first.text + "".join(rest), str((await waiting).content)]

    streamed, answered = asyncio.run(main())
    assert "收到：先" in streamed
    assert "收到：后" in answered


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_threads_with_their_own_loops_closed_without_aclose_never_fail(
    emu: QianfanEmulator, protocol: str
) -> None:
    """Half the threads close their loops by hand without ``aclose()``; none may fail."""
    model = make_model(emu, protocol)
    model.invoke("warm")
    failures: list[BaseException] = []
    answers: list[str] = []
    guard = threading.Lock()
    rounds, threads = 25, 8

    def worker(index: int) -> None:
        for round_ in range(rounds):
            question = f"线程 {index}-{round_}"
            try:
                if index % 2:
                    loop = asyncio.new_event_loop()
                    try:
                        message = loop.run_until_complete(model.ainvoke(question))
                    finally:
                        loop.close()  # no aclose(), no shutdown_asyncgens()
                else:
                    message = asyncio.run(model.ainvoke(question))
                with guard:
                    answers.append(str(message.content))
            except BaseException as error:  # noqa: BLE001 (every failure is the finding)
                with guard:
                    failures.append(error)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)
    assert failures == []
    assert len(answers) == rounds * threads
