"""Forked workers (gunicorn --preload, Celery prefork, multiprocessing) never share a connection.

A child that inherits a model the parent already used must open connections of its own:
sending over the parent's pooled keep-alive socket makes each process read the other's
answers. Every answer here must echo its own question (the emulator echoes the last
message), over many rounds, in a ``multiprocessing`` pool and with a parent that keeps
calling while its children do.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

from .conftest import PROTOCOLS, make_model

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)"),
    pytest.mark.usefixtures("fresh_tokens"),
]

_MODEL: ChatQianfan | None = None  # the model the forked workers inherit


@pytest.fixture(scope="module")
def emu() -> Iterator[QianfanEmulator]:
    with QianfanEmulator(rpm=10**9, tpm=10**12) as server:
        yield server


def _answer_sync(question: str) -> tuple[str, str]:
    assert _MODEL is not None
    return question, str(_MODEL.invoke(question).content)


def _answer_async(question: str) -> tuple[str, str]:
    assert _MODEL is not None
    model = _MODEL

    async def ask() -> str:
        return str((await model.ainvoke(question)).content)

    return question, asyncio.run(ask())


def _answer_stream(question: str) -> tuple[str, str]:
    assert _MODEL is not None
    return question, "".join(chunk.text for chunk in _MODEL.stream(question))


def _mismatches(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(q, a) for q, a in pairs if f"收到：{q}" not in a]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("answer", [_answer_sync, _answer_stream], ids=["invoke", "stream"])
def test_a_pool_of_forked_workers_gets_its_own_answers(
    emu: QianfanEmulator, protocol: str, answer: Any
) -> None:
    global _MODEL  # noqa: PLW0603 (the workers inherit it through fork)
    _MODEL = make_model(emu, protocol)
    try:
        context = multiprocessing.get_context("fork")
        for round_ in range(3):
            # The parent uses the model before each round: a warm pooled connection.
            assert "收到：warm" in str(_MODEL.invoke("warm").content)
            questions = [f"问题 {round_}-{i}" for i in range(40)]
            with context.Pool(4) as pool:
                pairs = pool.map(answer, questions, chunksize=1)
            assert _mismatches(pairs) == []
            assert "收到：after" in str(_MODEL.invoke("after").content)
    finally:
        _MODEL = None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_forked_async_workers_while_the_parent_loop_holds_a_session(
    emu: QianfanEmulator, protocol: str
) -> None:
    """The parent keeps an event loop (and its session) alive in a thread; workers fork."""
    global _MODEL  # noqa: PLW0603
    _MODEL = model = make_model(emu, protocol)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        warm = asyncio.run_coroutine_threadsafe(model.ainvoke("warm"), loop).result(30)
        assert "收到：warm" in str(warm.content)
        context = multiprocessing.get_context("fork")
        for round_ in range(2):
            questions = [f"异步 {round_}-{i}" for i in range(24)]
            with context.Pool(3) as pool:
                pairs = pool.map(_answer_async, questions, chunksize=1)
            assert _mismatches(pairs) == []
            again = asyncio.run_coroutine_threadsafe(model.ainvoke("again"), loop).result(30)
            assert "收到：again" in str(again.content)
    finally:
        asyncio.run_coroutine_threadsafe(model.aclose(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop.close()
        _MODEL = None


def _in_child(work: Any, deadline: float = 60.0) -> str:
    """Run ``work()`` in a forked child; return what it printed to the pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child's report comes through the pipe)
        code = 0
        try:
            os.close(read_end)
            os.write(write_end, str(work()).encode())
        except BaseException as error:  # noqa: BLE001 (everything goes to the parent)
            os.write(write_end, f"child failed: {type(error).__name__}: {error}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], deadline)
            assert ready, "the child did not answer in time"
            data = os.read(read_end, 65536)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_parent_and_child_call_at_once_after_a_fork(emu: QianfanEmulator, protocol: str) -> None:
    """Both processes in flight on what was one pool: each reads only its own answers."""
    model = make_model(emu, protocol)
    assert "收到：warm" in str(model.invoke("warm").content)

    def child() -> str:
        pairs = [_ask(model, f"child {i}") for i in range(30)]
        return "ok" if not _mismatches(pairs) else f"mismatch: {_mismatches(pairs)[:3]}"

    done: list[str] = []
    thread = threading.Thread(target=lambda: done.append(_in_child(child)))
    thread.start()
    pairs = [_ask(model, f"parent {i}") for i in range(30)]
    thread.join(90)
    assert done == ["ok"]
    assert _mismatches(pairs) == []


def _ask(model: ChatQianfan, question: str) -> tuple[str, str]:
    return question, str(model.invoke(question).content)


def test_a_child_forked_while_a_parent_thread_holds_every_connection_is_not_blocked(
    emu: QianfanEmulator,
) -> None:
    """The parent's places in the pool (and its locks) are not the child's."""
    model = make_model(emu, "v2", max_connections=1, timeout=5)
    stream = model.stream("占着连接")
    first = next(stream)  # the parent's one connection is now in use
    assert first.text
    try:
        answer = _in_child(lambda: model.invoke("孩子").content, deadline=30)
    finally:
        stream.close()
    assert "收到：孩子" in answer


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_the_child_opens_its_own_connection(emu: QianfanEmulator, protocol: str, mode: str) -> None:
    """The child's request never travels over the parent's pooled connection."""
    model = make_model(emu, protocol)
    assert "收到：one" in str(model.invoke("one").content)
    parent_client = emu.requests[-1].client

    def child() -> str:
        if mode == "invoke":
            return str(model.invoke("child").content)
        return "".join(chunk.text for chunk in model.stream("child"))

    assert _in_child(child).endswith("child")
    chats = [r for r in emu.requests if r.protocol == protocol]
    assert chats[-1].client != parent_client  # the child's own connection
    assert "收到：two" in str(model.invoke("two").content)
    assert emu.requests[-1].client == parent_client  # the parent's is still its own


# A fresh interpreter in which a thread is importing aiohttp (held at a known point by a
# loader of our own) while the main thread forks; the child then needs aiohttp too.
IMPORT_DURING_FORK = r"""
import asyncio, importlib.abc, importlib.util, os, select, sys, threading

where, how = sys.argv[1], sys.argv[2]
started, go = threading.Event(), threading.Event()


class Held(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "aiohttp":
            return None
        sys.meta_path.remove(self)
        if where == "finding":  # the import lock is held, aiohttp not in sys.modules yet
            started.set()
            go.wait(30)
        spec = importlib.util.find_spec("aiohttp")
        real = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return real.create_module(spec)

            def exec_module(self, module):
                if where == "running":  # aiohttp in sys.modules, being initialized
                    started.set()
                    go.wait(30)
                real.exec_module(module)

        spec.loader = Loader()
        return spec


sys.meta_path.insert(0, Held())
import langchain_qianfan_free._transport.forks  # noqa: E402,F401 (registers the fork hooks)

from langchain_qianfan_free._transport.sessions import LoopSessions  # noqa: E402


class Owner:
    pass


def first_async_use():  # what a thread's first ainvoke does
    asyncio.run(LoopSessions().open(Owner(), 1))


importer = threading.Thread(
    target=first_async_use if how == "package" else lambda: __import__("aiohttp")
)
importer.start()
started.wait(30)
go.set()
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    import aiohttp  # noqa: F401

    os.write(write_end, b"imported")
    os._exit(0)
os.close(write_end)
ready, _, _ = select.select([read_end], [], [], 20)
print(os.read(read_end, 100).decode() if ready else "the child hangs")
if not ready:
    os.kill(pid, 9)
os.waitpid(pid, 0)
importer.join(30)
"""


@pytest.mark.parametrize(
    ("where", "how"),
    [("running", "direct"), ("running", "package"), ("finding", "package")],
)
def test_a_fork_while_another_thread_imports_aiohttp_does_not_hang_the_child(
    where: str, how: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_DURING_FORK, where, how],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.stdout.strip() == "imported", result.stderr[-2000:]
