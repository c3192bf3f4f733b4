"""Turn parsed Qianfan replies into LangChain results: messages, chunks, metadata.

Rules that LangChain users rely on:

* ``usage_metadata`` comes from the final answer only and appears on exactly one
  streamed chunk (the last), so aggregating a stream counts tokens once.
* ``response_metadata`` is complete on the last chunk and holds no key twice across
  chunks (string values would be concatenated when chunks are added), and
  ``additional_kwargs`` stays empty (numbers there break chunk merging).
* ``finish_reason`` is LangChain's usual value (``stop``, ``length``,
  ``content_filter``, ``tool_calls``); Qianfan's raw value is kept as
  ``qianfan_finish_reason``.
* Stop sequences are enforced here too, and the stop text is never returned.
* With tools, the calls (native, or parsed from prompt-mode text) become
  ``tool_calls`` checked against the tool schemas; when streaming they arrive on the
  last chunk as ``tool_call_chunks``, and prompt-mode text is held back only where it
  may start a call (:class:`~langchain_qianfan_free._tools.results.TextGate`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_qianfan_free._protocols.common import ApiVersion, RawCall, Reply
from langchain_qianfan_free._stops import StopScanner, cut_at_stop
from langchain_qianfan_free._tools import ToolOutcome, ToolSetup

if TYPE_CHECKING:
    from langchain_qianfan_free._tools.results import TextGate

# The tool machinery (tool_results and what it needs) is imported only when a request
# has tools: a plain chat never loads it, which keeps import time and memory down.

__all__ = [
    "PROVIDER",
    "ResultContext",
    "StreamAssembler",
    "add_usage",
    "aemit",
    "chat_result",
    "emit",
    "finish_reason",
    "usage_metadata",
]

PROVIDER = "qianfan"

_FINISH = {
    "normal": "stop",
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
    "tool_calls": "tool_calls",
}


@dataclass(frozen=True)
class ResultContext:
    """What result assembly needs to know about the request.

    Attributes:
        model_name: The model's canonical id, reported when the answer names none.
        api_version: ``"v1"`` or ``"v2"``.
        stops: Stop sequences the client enforces.
        tools: The request's tools, if any.
    """

    model_name: str
    api_version: ApiVersion
    stops: tuple[str, ...] = ()
    tools: ToolSetup | None = None


def finish_reason(raw: str | None, flags: Mapping[str, Any], stopped: bool) -> str | None:
    """LangChain's finish reason for Qianfan's raw one (and client-side stops)."""
    if stopped:
        return "stop"
    if flags.get("is_truncated"):
        return "length"
    if raw is None:
        return None
    return _FINISH.get(raw, raw)


def usage_metadata(usage: Mapping[str, int] | None) -> UsageMetadata | None:
    """LangChain usage from Qianfan's ``usage`` object."""
    if not usage:
        return None
    prompt = int(usage.get("prompt_tokens", 0))
    completion = int(usage.get("completion_tokens", 0))
    total = int(usage.get("total_tokens", prompt + completion))
    return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=total)


def add_usage(
    first: Mapping[str, int] | None, second: Mapping[str, int] | None
) -> dict[str, int] | None:
    """Qianfan ``usage`` of two requests together (a corrective retry counts too)."""
    if not first or not second:
        return dict(first or second or {}) or None
    return {key: first.get(key, 0) + second.get(key, 0) for key in {*first, *second}}


def chat_result(reply: Reply, ctx: ResultContext) -> ChatResult:
    """Build the ``ChatResult`` of a non-streaming call."""
    text, stopped = cut_at_stop(reply.text, ctx.stops) if ctx.stops else (reply.text, False)
    complete = not stopped and finish_reason(reply.finish_reason, reply.flags, False) != "length"
    if ctx.tools:
        from langchain_qianfan_free._tools.results import resolve_calls  # noqa: PLC0415

        outcome = resolve_calls(text, reply.tool_calls, ctx.tools, complete=complete)
    else:
        outcome = ToolOutcome(text)
    metadata = _metadata(reply, ctx, stopped, bool(outcome.tool_calls))
    usage = usage_metadata(reply.usage)
    calls: dict[str, Any] = {}  # only when there are some: empty lists cost a validation
    if outcome.tool_calls:
        calls["tool_calls"] = outcome.tool_calls
    if outcome.invalid_tool_calls:
        calls["invalid_tool_calls"] = outcome.invalid_tool_calls
    message = AIMessage(
        content=outcome.text,
        id=reply.response_id,
        usage_metadata=usage,
        response_metadata=metadata,
        **calls,
    )
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"token_usage": dict(reply.usage or {}), "model_name": metadata["model_name"]},
    )


class StreamAssembler:
    """Turn stream events into chunks; the last chunk carries usage and metadata."""

    def __init__(self, ctx: ResultContext) -> None:
        self._ctx = ctx
        self._scanner = StopScanner(ctx.stops)
        self._final = Reply()
        self._pieces: list[RawCall] = []
        self._outcome: ToolOutcome | None = None
        tools = ctx.tools
        gated = tools is not None and tools.enabled and (not tools.native or bool(tools.forced))
        self._gate: TextGate | None = None
        if tools and gated:
            from langchain_qianfan_free._tools.results import TextGate  # noqa: PLC0415

            self._gate = TextGate(tuple(tools.schemas), hold_all=bool(tools.forced))

    def feed(self, reply: Reply) -> AIMessageChunk | None:
        """Take one event; return the chunk to emit for it, if any text is ready."""
        final = self._final
        final.request_id = reply.request_id
        final.rate_limit = reply.rate_limit
        if not final.response_id:
            final.response_id = reply.response_id
        if not final.model:
            final.model = reply.model
        if reply.finish_reason:
            final.finish_reason = reply.finish_reason
        if reply.usage:
            final.usage = reply.usage
        if reply.flags:
            final.flags.update(reply.flags)
        if reply.tool_calls:
            self._pieces.extend(reply.tool_calls)
        text = self._scanner.feed(reply.text) if reply.text else ""
        if text and self._gate is not None:
            text = self._gate.feed(text)
        if not text:
            return None
        chunk = AIMessageChunk(content=text, id=final.response_id)
        # Filled in place, as langchain-openai does: validating a metadata dict per
        # event costs more than the rest of the event's own work.
        chunk.response_metadata["model_provider"] = PROVIDER
        return chunk

    def violated(self) -> bool:
        """Whether a forced ``tool_choice`` got no valid call (call after the last event)."""
        return self._settle().violated

    def replace(self, reply: Reply) -> None:
        """Take a whole retry answer instead of the streamed one (usage adds up)."""
        usage = add_usage(self._final.usage, reply.usage)
        self._final = reply
        self._final.usage = usage
        self._scanner = StopScanner(self._ctx.stops)
        text = self._scanner.feed(reply.text)
        from langchain_qianfan_free._tools.results import TextGate  # noqa: PLC0415

        self._gate = TextGate(
            tuple(self._ctx.tools.schemas) if self._ctx.tools else (), hold_all=True
        )
        self._gate.feed(text)
        self._pieces = list(reply.tool_calls)
        self._outcome = None

    def finish(self) -> AIMessageChunk:
        """The last chunk: held-back text, calls, usage, full metadata, ``chunk_position``."""
        final = self._final
        outcome = self._settle()
        text = self._gate.remainder(outcome.text) if self._gate else outcome.text
        metadata = _metadata(final, self._ctx, self._scanner.stopped, bool(outcome.tool_calls))
        if outcome.invalid_tool_calls:
            # Chunks rebuild invalid calls from tool_call_chunks, which would turn some
            # of them valid; so they are reported here rather than on the message.
            metadata["invalid_tool_calls"] = outcome.invalid_tool_calls
        chunks = [
            tool_call_chunk(
                name=call["name"],
                args=json.dumps(call["args"], ensure_ascii=False),
                id=call["id"],
                index=index,
            )
            for index, call in enumerate(outcome.tool_calls)
        ]
        return AIMessageChunk(
            content=text,
            id=final.response_id,
            usage_metadata=usage_metadata(final.usage),
            response_metadata=metadata,
            tool_call_chunks=chunks,
            chunk_position="last",
        )

    def _complete(self) -> bool:
        """Whether the reply ended by itself (not cut by a stop or the output limit)."""
        final = self._final
        cut = finish_reason(final.finish_reason, final.flags, False) == "length"
        return not (cut or self._scanner.stopped)

    def _settle(self) -> ToolOutcome:
        """The whole reply's text and calls, computed once after the last event."""
        if self._outcome is None:
            rest = "" if self._scanner.stopped else self._scanner.flush()
            if self._gate is not None:
                self._gate.feed(rest)
                text = self._gate.text
            else:
                text = rest
            tools = self._ctx.tools
            if tools is not None:
                from langchain_qianfan_free._tools.results import (  # noqa: PLC0415
                    merge_raw_calls,
                    resolve_calls,
                )

                calls = merge_raw_calls(self._pieces)
                self._outcome = resolve_calls(text, calls, tools, complete=self._complete())
            else:
                self._outcome = ToolOutcome(text)
        return self._outcome


def _metadata(
    reply: Reply,
    ctx: ResultContext,
    stopped: bool,
    called: bool = False,
) -> dict[str, Any]:
    flags = dict(reply.flags)
    reason = finish_reason(reply.finish_reason, flags, stopped)
    truncated = bool(flags.pop("is_truncated", reason == "length"))
    if called and reason != "length":
        reason = "tool_calls"
    metadata: dict[str, Any] = {
        "model_name": reply.model or ctx.model_name,
        "model_provider": PROVIDER,
        "api_version": ctx.api_version,
        "finish_reason": reason,
        "qianfan_finish_reason": reply.finish_reason,
        "id": reply.response_id,
        "request_id": reply.request_id,
        "is_truncated": truncated,
    }
    if "need_clear_history" in flags:
        metadata["need_clear_history"] = bool(flags.pop("need_clear_history"))
    elif "flag" in flags:
        # v2 reports moderation as a flag; 2 means "do not continue: clear the history".
        metadata["need_clear_history"] = flags["flag"] == 2
    metadata.update(flags)
    if reply.rate_limit:
        metadata["rate_limit"] = dict(reply.rate_limit)
    return metadata


def emit(
    chunk: AIMessageChunk, run_manager: CallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    """``chunk`` as a generation chunk, reported to the callbacks as a new token."""
    generation = ChatGenerationChunk(message=chunk)
    if run_manager is not None:
        run_manager.on_llm_new_token(chunk.text, chunk=generation)
    return generation


async def aemit(
    chunk: AIMessageChunk, run_manager: AsyncCallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    """Async twin of :func:`emit`."""
    generation = ChatGenerationChunk(message=chunk)
    if run_manager is not None:
        await run_manager.on_llm_new_token(chunk.text, chunk=generation)
    return generation
