"""Tool exchanges laid out natively or as text so that ERNIE accepts them."""

from __future__ import annotations

from langchain_qianfan_free._tools.history import layout
from langchain_qianfan_free._turns import Turn, WireCall

Q = Turn("user", "q")
C1 = WireCall("c1", "f", {"x": 1})
C2 = WireCall("c2", "g", {})
CALLS = Turn("assistant", "thinking", tool_calls=(C1, C2))
R1 = Turn("tool", "one", "f", tool_call_id="c1")
R2 = Turn("tool", "two", None, tool_call_id="c2", status="error")


def roles(turns: list[Turn]) -> list[str]:
    return [t.role for t in turns]


def test_native_splits_calls_into_pairs_in_call_order() -> None:
    out = layout([Q, CALLS, R2, R1], native=True)  # results may come in any order
    assert roles(out) == ["user", "assistant", "tool", "assistant", "tool"]
    assert out[1].tool_calls == (C1,)
    assert out[1].content == "thinking"
    assert out[3].content == ""
    assert out[4].name == "g"  # named after its call
    assert out[4].status == "error"


def test_native_falls_back_to_text_when_it_cannot_alternate() -> None:
    for turns in (
        [Q, CALLS, R1],  # c2 unanswered
        [Q, CALLS, R1, R2, Turn("user", "next")],  # a user turn follows the results
        [CALLS, R1, R2],  # no user before the calls
        [Q, Turn("tool", "orphan", "f", tool_call_id="zz")],  # a result without its call
    ):
        out = layout(turns, native=True)
        assert "tool" not in roles(out)
        assert not any(t.tool_calls for t in out)


def test_text_layout_writes_blocks() -> None:
    out = layout([Q, CALLS, R1, R2], native=False)
    assert roles(out) == ["user", "assistant", "user"]
    assert out[1].content.startswith("thinking\n<tool_call>")
    assert out[2].content.count("<tool_response>") == 2
    assert '"status": "error"' in out[2].content
