"""Shared helpers: a ChatQianfan wired to the emulator, for either protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._auth.token_cache import TOKEN_CACHE


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real credentials from the environment."""
    for name in (
        "QIANFAN_API_KEY",
        "QIANFAN_BEARER_TOKEN",
        "QIANFAN_AK",
        "QIANFAN_SK",
        "QIANFAN_APP_ID",
        "QIANFAN_BASE_URL",
        "QIANFAN_ACCESS_KEY",
        "QIANFAN_SECRET_KEY",
        "QIANFAN_IAM_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh_tokens() -> None:
    """Start without cached tokens (the cache is process-wide by design)."""
    TOKEN_CACHE.clear()


def accept(auth: Any, status: int, body: bytes, sent: float | None = None) -> str:
    """Read a token answer and store its token, as a fetch does; return the token.

    ``sent`` (default ``auth.clock()``) is when the token request went out.
    """
    sent = auth.clock() if sent is None else sent
    return auth.cache.store(auth, auth.read_answer(status, body, sent), sent)


def cached(auth: Any) -> str | None:
    """``auth``'s cached token, still good to use at ``auth.clock()``, or ``None``."""
    token = auth.cache.get(auth.key, auth.clock())
    return token.value if token else None


def make_model(emu: Any, protocol: str, **kwargs: Any) -> ChatQianfan:
    """A model pointed at the emulator with valid credentials for ``protocol``.

    Its backoff waits are recorded, not slept (see :func:`record_sleeps`).
    """
    if protocol == "v1":
        creds: dict[str, Any] = {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
    else:
        creds = {"api_key": emu.api_key}
    model = ChatQianfan(base_url=emu.url, api_version=protocol, **{**creds, **kwargs})
    record_sleeps(model)
    return model


def call(
    model: ChatQianfan, mode: str, messages: Any, **kwargs: Any
) -> tuple[BaseMessage, list[AIMessageChunk]]:
    """invoke / ainvoke / stream / astream: the message (streams aggregated) and chunks."""
    if mode == "invoke":
        return model.invoke(messages, **kwargs), []
    if mode == "ainvoke":
        return asyncio.run(model.ainvoke(messages, **kwargs)), []
    if mode == "stream":
        chunks = list(model.stream(messages, **kwargs))
    else:

        async def collect() -> list[AIMessageChunk]:
            return [c async for c in model.astream(messages, **kwargs)]

        chunks = asyncio.run(collect())
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total, chunks


MODES = ["invoke", "ainvoke", "stream", "astream"]
PROTOCOLS = ["v1", "v2"]


def record_sleeps(model: Any) -> list[float]:
    """Make ``model`` record its backoff waits instead of sleeping; return the record.

    Retry tests then run at once, and can check the waits themselves.
    """
    from langchain_qianfan_free._transport.aio import AsyncTransport  # noqa: PLC0415
    from langchain_qianfan_free._transport.sync import SyncTransport  # noqa: PLC0415

    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    model._sync = SyncTransport(sleep=waits.append)
    model._async = AsyncTransport(sleep=asleep)
    return waits
