"""Tool exchanges in history, laid out so that ERNIE accepts them.

An exchange is an assistant turn with tool calls and the tool results after it.
ERNIE wants strict alternation (reference §2.2; v2 unconfirmed, §10.8), one call per
assistant message on v1 (§2.3) and a name on every v1 function message. So:

* **native**: an exchange becomes one assistant message per call, each followed by
  its result (``assistant(call 1), tool(result 1), assistant(call 2), tool(result 2)``),
  which alternates on both protocols and round-trips several calls in one turn. This
  needs every call answered by exactly one result, a user turn before the exchange,
  and the assistant (or nothing) after it.
* **text** (prompt mode, and any exchange native messages cannot express): the calls
  are written into the assistant's text as ``<tool_call>`` blocks and the results
  become a user turn of ``<tool_response>`` blocks, which then merges with a user
  message that follows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from langchain_qianfan_free._tools.prompt import ToolResult, render_calls, render_results
from langchain_qianfan_free._turns import Turn

__all__ = ["layout"]


def layout(turns: Sequence[Turn], *, native: bool) -> list[Turn]:
    """The turns with every tool exchange laid out natively or as text.

    Args:
        turns: Converted turns (assistant turns may carry calls; ``tool`` turns are
            results).
        native: Use the protocol's tool messages where the exchange allows it.

    Returns:
        Turns in which, without ``native``, no ``tool`` role or call remains.
    """
    out: list[Turn] = []
    i = 0
    while i < len(turns):
        turn = turns[i]
        if turn.role == "assistant" and turn.tool_calls:
            j = i + 1
            while j < len(turns) and turns[j].role == "tool":
                j += 1
            results = list(turns[i + 1 : j])
            after = turns[j] if j < len(turns) else None
            paired = _pair(turn, results) if native else None
            user_before = any(t.role == "user" for t in turns[:i])
            if paired is not None and user_before and (after is None or after.role == "assistant"):
                out.extend(_native(turn, paired))
            else:
                out.extend(_as_text(turn, results))
            i = j
        elif turn.role == "tool":
            j = i
            while j < len(turns) and turns[j].role == "tool":
                j += 1
            out.extend(_as_text(None, list(turns[i:j])))  # results without their calls
            i = j
        else:
            out.append(turn)
            i += 1
    return out


def _pair(call_turn: Turn, results: list[Turn]) -> list[Turn] | None:
    """Results in call order, named after their calls; ``None`` if not one-to-one."""
    remaining = list(results)
    ordered: list[Turn] = []
    for call in call_turn.tool_calls:
        if not (call.name.strip() and call.id.strip()):
            return None  # ERNIE rejects blank names and ids in tool messages
        match = next((r for r in remaining if r.tool_call_id == call.id), None)
        if match is None:  # a FunctionMessage answers by name
            match = next(
                (r for r in remaining if r.tool_call_id is None and r.name == call.name), None
            )
        if match is None:
            return None
        remaining.remove(match)
        ordered.append(replace(match, name=call.name, tool_call_id=call.id))
    return None if remaining else ordered


def _native(call_turn: Turn, results: list[Turn]) -> Iterator[Turn]:
    for n, (call, result) in enumerate(zip(call_turn.tool_calls, results, strict=True)):
        yield Turn("assistant", call_turn.content if n == 0 else "", tool_calls=(call,))
        yield result


def _as_text(call_turn: Turn | None, results: list[Turn]) -> Iterator[Turn]:
    if call_turn is not None:
        calls = render_calls([(call.name, call.args) for call in call_turn.tool_calls])
        text = "\n".join(part for part in (call_turn.content.strip(), calls) if part)
        yield Turn("assistant", text)
    if results:
        shown = [ToolResult(r.name, r.tool_call_id, r.content, r.status) for r in results]
        yield Turn("user", render_results(shown))
