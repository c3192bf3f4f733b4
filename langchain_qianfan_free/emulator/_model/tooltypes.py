"""Protocol-neutral values for tool calling and JSON output (no logic beyond small helpers).

Validation (:mod:`~langchain_qianfan_free.emulator._toolchecks`) turns v1 ``functions`` /
v2 ``tools``, ``tool_choice`` and ``response_format`` into these values; the scripted
model (:mod:`~langchain_qianfan_free.emulator._model.toolmodel`) decides on them; the wires
(:mod:`~langchain_qianfan_free.emulator._v1`, :mod:`~langchain_qianfan_free.emulator._v2`)
render :class:`ToolCall` values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AUTO",
    "ChoiceMode",
    "ResponseFormat",
    "ToolCall",
    "ToolChoice",
    "ToolResult",
    "ToolSpec",
]

#: ``none`` / ``auto`` / ``required`` as in v2; ``named`` forces :attr:`ToolChoice.name`.
ChoiceMode = Literal["none", "auto", "required", "named"]


@dataclass(frozen=True)
class ToolSpec:
    """One tool the model may call.

    Attributes:
        name: Function name.
        description: What it does ('' when not given).
        parameters: JSON Schema of its arguments.
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    @property
    def text(self) -> str:
        """The definition as JSON (counted as input, like the platform counts ``functions``)."""
        return json.dumps(
            {"name": self.name, "description": self.description, "parameters": self.parameters},
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class ToolChoice:
    """Which tool use the caller asks for.

    Attributes:
        mode: ``none``, ``auto``, ``required`` or ``named``.
        name: The forced tool when ``mode`` is ``named``.
    """

    mode: ChoiceMode = "auto"
    name: str = ""

    @property
    def forced(self) -> bool:
        """Whether the model must call a tool now."""
        return self.mode in ("required", "named")


#: The default choice: the model decides.
AUTO = ToolChoice()


@dataclass(frozen=True)
class ResponseFormat:
    """A request for JSON output (``text`` formats are not represented).

    Attributes:
        type: ``json_object`` or ``json_schema``.
        schema: The schema to fill (``json_schema``), else ``None``.
    """

    type: Literal["json_object", "json_schema"]
    schema: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class ToolCall:
    """One call the model asks for.

    Attributes:
        name: Tool name.
        arguments: Arguments as a JSON string (sent as is, even if not valid JSON).
        id: ``call_`` + 24 hex digits (v2 only; assigned when the reply is composed).
    """

    name: str
    arguments: str
    id: str = ""

    def wire(self) -> dict[str, Any]:
        """The v2 ``tool_calls`` item."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class ToolResult:
    """One tool result the caller sent back.

    Attributes:
        name: Tool name (``"tool"`` when unknown).
        content: The result as text (JSON values other than strings are dumped).
        failed: The prompt-mode block said ``"status": "error"``.
    """

    name: str
    content: str
    failed: bool = False
