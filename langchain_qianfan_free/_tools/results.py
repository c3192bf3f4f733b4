"""From a reply to LangChain tool calls, in both calling modes; ``tool_choice`` enforced.

Native calls arrive as :class:`~langchain_qianfan_free._protocols.common.RawCall` (JSON
argument text); prompt-mode calls are found in the reply text by
:func:`~langchain_qianfan_free._tools.prompt.find_tool_calls`. Either way every call is
checked against its tool's schema, so ``AIMessage.tool_calls`` only holds calls that
can run; the rest become ``invalid_tool_calls`` with the reason. A forced
``tool_choice`` (``"required"`` or a tool name) is then checked: calls to other tools
are invalid, and a reply without a valid call is a *violation* the model class answers
with one corrective retry (:func:`correction`).

:class:`TextGate` is the streaming half of prompt mode: it lets text through as it
arrives and holds back only what may be the start of a tool call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call

from langchain_qianfan_free._protocols.common import RawCall
from langchain_qianfan_free._tools import CALL_OPEN, ToolOutcome, ToolSetup
from langchain_qianfan_free._tools.args import ArgumentError, coerce_arguments
from langchain_qianfan_free._tools.lenient_json import balanced_close, extract_json
from langchain_qianfan_free._tools.prompt import (
    find_tool_calls,
    is_tool_call,
    looks_like_call,
    new_call_id,
)

__all__ = ["TextGate", "correction", "merge_raw_calls", "resolve_calls"]


def merge_raw_calls(pieces: Sequence[RawCall]) -> list[RawCall]:
    """Join streamed call pieces by ``index`` (ids and names kept from any piece)."""
    joined: dict[int, RawCall] = {}
    for piece in pieces:
        seen = joined.get(piece.index)
        if seen is None:
            joined[piece.index] = piece
        else:
            joined[piece.index] = RawCall(
                piece.index,
                seen.id or piece.id,
                seen.name or piece.name,
                seen.arguments + piece.arguments,
            )
    return [joined[index] for index in sorted(joined)]


def resolve_calls(
    text: str, raw_calls: Sequence[RawCall], setup: ToolSetup, *, complete: bool = True
) -> ToolOutcome:
    """The valid and invalid calls of a reply, with ``tool_choice`` applied.

    Args:
        text: The reply's text.
        raw_calls: Native calls (whole, not stream pieces).
        setup: The request's tools.
        complete: ``False`` when the reply was cut (output limit or stop sequence).
    """
    if not setup.enabled:
        return ToolOutcome(text)
    schemas = setup.schemas
    if setup.native:
        calls: list[ToolCall] = []
        invalid: list[InvalidToolCall] = []
        for raw in raw_calls:
            made = _native_call(raw, schemas)
            if is_tool_call(made):
                calls.append(made)
            else:
                invalid.append(made)
    else:
        parsed = find_tool_calls(text, schemas, complete=complete)
        text, calls, invalid = parsed.text, list(parsed.tool_calls), list(parsed.invalid_tool_calls)
    forced = setup.forced
    if isinstance(forced, str) and not calls and not setup.native:
        bare = _bare_arguments(text, forced, schemas[forced], complete=complete)
        if bare is not None:
            text, calls = "", [bare]
    if isinstance(forced, str):
        invalid += [
            _refused(c, f"tool_choice requires the tool {forced}")
            for c in calls
            if c["name"] != forced
        ]
        calls = [c for c in calls if c["name"] == forced]
    if setup.parallel is False and len(calls) > 1:
        invalid += [_refused(c, "parallel_tool_calls=False allows one call") for c in calls[1:]]
        calls = calls[:1]
    return ToolOutcome(text, calls, invalid, violated=bool(forced) and not calls)


def correction(setup: ToolSetup) -> str:
    """The user message that asks again for the call ``tool_choice`` demands."""
    forced = setup.forced
    target = f"工具 {forced}" if isinstance(forced, str) else "一个工具"
    target_en = f"the tool {forced}" if isinstance(forced, str) else "one of the tools"
    if setup.native:
        return f"请现在调用{target}。 Call {target_en} now."
    return (
        f"你的回复没有按要求调用{target}。请只输出 {CALL_OPEN} 块。 Your reply did not call "
        f"{target_en}. Reply with {CALL_OPEN} blocks only, in the format given above."
    )


def _native_call(
    raw: RawCall, schemas: Mapping[str, Mapping[str, object]]
) -> ToolCall | InvalidToolCall:
    call_id = raw.id or new_call_id()
    name = raw.name or ""
    if name not in schemas:
        return invalid_tool_call(
            name=raw.name, args=raw.arguments, id=call_id, error=f"there is no tool named {name!r}"
        )
    try:
        loaded = json.loads(raw.arguments) if raw.arguments.strip() else {}
        args = coerce_arguments(loaded, schemas[name])
    except ValueError as error:  # ArgumentError is a ValueError, as is a JSON error
        reason = (
            str(error) if isinstance(error, ArgumentError) else "the arguments are not valid JSON"
        )
        return invalid_tool_call(name=name, args=raw.arguments, id=call_id, error=reason)
    return tool_call(name=name, args=args, id=call_id)


def _bare_arguments(
    text: str, name: str, schema: Mapping[str, Any], *, complete: bool
) -> ToolCall | None:
    """A forced tool's call from a reply that gives only its arguments object.

    Small models asked to call one tool (structured output) often answer with the
    arguments alone, e.g. ``{"setup": ..., "punchline": ...}``; when that object
    fits the tool's schema exactly as required, it is the call.
    """
    try:
        value = extract_json(text, complete=complete)
        if not isinstance(value, dict):
            return None
        return tool_call(name=name, args=coerce_arguments(value, schema), id=new_call_id())
    except ValueError:  # no JSON, or it does not fit (ArgumentError)
        return None


def _refused(call: ToolCall, reason: str) -> InvalidToolCall:
    return invalid_tool_call(
        name=call["name"],
        args=json.dumps(call["args"], ensure_ascii=False),
        id=call["id"],
        error=reason,
    )


_TAG_FORMS = ("<tool_call>", "<tool-call>", "<toolcall>")  # blanks removed first
_OPENERS = re.compile(r"[<＜{\[｛［`]")


class TextGate:
    """Streams prompt-mode text, holding back only what may start a tool call.

    What may start a call: a ``<tool_call>`` tag (or a prefix of one at the end of
    the text so far), a code fence, or a ``{``/``[`` whose JSON names a tool. Once
    that is settled either way the text is released, or, for a call, everything
    from there on is kept for the final parse. Whitespace before a held part is held
    too, since the final text is trimmed around call blocks.

    Args:
        names: The bound tools' names.
        hold_all: Release nothing (a forced ``tool_choice`` expects no text).
    """

    def __init__(self, names: Sequence[str] = (), *, hold_all: bool = False) -> None:
        self._names = tuple(names)
        self._text = ""
        self._sent = 0
        self._scan = 0
        self._closed = hold_all

    @property
    def text(self) -> str:
        """All text fed so far."""
        return self._text

    @property
    def sent(self) -> str:
        """The text released so far."""
        return self._text[: self._sent]

    def feed(self, text: str) -> str:
        """Take more text; return what can be shown now."""
        self._text += text
        if self._closed:
            return ""
        limit = len(self._text)
        while True:
            match = _OPENERS.search(self._text, self._scan)
            if match is None:
                break
            verdict, end = self._judge(match.start())
            if verdict == "text":
                self._scan = end
                continue
            if verdict == "call":
                self._closed = True
            limit = match.start()
            break
        if limit == len(self._text) and not self._closed:
            self._scan = len(self._text)
        release = self._text[self._sent : limit]
        if not self._sent:
            release = release.lstrip()
            self._sent = limit - len(release)
        kept = release.rstrip()
        self._sent += len(kept)
        return kept

    def remainder(self, final_text: str) -> str:
        """What is left to show of ``final_text``, given what was already shown."""
        shown = self.sent.strip()
        if final_text.startswith(shown):
            return final_text[len(shown) :]
        common = 0
        for a, b in zip(final_text, shown, strict=False):
            if a != b:
                break
            common += 1
        return final_text[common:]

    def _judge(self, start: int) -> tuple[str, int]:
        """``("text", end)``, ``("call", start)`` or ``("open", start)`` for an opener."""
        rest = self._text[start:]
        if rest[0] in "<＜":
            folded = "<" + re.sub(r"\s+", "", rest[1:24]).lower().replace("＞", ">")
            if any(folded.startswith(form) for form in _TAG_FORMS):
                return "call", start
            if any(form.startswith(folded) for form in _TAG_FORMS):
                return "open", start
            return "text", start + 1
        if rest[0] == "`" and not rest.startswith("```"):
            return ("open", start) if rest in ("`", "``") else ("text", start + 1)
        if rest.startswith("```"):
            close = rest.find("```", 3)
            if close < 0:
                return "open", start
            end = start + close + 3
            return ("call", start) if looks_like_call(rest[3:close], self._names) else ("text", end)
        closing = balanced_close(self._text, start)
        if closing is None:
            return "open", start
        segment = self._text[start:closing]
        return ("call", start) if looks_like_call(segment, self._names) else ("text", closing)
