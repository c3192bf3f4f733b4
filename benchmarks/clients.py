"""The clients the benchmark compares, behind one small interface.

Every client does the same thing: send one chat request (``ernie-speed-8k``, one user
message) to the emulator and return the reply text, or stream it and yield the text
pieces. The raw floors speak the wire format by hand with a pooled ``requests.Session``
or ``aiohttp.ClientSession``, the way a hand-written client would (one JSON encode, one
JSON decode, no checks); LangChain's own fake chat model does no I/O at all and shows
what LangChain itself costs per call and per chunk.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MODEL = "ernie-speed-8k"
V1_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie_speed"
V2_PATH = "/v2/chat/completions"


@dataclass(frozen=True)
class Endpoint:
    """Where a benchmark server listens, and its credentials."""

    url: str
    api_key: str
    ak: str
    sk: str

    @classmethod
    def from_hello(cls, hello: dict[str, str]) -> Endpoint:
        return cls(hello["url"], hello["api_key"], hello["ak"], hello["sk"])


@dataclass
class Client:
    """One client under test. Each callable is ``None`` when the client lacks that mode.

    ``invoke``/``ainvoke`` take a prompt and return the reply text; ``stream``/``astream``
    take a prompt and yield text pieces. ``close``/``aclose`` release connections.
    """

    name: str
    protocol: str  # "v1", "v2" or "" (no I/O)
    invoke: Callable[[str], str] | None = None
    ainvoke: Callable[[str], Awaitable[str]] | None = None
    stream: Callable[[str], Iterator[str]] | None = None
    astream: Callable[[str], AsyncIterator[str]] | None = None
    close: Callable[[], None] = lambda: None
    aclose: Callable[[], Awaitable[None]] | None = None
    floor: bool = False  # a raw floor, not a chat model
    extra: dict[str, Any] = field(default_factory=dict)


# -- the raw floors -----------------------------------------------------------------------


def _body(prompt: str, *, v2: bool, stream: bool) -> bytes:
    """The body ChatQianfan sends for the same prompt: the floors do the same POST.

    That includes ``"stream": false`` on plain calls. A v2 stream asks for usage
    (``stream_options.include_usage``), as ChatQianfan does to report
    ``usage_metadata``; the server then sends one more event, with the usage.
    """
    message = {"messages": [{"role": "user", "content": prompt}]}
    body: dict[str, Any] = {"model": MODEL, **message} if v2 else message
    body["stream"] = stream
    if stream and v2:
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, ensure_ascii=False).encode()


def _text(answer: dict[str, Any], *, v2: bool) -> str:
    if v2:
        return str(answer["choices"][0]["message"]["content"])
    return str(answer["result"])


def _piece(line: bytes, *, v2: bool) -> str | None:
    """The text of one SSE line; ``None`` for lines that carry none."""
    if not line.startswith(b"data:"):
        return None
    data = line[5:].strip()
    if data == b"[DONE]":
        return None
    event = json.loads(data)
    if v2:
        choices = event.get("choices") or [{}]
        return str(choices[0].get("delta", {}).get("content") or "")
    return str(event.get("result") or "")


def v1_token(endpoint: Endpoint) -> str:
    """Fetch a v1 access token once (not timed: the floors reuse it)."""
    import requests  # noqa: PLC0415

    answer = requests.post(
        endpoint.url + "/oauth/2.0/token",
        params={
            "grant_type": "client_credentials",
            "client_id": endpoint.ak,
            "client_secret": endpoint.sk,
        },
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _raw_target(endpoint: Endpoint, protocol: str, token: str | None) -> tuple[str, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if protocol == "v2":
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
        return endpoint.url + V2_PATH, headers
    return f"{endpoint.url}{V1_PATH}?access_token={token}", headers


def raw_requests(endpoint: Endpoint, protocol: str, token: str | None = None) -> Client:
    """A pooled ``requests.Session`` posting the request by hand: the sync floor."""
    import requests  # noqa: PLC0415

    session = requests.Session()
    url, headers = _raw_target(endpoint, protocol, token)
    v2 = protocol == "v2"

    def invoke(prompt: str) -> str:
        answer = session.post(url, data=_body(prompt, v2=v2, stream=False), headers=headers)
        return _text(answer.json(), v2=v2)

    def stream(prompt: str) -> Iterator[str]:
        body = _body(prompt, v2=v2, stream=True)
        with session.post(url, data=body, headers=headers, stream=True) as answer:
            for line in answer.iter_lines():
                piece = _piece(line, v2=v2)
                if piece:
                    yield piece

    return Client(
        f"raw requests ({protocol})",
        protocol,
        invoke=invoke,
        stream=stream,
        close=session.close,
        floor=True,
    )


def raw_aiohttp(endpoint: Endpoint, protocol: str, token: str | None = None) -> Client:
    """One ``aiohttp.ClientSession`` (its defaults) posting by hand: the async floor.

    The session is created on first use, inside the running event loop.
    """
    import aiohttp  # noqa: PLC0415

    url, headers = _raw_target(endpoint, protocol, token)
    v2 = protocol == "v2"
    holder: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        if not holder:
            holder.append(aiohttp.ClientSession())
        return holder[0]

    async def ainvoke(prompt: str) -> str:
        body = _body(prompt, v2=v2, stream=False)
        async with session().post(url, data=body, headers=headers) as answer:
            return _text(await answer.json(), v2=v2)

    async def astream(prompt: str) -> AsyncIterator[str]:
        body = _body(prompt, v2=v2, stream=True)
        async with session().post(url, data=body, headers=headers) as answer:
            async for line in answer.content:
                piece = _piece(line, v2=v2)
                if piece:
                    yield piece

    async def aclose() -> None:
        if holder:
            await holder.pop().close()

    return Client(
        f"raw aiohttp ({protocol})",
        protocol,
        ainvoke=ainvoke,
        astream=astream,
        aclose=aclose,
        floor=True,
    )


# -- chat models --------------------------------------------------------------------------


def from_chat_model(name: str, protocol: str, model: Any) -> Client:
    """Wrap any LangChain chat model: ``invoke``/``ainvoke``/``stream``/``astream``."""

    def invoke(prompt: str) -> str:
        return str(model.invoke(prompt).content)

    async def ainvoke(prompt: str) -> str:
        return str((await model.ainvoke(prompt)).content)

    def stream(prompt: str) -> Iterator[str]:
        for chunk in model.stream(prompt):
            if chunk.content:
                yield str(chunk.content)

    async def astream(prompt: str) -> AsyncIterator[str]:
        async for chunk in model.astream(prompt):
            if chunk.content:
                yield str(chunk.content)

    close = getattr(model, "close", None)
    aclose = getattr(model, "aclose", None)
    return Client(
        name,
        protocol,
        invoke=invoke,
        ainvoke=ainvoke,
        stream=stream,
        astream=astream,
        close=close if callable(close) else (lambda: None),
        aclose=aclose if callable(aclose) else None,
    )


def minimal_provider(endpoint: Endpoint) -> Client:
    """The least a LangChain provider can be: a ``BaseChatModel`` around the raw POST.

    Not a floor the targets use; it shows what LangChain itself costs around real I/O
    (callbacks, run managers, messages), per call and in memory, for any provider.
    """
    from langchain_core.language_models import BaseChatModel  # noqa: PLC0415
    from langchain_core.messages import AIMessage, AIMessageChunk  # noqa: PLC0415
    from langchain_core.outputs import (  # noqa: PLC0415
        ChatGeneration,
        ChatGenerationChunk,
        ChatResult,
    )

    sync, asyn = raw_requests(endpoint, "v2"), raw_aiohttp(endpoint, "v2")
    assert sync.invoke and sync.stream and asyn.ainvoke and asyn.astream

    def result(text: str) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    class Minimal(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "minimal"

        def _generate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            return result(sync.invoke(str(messages[-1].content)))  # type: ignore[misc]

        async def _agenerate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            return result(await asyn.ainvoke(str(messages[-1].content)))  # type: ignore[misc]

        def _stream(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> Iterator[ChatGenerationChunk]:
            for piece in sync.stream(str(messages[-1].content)):  # type: ignore[misc]
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

        async def _astream(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> AsyncIterator[ChatGenerationChunk]:
            async for piece in asyn.astream(str(messages[-1].content)):  # type: ignore[misc]
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    client = from_chat_model(MINIMAL, "v2", Minimal())
    client.close, client.aclose = sync.close, asyn.aclose
    return client


MINIMAL = "LangChain minimal provider (v2)"


def fake_model(stream_chars: int) -> Client:
    """LangChain's own ``FakeListChatModel``: no I/O, one chunk per character streamed."""
    from langchain_core.language_models.fake_chat_models import (  # noqa: PLC0415
        FakeListChatModel,
    )

    model = FakeListChatModel(responses=["x" * stream_chars])
    return from_chat_model("LangChain fake model (no I/O)", "", model)


def qianfan(endpoint: Endpoint, protocol: str) -> Client:
    """``ChatQianfan`` on v2 (API key) or v1 (API Key / Secret Key, access token)."""
    from langchain_qianfan_free import ChatQianfan  # noqa: PLC0415

    if protocol == "v2":
        model = ChatQianfan(model=MODEL, base_url=endpoint.url, api_key=endpoint.api_key)
    else:
        model = ChatQianfan(
            model=MODEL, base_url=endpoint.url, qianfan_ak=endpoint.ak, qianfan_sk=endpoint.sk
        )
    return from_chat_model(f"ChatQianfan ({protocol})", protocol, model)


#: The clients every run measures (the floors and ChatQianfan), by name; the fake model
#: and the peers are added by the runner.
OURS: dict[str, Callable[[Endpoint], Client]] = {
    "raw requests (v2)": lambda e: raw_requests(e, "v2"),
    "raw aiohttp (v2)": lambda e: raw_aiohttp(e, "v2"),
    "raw requests (v1)": lambda e: raw_requests(e, "v1", v1_token(e)),
    "raw aiohttp (v1)": lambda e: raw_aiohttp(e, "v1", v1_token(e)),
    "ChatQianfan (v2)": lambda e: qianfan(e, "v2"),
    "ChatQianfan (v1)": lambda e: qianfan(e, "v1"),
    MINIMAL: minimal_provider,
}


def build(name: str, endpoint: Endpoint) -> Client:
    """Build the client called ``name`` (one of :data:`OURS`, or a peer's name)."""
    if name in OURS:
        return OURS[name](endpoint)
    from benchmarks.peers import peer  # noqa: PLC0415

    return peer(name, endpoint)
