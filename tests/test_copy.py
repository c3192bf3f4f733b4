"""Models copy and pickle (spawn-based multiprocessing, joblib, Ray, caching layers).

A copy or an unpickled model gets transports of its own, opened on first use, before
or after the original made calls; process-wide helpers (a rate limiter) are shared.
"""

from __future__ import annotations

import asyncio
import copy
import multiprocessing
import pickle
from collections.abc import Callable, Iterator

import pytest
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

from .conftest import MODES, PROTOCOLS, call, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")

COPIES: dict[str, Callable[[ChatQianfan], ChatQianfan]] = {
    "deepcopy": copy.deepcopy,
    "model_copy_deep": lambda model: model.model_copy(deep=True),
    "pickle": lambda model: pickle.loads(pickle.dumps(model)),
    "copy": copy.copy,
}


@pytest.fixture(scope="module")
def emu() -> Iterator[QianfanEmulator]:
    with QianfanEmulator(rpm=10**9, tpm=10**12) as server:
        yield server


def _plain(emu: QianfanEmulator, protocol: str) -> ChatQianfan:
    """A model without the test's sleep recorder (a closure, which does not pickle)."""
    creds = (
        {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
        if protocol == "v1"
        else {"api_key": emu.api_key}
    )
    return ChatQianfan(base_url=emu.url, api_version=protocol, temperature=0.3, **creds)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("used", [False, True], ids=["fresh", "used"])
@pytest.mark.parametrize("mode", MODES)
def test_a_copy_works_like_the_original(
    emu: QianfanEmulator, protocol: str, how: str, used: bool, mode: str
) -> None:
    model = _plain(emu, protocol)
    if used:  # pooled connections, a session, a token: none of it may break the copy
        model.invoke("warm")
        asyncio.run(model.ainvoke("warm"))
    twin = COPIES[how](model)
    assert twin.temperature == 0.3
    assert twin.api_version == protocol
    message, _ = call(twin, mode, "副本")
    assert "收到：副本" in str(message.content)
    message, _ = call(model, mode, "原本")
    assert "收到：原本" in str(message.content)


@pytest.mark.parametrize("how", ["deepcopy", "model_copy_deep", "pickle"])
def test_a_copy_has_connections_of_its_own(emu: QianfanEmulator, how: str) -> None:
    model = _plain(emu, "v2")
    model.invoke("one")
    original = emu.requests[-1].client
    twin = COPIES[how](model)
    twin.invoke("two")
    assert emu.requests[-1].client != original
    model.invoke("three")
    assert emu.requests[-1].client == original


def test_a_deep_copy_shares_the_rate_limiter(emu: QianfanEmulator) -> None:
    limiter = InMemoryRateLimiter(requests_per_second=1000, max_bucket_size=1000)
    model = make_model(emu, "v2", rate_limiter=limiter)
    for twin in (copy.deepcopy(model), model.model_copy(deep=True)):
        assert twin.rate_limiter is limiter
        assert "收到：限速" in str(twin.invoke("限速").content)


def _ask_in_spawned(model: ChatQianfan) -> str:
    return str(model.invoke("新进程").content)


def test_a_model_crosses_into_a_spawned_process(emu: QianfanEmulator) -> None:
    model = _plain(emu, "v2")
    model.invoke("warm")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        answer = pool.apply(_ask_in_spawned, (model,))
    assert "收到：新进程" in answer


def test_model_copy_with_another_pool_size_gets_a_pool_of_that_size(emu: QianfanEmulator) -> None:
    from langchain_qianfan_free.errors import QianfanTimeoutError  # noqa: PLC0415

    model = make_model(emu, "v2", timeout=0.3)
    model.invoke("warm")  # the original's pool (100) exists already
    single = model.model_copy(update={"max_connections": 1})
    held = single.stream("占着")
    next(held)
    try:
        with pytest.raises(QianfanTimeoutError, match="max_connections=1"):
            single.invoke("blocked")
        assert "收到：free" in str(model.invoke("free").content)  # not the copy's pool
    finally:
        held.close()
    assert "收到：again" in str(single.invoke("again").content)


def test_a_shallow_copy_with_the_same_pool_shares_its_connections(emu: QianfanEmulator) -> None:
    """A copy per call (model_copy(update=...)) must not open a connection per call."""
    model = _plain(emu, "v2")
    model.invoke("one")
    original = emu.requests[-1].client
    for temperature in (0.1, 0.2, 0.3):
        model.model_copy(update={"temperature": temperature}).invoke("copy")
        assert emu.requests[-1].client == original


@pytest.mark.parametrize("value", [0, 10_001, True, "5"])
def test_model_copy_checks_max_connections(emu: QianfanEmulator, value: object) -> None:
    from langchain_qianfan_free.errors import QianfanInvalidRequestError  # noqa: PLC0415

    with pytest.raises(QianfanInvalidRequestError, match="max_connections"):
        _plain(emu, "v2").model_copy(update={"max_connections": value})
