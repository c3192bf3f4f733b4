"""Tool calling and structured output: the types the plain chat path shares.

The modules of this package (prompt mode, lenient JSON, argument coercion, history,
results, structured output) load on first use of tools. This one is imported by every
chat, so it holds only types and the prompt-mode call tags, and imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from langchain_core.messages import InvalidToolCall, ToolCall

__all__ = [
    "CALL_CLOSE",
    "CALL_OPEN",
    "ToolCallingMode",
    "ToolChoice",
    "ToolOutcome",
    "ToolSetup",
]

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"

ToolCallingMode = Literal["auto", "native", "prompt"]
"""The ``tool_calling`` setting: native function calling, the prompt contract, or by model."""

ToolChoice = str
"""``"auto"``, ``"none"``, ``"required"``, or the name of the one tool that must be called."""


@dataclass(frozen=True)
class ToolSetup:
    """The tools of one request and how they are called.

    Attributes:
        functions: OpenAI-format functions (``{"name", "description", "parameters"}``).
        choice: ``None`` (auto), ``"auto"``, ``"none"``, ``"required"`` or a tool name.
        parallel: ``parallel_tool_calls`` as the user set it (``None``: not set).
        native: Use the protocol's function calling; else prompt mode.
    """

    functions: tuple[Mapping[str, Any], ...]
    choice: ToolChoice | None = None
    parallel: bool | None = None
    native: bool = False

    @property
    def schemas(self) -> dict[str, Mapping[str, Any]]:
        """Tool name → its ``parameters`` schema."""
        return {f["name"]: f.get("parameters") or {} for f in self.functions}

    @property
    def enabled(self) -> bool:
        """Whether the model may call tools at all (``tool_choice`` is not ``none``)."""
        return self.choice != "none"

    @property
    def forced(self) -> bool | str:
        """The tool that must be called, ``True`` for any tool, ``False`` if none must."""
        if self.choice in (None, "auto", "none"):
            return False
        return True if self.choice == "required" else str(self.choice)

    def instruction(self) -> str | None:
        """The system-prompt instruction of prompt mode (``None`` when not needed)."""
        if self.native or not self.enabled:
            return None
        # A setup is built by _tools.setup, which has loaded the prompt module already.
        from langchain_qianfan_free._tools.prompt import render_instruction  # noqa: PLC0415

        return render_instruction(
            self.functions, required=self.forced, parallel=self.parallel is not False
        )


@dataclass(frozen=True)
class ToolOutcome:
    """The tool calls of a reply.

    Attributes:
        text: The answer's text (without the call blocks in prompt mode).
        tool_calls: Valid calls.
        invalid_tool_calls: Calls that cannot run, with the reason.
        violated: ``tool_choice`` forced a call and the reply has no valid one.
    """

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)
    violated: bool = False
