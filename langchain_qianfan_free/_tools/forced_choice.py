"""A forced ``tool_choice`` is enforced: an answer without the call is asked once more.

When the model answers a forced choice (``"any"``, a tool name) without a valid call,
the chat model sends the conversation again with that answer and a request to make
the call (:func:`ask_again`); a second answer without one raises
:class:`~langchain_qianfan_free.errors.ToolChoiceError`. The usage of both requests is
reported. Imported on the plain chat path: it loads the tool machinery only when a
correction is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_qianfan_free._results import ResultContext, StreamAssembler, add_usage, chat_result
from langchain_qianfan_free.errors import ToolChoiceError

if TYPE_CHECKING:
    from langchain_core.outputs import ChatResult

    from langchain_qianfan_free._protocols.common import Reply

__all__ = ["after_retry", "ask_again", "raise_if_unmet", "unmet"]


def unmet(result: ChatResult, ctx: ResultContext) -> bool:
    """A forced ``tool_choice`` and no valid call in the answer."""
    message = result.generations[0].message
    return bool(ctx.tools and ctx.tools.forced) and not getattr(message, "tool_calls", None)


def ask_again(
    messages: list[BaseMessage], said: ChatResult | AIMessage, ctx: ResultContext
) -> list[BaseMessage]:
    """The conversation with the reply and a request to make the required call."""
    from langchain_qianfan_free._tools.results import correction  # noqa: PLC0415

    reply = said if isinstance(said, AIMessage) else said.generations[0].message
    assert ctx.tools is not None  # noqa: S101 (only called for forced tool_choice)
    shown = [AIMessage(reply.text)] if reply.text.strip() else []
    return [*messages, *shown, HumanMessage(correction(ctx.tools))]


def after_retry(first_usage: dict[str, int] | None, reply: Reply, ctx: ResultContext) -> ChatResult:
    """The retry's result (usage of both requests); raise if it still has no call."""
    reply.usage = add_usage(first_usage, reply.usage)
    result = chat_result(reply, ctx)
    if unmet(result, ctx):
        message = result.generations[0].message
        assert isinstance(message, AIMessage)  # noqa: S101
        raise _choice_error(message, ctx)
    return result


def raise_if_unmet(assembler: StreamAssembler, ctx: ResultContext) -> None:
    """After a stream's corrective retry: raise if it still has no call."""
    if assembler.violated():
        raise _choice_error(AIMessage(assembler.finish().text), ctx)


def _choice_error(message: AIMessage, ctx: ResultContext) -> ToolChoiceError:
    assert ctx.tools is not None  # noqa: S101
    forced = ctx.tools.forced
    wanted = f"a call of {forced}" if isinstance(forced, str) else "a tool call"
    return ToolChoiceError(
        f"tool_choice requires {wanted}, and the model answered without one twice. Try a "
        "clearer prompt, a larger model, or tool_choice='auto' to accept text answers.",
        message,
    )
