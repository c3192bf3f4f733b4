"""What the emulated model says: deterministic reply text, cut by moderation, stop and length.

The default reply echoes the last message, marked as coming from the emulator:
``【千帆模拟器】ernie-speed-8k 收到：<last message, shortened>``. A scripted reply
(:class:`~langchain_qianfan_free.emulator.scenario.ReplyFault`) or the scripted model's
text (:mod:`~langchain_qianfan_free.emulator._model.toolmodel`) replaces the text.
Then, in this order: unsafe input → a fixed refusal with the moderation flags;
unsafe output word → text cut before it, ``content_filter``; stop strings → text cut
before the first one, ``stop``; output-token budget → text cut to fit, ``length``.

A native tool-call answer (:func:`compose_calls`) has empty text and is never cut:
only input moderation applies; its output tokens are estimated from the calls' JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from langchain_qianfan_free._estimate import estimate_tokens, truncate_to_tokens
from langchain_qianfan_free.emulator._model.tooltypes import ToolCall
from langchain_qianfan_free.emulator._validation import ChatRequest
from langchain_qianfan_free.emulator.scenario import ReplyFault

__all__ = [
    "REFUSAL_TEXT",
    "REPLY_PREFIX",
    "Reply",
    "chunk_text",
    "compose_calls",
    "compose_reply",
    "default_text",
]

#: Marks every default reply as the emulator's.
REPLY_PREFIX = "【千帆模拟器】"
#: The answer to an input that trips moderation.
REFUSAL_TEXT = REPLY_PREFIX + "抱歉，这个问题我无法回答。"
_ECHO_CHARS = 40


@dataclass(frozen=True)
class Reply:
    """A composed answer, protocol-neutral.

    Attributes:
        text: The full reply text.
        finish_reason: ``"stop"``, ``"length"``, ``"content_filter"``, a scripted value,
            or ``None`` for a natural end (v1 ``normal``, v2 ``stop``).
        truncated: The output-token budget cut the text (v1 ``is_truncated``).
        input_flagged: Input moderation answered with the refusal.
        prompt_tokens: Estimated input tokens.
        completion_tokens: Estimated output tokens.
        tool_calls: Native tool calls (then ``text`` is empty and the wires report
            v1 ``function_call`` / v2 ``tool_calls`` as the finish reason).
        thoughts: v1 ``function_call.thoughts``.
    """

    text: str
    finish_reason: str | None
    truncated: bool
    input_flagged: bool
    prompt_tokens: int
    completion_tokens: int
    tool_calls: tuple[ToolCall, ...] = ()
    thoughts: str = ""

    @property
    def total_tokens(self) -> int:
        """Input + output tokens."""
        return self.prompt_tokens + self.completion_tokens

    def usage(self) -> dict[str, int]:
        """The ``usage`` object."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def default_text(request: ChatRequest) -> str:
    """The echo reply for ``request``."""
    last = " ".join(request.messages[-1].content.split())
    if len(last) > _ECHO_CHARS:
        last = last[:_ECHO_CHARS] + "…"
    return f"{REPLY_PREFIX}{request.model} 收到：{last}"


def _contains_any(texts: Sequence[str], words: Sequence[str]) -> bool:
    return any(word in text for text in texts for word in words if word)


def _cut_before(text: str, needles: Sequence[str]) -> int | None:
    found = [text.find(needle) for needle in needles if needle]
    found = [index for index in found if index >= 0]
    return min(found) if found else None


def _refusal(request: ChatRequest) -> Reply:
    return Reply(
        REFUSAL_TEXT, None, False, True, request.prompt_tokens, estimate_tokens(REFUSAL_TEXT)
    )


def compose_reply(
    request: ChatRequest,
    *,
    scripted: ReplyFault | None,
    unsafe_input_words: Sequence[str],
    unsafe_output_words: Sequence[str],
    text: str | None = None,
) -> Reply:
    """Compose the text answer to a valid request.

    Args:
        request: The validated request.
        scripted: A queued reply, or ``None`` for ``text``.
        unsafe_input_words: Any of these in the system text or a message → refusal.
        unsafe_output_words: Any of these in the reply → cut, ``content_filter``.
        text: The model's text when nothing is scripted; ``None`` for the default echo.
    """
    prompt_tokens = request.prompt_tokens
    if _contains_any(request.texts, unsafe_input_words):
        return _refusal(request)
    if scripted:
        text = scripted.text
    elif text is None:
        text = default_text(request)
    finish = scripted.finish_reason if scripted else None
    cut = _cut_before(text, unsafe_output_words)
    if cut is not None:
        text, finish = text[:cut], "content_filter"
    cut = _cut_before(text, request.stop)
    if cut is not None:
        text, finish = text[:cut], "stop"
    budget = request.max_output_tokens or request.limits.default_output_tokens
    truncated = estimate_tokens(text) > budget
    if truncated:
        text, finish = truncate_to_tokens(text, budget), "length"
    return Reply(text, finish, truncated, False, prompt_tokens, estimate_tokens(text))


def compose_calls(
    request: ChatRequest,
    calls: Sequence[ToolCall],
    *,
    thoughts: str,
    unsafe_input_words: Sequence[str],
    new_call_id: Callable[[], str],
) -> Reply:
    """Compose a native tool-call answer (input moderation still answers with the refusal).

    Args:
        request: The validated request.
        calls: The calls, without ids (each gets one from ``new_call_id``).
        thoughts: v1 ``function_call.thoughts``.
        unsafe_input_words: Any of these in the system text or a message → refusal.
        new_call_id: Issues ``call_…`` ids.
    """
    if _contains_any(request.texts, unsafe_input_words):
        return _refusal(request)
    named = tuple(replace(call, id=new_call_id()) for call in calls)
    spent = estimate_tokens(json.dumps([call.wire() for call in named], ensure_ascii=False))
    return Reply("", None, False, False, request.prompt_tokens, spent, named, thoughts)


def chunk_text(text: str, size: int) -> list[str]:
    """Split ``text`` into pieces of ``size`` characters (the last may be shorter)."""
    return [text[start : start + size] for start in range(0, len(text), size)]
