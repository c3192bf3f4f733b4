"""Property: decoding a stream does not depend on how its bytes were cut into chunks.

Three levels: the push decoder (``SSEDecoder``) on generated SSE text, with LF, CR or
CRLF line endings, comments, ``event:``/``id:``/``retry:`` lines, extra blank lines,
multi-line data, UTF-8 characters of up to four bytes and v1's bare JSON error lines;
``EventReader`` with each protocol's parser on realistic v1 and v2 streams (including
mid-stream errors and ``[DONE]``); and the real client, sync and async, reading a
stream that a raw loopback server sends in chunks of hypothesis' choosing.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import socketserver
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessageChunk

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._auth.token_cache import TOKEN_CACHE
from langchain_qianfan_free._protocols import v1 as protocol_v1
from langchain_qianfan_free._protocols import v2 as protocol_v2
from langchain_qianfan_free._protocols.common import EventReader, Reply, ReplyParser
from langchain_qianfan_free._protocols.sse import SSEDecoder
from langchain_qianfan_free.errors import QianfanError

from .conftest import call

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # write nothing into the tree; a failure prints its minimal example
    # conftest's autouse fixture is function-scoped; it only clears environment
    # variables, which no example changes.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
LINE_ENDS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n"}

# -- splitting ----------------------------------------------------------------------------


def pieces(raw: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``raw`` cut at the given offsets (any order, repeats allowed: empty chunks)."""
    bounds = [0, *sorted(min(max(c, 0), len(raw)) for c in cuts), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


def decode(chunks: Sequence[bytes]) -> list[str]:
    decoder = SSEDecoder()
    out = [payload for chunk in chunks for payload in decoder.feed(chunk)]
    return out + decoder.close()


def every_split(raw: bytes, *, pairs: bool = False) -> Iterator[list[bytes]]:
    """Every single cut; with ``pairs``, every two cuts too (quadratic: small input only)."""
    for a in range(len(raw) + 1):
        yield pieces(raw, [a])
        if pairs:
            for b in range(a, len(raw) + 1):
                yield pieces(raw, [a, b])


def byte_splits(raw: bytes) -> st.SearchStrategy[list[bytes]]:
    """Random multi-splits, one-byte chunks included."""
    return st.one_of(
        st.lists(st.integers(0, len(raw)), max_size=12).map(lambda cuts: pieces(raw, cuts)),
        st.just([raw[i : i + 1] for i in range(len(raw))]),
    )


# -- generated SSE text -------------------------------------------------------------------

# Data values: no CR/LF (they end lines), but everything else, including U+2028, NEL,
# other C0 controls, CJK (3 bytes), emoji (4 bytes) and lone high code points.
VALUE_CHARS = st.characters(exclude_characters="\r\n", exclude_categories=["Cs"])
VALUES = st.one_of(
    st.sampled_from(['{"result":"你好"}', "[DONE]", "🙂🙂", "a\u2028b\u0085c", "data: x", ": x"]),
    st.text(VALUE_CHARS, min_size=1, max_size=10),
)
IGNORED = st.sampled_from(
    [": keep-alive", ":", ": 注释 🙂", "event: message", "id: 7", "retry: 3000"]
)
BARE = st.sampled_from(
    [
        '{"error_code":336100,"error_msg":"try again later","id":"as-1"}',
        '{"error_code":18,"error_msg":"Open api qps request limit reached"}',
    ]
)


@dataclass
class SseText:
    """SSE lines (without line ends) and the payloads they carry, in order."""

    lines: list[str] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)

    def encode(self, end: str, *, final_end: bool) -> bytes:
        text = end.join(self.lines) + (end if final_end and self.lines else "")
        return text.encode()


@st.composite
def sse_texts(draw: st.DrawFn, max_events: int = 5) -> SseText:
    out = SseText()
    for _ in range(draw(st.integers(0, max_events))):
        kind = draw(st.sampled_from(["data", "data", "ignored", "bare", "blank"]))
        if kind == "data":
            values = draw(st.lists(VALUES, min_size=1, max_size=3))
            for value in values:
                out.lines.extend(draw(st.lists(IGNORED, max_size=1)))
                # "data:x" and "data: x" both carry x; a value starting with a space
                # needs the separating space.
                spaced = value.startswith(" ") or draw(st.booleans())
                out.lines.append(f"data:{' ' if spaced else ''}{value}")
            out.lines.append("")
            out.payloads.append("\n".join(values))
        elif kind == "ignored":
            out.lines.append(draw(IGNORED))
        elif kind == "bare":
            out.lines.append(draw(BARE))
            out.payloads.append(out.lines[-1])
        else:
            out.lines.append("")
    return out


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """Bytes of a generated stream with one line-end style, and its payloads."""
    text = draw(sse_texts())
    end = LINE_ENDS[draw(st.sampled_from(list(LINE_ENDS)))]
    # Without a final line end, the last event is still flushed by close().
    raw = text.encode(end, final_end=draw(st.booleans()))
    return raw, text.payloads


# -- SSEDecoder ---------------------------------------------------------------------------


@SETTINGS
@given(stream=sse_streams())
def test_decoder_gives_the_payloads_for_every_single_split(stream: tuple[bytes, list[str]]) -> None:
    raw, payloads = stream
    for chunks in every_split(raw):
        assert decode(chunks) == payloads, chunks


@SETTINGS
@given(data=st.data(), stream=sse_streams())
def test_decoder_gives_the_payloads_for_random_multi_splits(
    data: st.DataObject, stream: tuple[bytes, list[str]]
) -> None:
    raw, payloads = stream
    assert decode(data.draw(byte_splits(raw))) == payloads


SSE_BYTES = st.lists(
    st.sampled_from(
        [
            *(b"data:", b"data: ", b": c", b"event: e", b"\r", b"\n", b"\r\n", b"{}", b" "),
            *("你".encode(), "🙂".encode(), b"\xe4", b"\xbd", b"\xff", b"\xf0\x9f"),
        ]
    ),
    max_size=30,
).map(b"".join)


@SETTINGS
@given(data=st.data(), raw=st.one_of(SSE_BYTES, st.binary(max_size=64)))
def test_decoder_output_on_any_bytes_does_not_depend_on_the_split(
    data: st.DataObject, raw: bytes
) -> None:
    # Even invalid UTF-8 and stray CRs decode the same however the bytes arrive.
    whole = decode([raw])
    assert decode(data.draw(byte_splits(raw))) == whole
    for chunks in every_split(raw):
        assert decode(chunks) == whole, chunks


SMALL_STREAMS = {
    "lf": ('data: {"a":"你"}\n\n: c\nevent: e\ndata: [DONE]\n\n', ['{"a":"你"}', "[DONE]"]),
    "cr": ('data: {"a":"🙂"}\r\rdata:x\rdata:y\r\r', ['{"a":"🙂"}', "x\ny"]),
    "crlf": ('data: {"a":1}\r\n\r\n\r\ndata: [DONE]\r\n\r\n', ['{"a":1}', "[DONE]"]),
    "v1-error": (
        'data: {"result":"好"}\n\n{"error_code":336100,"error_msg":"x"}\n',
        ['{"result":"好"}', '{"error_code":336100,"error_msg":"x"}'],
    ),
    "no-final-blank": ('data: {"is_end":true}\r', ['{"is_end":true}']),
}


@pytest.mark.parametrize("name", list(SMALL_STREAMS))
def test_small_streams_decode_alike_for_every_pair_of_cuts(name: str) -> None:
    text, payloads = SMALL_STREAMS[name]
    raw = text.encode()
    for chunks in every_split(raw, pairs=True):
        assert decode(chunks) == payloads, chunks


# -- EventReader with the protocol parsers ------------------------------------------------

USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
TEXT_PIECES = st.lists(st.text(max_size=6), min_size=1, max_size=4)


def v1_events(texts: list[str]) -> list[str]:
    events = [
        {
            "id": "as-1",
            "object": "chat.completion",
            "sentence_id": i,
            "is_end": False,
            "result": text,
            "usage": {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3},
        }
        for i, text in enumerate(texts)
    ]
    final = {"id": "as-1", "sentence_id": len(texts), "is_end": True, "result": ""}
    final |= {"finish_reason": "normal", "is_truncated": False, "usage": USAGE}
    return [json.dumps(e, ensure_ascii=False) for e in [*events, final]]


def v2_events(texts: list[str]) -> list[str]:
    head = {"id": "as-2", "object": "chat.completion.chunk", "model": "ernie-speed-8k"}
    events: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        delta = {"role": "assistant", "content": text} if i == 0 else {"content": text}
        finish = "stop" if i == len(texts) - 1 else None
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "flag": 0}
        events.append({**head, "choices": [choice], "usage": None})
    events.append({**head, "choices": [], "usage": USAGE})
    return [*(json.dumps(e, ensure_ascii=False) for e in events), "[DONE]"]


V1_ERROR = '{"error_code":336100,"error_msg":"内部错误，请稍后重试","id":"as-1"}'
V2_ERROR = '{"error":{"code":"internal_error","message":"内部错误","type":"Internal_error"}}'


@st.composite
def protocol_streams(draw: st.DrawFn, version: str) -> tuple[bytes, list[str]]:
    """A stream as the server would send it (maybe failing midway), and its texts."""
    texts = draw(TEXT_PIECES)
    events = v1_events(texts) if version == "v1" else v2_events(texts)
    fail_at = draw(st.one_of(st.none(), st.integers(0, len(events) - 1)))
    lines: list[str] = []
    for index, event in enumerate(events):
        lines.extend(draw(st.lists(IGNORED, max_size=1)))
        if index == fail_at:
            # v1 sends a bare JSON line (then one line end); v2 a data event.
            lines.extend([V1_ERROR] if version == "v1" else [f"data: {V2_ERROR}", ""])
            break
        lines.extend([f"data: {event}", ""])
    end = LINE_ENDS[draw(st.sampled_from(list(LINE_ENDS)))]
    return (end.join(lines) + end).encode(), texts


PARSERS: dict[str, ReplyParser] = {"v1": protocol_v1, "v2": protocol_v2}
HEADERS = {"Content-Type": "text/event-stream", "X-Baidu-Request-Id": "req-1"}


def read(version: str, chunks: Sequence[bytes]) -> tuple[list[Reply], str | None]:
    """Replies in order, then the error that stopped the stream (type and text)."""
    reader = EventReader(PARSERS[version], HEADERS)
    replies: list[Reply] = []
    try:
        for chunk in chunks:
            replies.extend(reader.feed(chunk))
        replies.extend(reader.close())
    except QianfanError as error:
        return replies, f"{type(error).__name__}: {error}"
    return replies, None


def check_reader(version: str, raw: bytes, texts: list[str], splits: Iterator[list[bytes]]) -> None:
    whole = read(version, [raw])
    replies, error = whole
    if error is None:  # the unsplit answer is right to begin with
        assert "".join(r.text for r in replies) == "".join(texts)
        assert [r.usage for r in replies if r.usage] == [USAGE]
        assert replies[-1].done
    else:  # the text before the error, then the error
        assert "".join(texts).startswith("".join(r.text for r in replies))
        assert "336100" in error or "internal_error" in error
    for chunks in splits:
        assert read(version, chunks) == whole, chunks


@pytest.mark.parametrize("version", ["v1", "v2"])
@settings(SETTINGS, max_examples=40)  # each example decodes its stream ~1000 times
@given(data=st.data())
def test_event_reader_answers_alike_for_every_split(data: st.DataObject, version: str) -> None:
    raw, texts = data.draw(protocol_streams(version))
    check_reader(version, raw, texts, every_split(raw))
    check_reader(version, raw, texts, iter([data.draw(byte_splits(raw))]))


# -- the client over HTTP -----------------------------------------------------------------


_yield_cpu = getattr(os, "sched_yield", lambda: None)


class _Handler(socketserver.StreamRequestHandler):
    """One request: read it, answer a token request or stream ``server.chunks``."""

    server: ChunkServer

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1")
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        path = request_line.split()[1]
        self.server.requests.append((path.split("?")[0], self.rfile.read(length)))
        if path.startswith("/oauth/2.0/token"):
            token = {"access_token": "24.abc.2592000.1.1-1", "expires_in": 2592000}
            self.answer("application/json", [json.dumps(token).encode()])
        else:
            self.answer("text/event-stream", self.server.chunks)

    def answer(self, content_type: str, chunks: Sequence[bytes]) -> None:
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        self.wfile.write(head.encode())  # unbuffered: each write is one sendall
        for chunk in filter(None, chunks):  # an empty HTTP chunk would end the body
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            # requests yields each HTTP chunk as it is; aiohttp reads what has arrived,
            # so let its event loop run between chunks (best effort, no waiting).
            _yield_cpu()
        self.wfile.write(b"0\r\n\r\n")


class ChunkServer(socketserver.ThreadingTCPServer):
    """A raw HTTP/1.1 server on 127.0.0.1 that sends its body in the chunks it is given.

    The body goes out with ``Transfer-Encoding: chunked``, one HTTP chunk per piece,
    each in its own ``sendall`` with ``TCP_NODELAY``. (A body delimited by
    ``Content-Length`` or by closing would not do: requests' ``iter_content(None)``
    then reads it whole before yielding anything.)
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.chunks: list[bytes] = []
        self.requests: list[tuple[str, bytes]] = []  # path, body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def chunk_server() -> Iterator[ChunkServer]:
    TOKEN_CACHE.clear()
    server = ChunkServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        TOKEN_CACHE.clear()


def client(server: ChunkServer, version: str) -> ChatQianfan:
    if version == "v1":
        creds: dict[str, Any] = {"qianfan_ak": "ak", "qianfan_sk": "sk"}
    else:
        creds = {"api_key": "k"}
    return ChatQianfan(base_url=server.url, api_version=version, max_retries=0, **creds)


CHAT_PATHS = {"v1": protocol_v1.CHAT_PATH + "ernie_speed", "v2": protocol_v2.CHAT_PATH}


@st.composite
def http_streams(draw: st.DrawFn, version: str) -> tuple[bytes, list[str]]:
    texts = draw(TEXT_PIECES)
    lines: list[str] = []
    for event in v1_events(texts) if version == "v1" else v2_events(texts):
        lines.extend([*draw(st.lists(IGNORED, max_size=1)), f"data: {event}", ""])
    end = LINE_ENDS[draw(st.sampled_from(list(LINE_ENDS)))]
    return (end.join(lines) + end).encode(), texts


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize("version", ["v1", "v2"])
@settings(SETTINGS, max_examples=50)
@given(data=st.data())
def test_client_streams_alike_however_the_server_cuts_the_body(
    chunk_server: ChunkServer, data: st.DataObject, version: str, mode: str
) -> None:
    raw, texts = data.draw(http_streams(version))
    model = client(chunk_server, version)
    chunk_server.chunks = [raw]
    unsplit, _ = call(model, mode, "你好")
    chunk_server.chunks = data.draw(byte_splits(raw))
    chunk_server.requests.clear()
    message, chunks = call(model, mode, "你好")
    assert isinstance(message, AIMessageChunk)
    assert isinstance(unsplit, AIMessageChunk)
    assert message.text == unsplit.text == "".join(texts)
    assert message.usage_metadata == unsplit.usage_metadata
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == USAGE["prompt_tokens"]
    assert message.usage_metadata["output_tokens"] == USAGE["completion_tokens"]
    assert message.usage_metadata["total_tokens"] == USAGE["total_tokens"]
    assert message.response_metadata["finish_reason"] == unsplit.response_metadata["finish_reason"]
    assert [c for c in chunks if c.usage_metadata] == [chunks[-1]]
    (request,) = chunk_server.requests  # the v1 token is cached by then
    path, body = request
    assert path == CHAT_PATHS[version]
    assert json.loads(body)["stream"] is True
