"""LangChain results: usage once, metadata on the last chunk, stops, finish reasons."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._protocols.common import Reply, stamp
from langchain_qianfan_free._results import (
    ResultContext,
    StreamAssembler,
    chat_result,
    finish_reason,
)

CTX = ResultContext("ernie-speed-8k", "v1")
HEADERS = {
    "X-Baidu-Request-Id": "rid",
    "X-Ratelimit-Remaining-Requests": "299",
    "x-ratelimit-limit-tokens": "300000",
    "Content-Type": "text/event-stream",
}
USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


@pytest.mark.parametrize(
    ("raw", "flags", "stopped", "expected"),
    [
        ("normal", {}, False, "stop"),
        ("stop", {}, False, "stop"),
        ("length", {}, False, "length"),
        ("normal", {"is_truncated": True}, False, "length"),
        ("content_filter", {}, False, "content_filter"),
        ("function_call", {}, False, "tool_calls"),
        ("normal", {}, True, "stop"),
        (None, {}, False, None),
    ],
)
def test_finish_reason_mapping(raw, flags, stopped, expected) -> None:
    assert finish_reason(raw, flags, stopped) == expected


def test_invoke_result_metadata() -> None:
    reply = Reply(
        "你好",
        "normal",
        USAGE,
        "as-1",
        None,
        {"is_truncated": False, "need_clear_history": True, "ban_round": -1},
        True,
    )
    message = chat_result(stamp(reply, HEADERS), CTX).generations[0].message
    assert message.content == "你好"
    assert message.usage_metadata == {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}
    meta = message.response_metadata
    assert meta["model_name"] == "ernie-speed-8k"
    assert meta["model_provider"] == "qianfan"
    assert (meta["finish_reason"], meta["qianfan_finish_reason"]) == ("stop", "normal")
    assert (meta["id"], meta["request_id"]) == ("as-1", "rid")
    assert (meta["need_clear_history"], meta["ban_round"], meta["is_truncated"]) == (
        True,
        -1,
        False,
    )
    assert meta["rate_limit"] == {
        "X-Ratelimit-Remaining-Requests": 299,
        "X-Ratelimit-Limit-Tokens": 300000,
    }
    assert message.additional_kwargs == {}


def test_invoke_client_side_stop() -> None:
    reply = Reply("Hello, how are you today?", "normal", USAGE, "as-1", done=True)
    message = chat_result(reply, ResultContext("m", "v2", ("you",))).generations[0].message
    assert message.content == "Hello, how are "
    assert message.response_metadata["finish_reason"] == "stop"


def stream(replies, ctx=CTX):
    assembler = StreamAssembler(ctx)
    chunks = [c for r in replies if (c := assembler.feed(stamp(r, HEADERS))) is not None]
    return [*chunks, assembler.finish()]


def test_stream_usage_once_and_metadata_on_last_chunk() -> None:
    chunks = stream(
        [
            Reply("你", response_id="as-9"),
            Reply("好"),
            Reply("", "normal", USAGE, "as-9", flags={"is_truncated": False}, done=True),
        ]
    )
    assert [c.content for c in chunks] == ["你", "好", ""]
    assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
    assert chunks[-1].chunk_position == "last"
    total = chunks[0] + chunks[1] + chunks[2]
    assert total.content == "你好"
    assert total.usage_metadata["input_tokens"] == 5
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.response_metadata["model_provider"] == "qianfan"
    assert total.response_metadata["id"] == "as-9"
    assert all(c.additional_kwargs == {} for c in chunks)


def test_stream_stop_holds_back_and_cuts() -> None:
    ctx = ResultContext("m", "v2", ("STOP",))
    chunks = stream([Reply("abc ST"), Reply("OP tail"), Reply("", "stop", USAGE, done=True)], ctx)
    assert "".join(c.content for c in chunks) == "abc "
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert chunks[-1].usage_metadata["output_tokens"] == 7


def test_v2_flag_two_means_clear_history() -> None:
    reply = Reply("x", "stop", USAGE, "as-1", "ernie-lite-8k", {"flag": 2}, True)
    meta = chat_result(reply, ResultContext("ernie-speed-8k", "v2")).generations[0].message
    assert meta.response_metadata["need_clear_history"] is True
    assert meta.response_metadata["flag"] == 2
    assert meta.response_metadata["model_name"] == "ernie-lite-8k"
