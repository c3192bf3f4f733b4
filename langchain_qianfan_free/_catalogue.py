"""The model catalogue: what we know about each Qianfan chat model, as data.

Every entry names the model three ways (the console display name, the v2 ``model``
id, the v1 ``wenxinworkshop`` endpoint path segment) and carries its documented
limits. The client uses it to map a user's model name onto the identifier each
protocol needs and to build the LangChain model ``profile``; the emulator uses the
same data to validate requests. Names that are not in the catalogue pass through
unchanged (custom deployments): the server's answer decides.

Sources: the Qianfan reference (§1.4 model table, §1.6 limits, §7.2 v2 ids) and the
model reference (§1, the catalogue with a source per figure). Where they disagree the
safe (smaller) figure is taken: ERNIE-Speed-8K's input limit is 6,144 tokens in the
v2 model table and 7,168 in the SDK's table, so 6,144 (a window counted too large
overflows, one counted too small only trims early).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_qianfan_free.errors import QianfanContextOverflowError

__all__ = ["MODELS", "ModelSpec", "check_input_size", "lookup", "profile_for"]


@dataclass(frozen=True)
class ModelSpec:
    """One Qianfan chat model.

    Attributes:
        display_name: Console name, e.g. ``ERNIE-Speed-8K``.
        v2_id: Lower-case ``model`` id for ``/v2/chat/completions``; ``None`` when the
            model is only offered on v1.
        v1_endpoint: Last path segment of the v1 chat route; ``None`` when v1 has no
            preset route for it.
        max_input_chars: Documented limit on the characters of all messages + system.
        max_input_tokens: Documented limit on input tokens.
        max_output_tokens: Upper bound of ``max_tokens`` / ``max_output_tokens``.
        default_output_tokens: What the server uses when no limit is sent.
        free: Whether calls are free of charge (rate limits still apply).
        tool_calling: Whether the platform documents native function calling.
        aliases: Further names users know the model by (older SDK names).
    """

    display_name: str
    v2_id: str | None
    v1_endpoint: str | None
    max_input_chars: int
    max_input_tokens: int
    max_output_tokens: int
    default_output_tokens: int = 1024
    free: bool = False
    tool_calling: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this model answers to (case-insensitive)."""
        found = (self.display_name, self.v2_id, self.v1_endpoint, *self.aliases)
        return tuple(name for name in found if name)


MODELS: tuple[ModelSpec, ...] = (
    # The free models (free since 2024-05-21).
    ModelSpec(
        "ERNIE-Speed-8K",
        "ernie-speed-8k",
        "ernie_speed",
        24000,
        6144,
        2048,
        free=True,
        aliases=("ERNIE-Speed",),
    ),
    ModelSpec(
        "ERNIE-Speed-128K", "ernie-speed-128k", "ernie-speed-128k", 516096, 126976, 4096, free=True
    ),
    ModelSpec(
        "ERNIE-Lite-8K",
        "ernie-lite-8k",
        "ernie-lite-8k",
        24000,
        6144,
        2048,
        free=True,
        aliases=("ERNIE-Lite-8K-0308",),
    ),
    ModelSpec("ERNIE-Tiny-8K", "ernie-tiny-8k", "ernie-tiny-8k", 24000, 6144, 2048, free=True),
    ModelSpec(
        "ERNIE-Speed-AppBuilder-8K",
        None,
        "ai_apaas",
        24000,
        6144,
        2048,
        free=True,
        aliases=("ERNIE Speed-AppBuilder", "ERNIE-Speed-AppBuilder"),
    ),
    ModelSpec(
        "ERNIE-Lite-8K-0922",
        None,
        "eb-instant",
        11200,
        7168,
        1024,
        free=True,
        aliases=("ERNIE-Bot-turbo", "ERNIE-Bot-turbo-0922"),
    ),
    # Paid models, listed so that their names map correctly.
    ModelSpec(
        "ERNIE-Speed-Pro-128K", "ernie-speed-pro-128k", "ernie-speed-pro-128k", 516096, 126976, 4096
    ),
    ModelSpec(
        "ERNIE-Lite-Pro-128K",
        "ernie-lite-pro-128k",
        "ernie-lite-pro-128k",
        516096,
        126976,
        4096,
        tool_calling=True,
    ),
    ModelSpec("ERNIE-Character-8K", "ernie-char-8k", "ernie-char-8k", 24000, 6144, 2048),
    ModelSpec("ERNIE-Novel-8K", "ernie-novel-8k", "ernie-novel-8k", 24000, 6144, 2048),
    ModelSpec(
        "ERNIE-3.5-8K",
        "ernie-3.5-8k",
        "completions",
        20000,
        5120,
        2048,
        tool_calling=True,
        aliases=("ERNIE-Bot",),
    ),
    ModelSpec(
        "ERNIE-3.5-128K",
        "ernie-3.5-128k",
        "ernie-3.5-128k",
        516096,
        126976,
        4096,
        tool_calling=True,
    ),
    ModelSpec(
        "ERNIE-4.0-8K",
        "ernie-4.0-8k",
        "completions_pro",
        20000,
        5120,
        2048,
        tool_calling=True,
        aliases=("ERNIE-Bot-4",),
    ),
    ModelSpec(
        "ERNIE-4.0-Turbo-8K",
        "ernie-4.0-turbo-8k",
        "ernie-4.0-turbo-8k",
        20000,
        5120,
        2048,
        tool_calling=True,
    ),
)

_BY_NAME: dict[str, ModelSpec] = {name.lower(): spec for spec in MODELS for name in spec.names}


def lookup(name: str) -> ModelSpec | None:
    """Find a model by display name, v2 id, v1 endpoint or alias (any case).

    Args:
        name: What the user called the model.

    Returns:
        The catalogue entry, or ``None`` for a name we do not know (a custom
        deployment or a newer model), which callers pass through unchanged.
    """
    return _BY_NAME.get(name.strip().lower())


def profile_for(spec: ModelSpec) -> dict[str, Any]:
    """The LangChain model profile (``BaseChatModel.profile``) of a catalogue entry."""
    return {
        "name": spec.display_name,
        "max_input_tokens": spec.max_input_tokens,
        "max_output_tokens": spec.max_output_tokens,
        "text_inputs": True,
        "image_inputs": False,
        "image_url_inputs": False,
        "pdf_inputs": False,
        "audio_inputs": False,
        "video_inputs": False,
        "text_outputs": True,
        # ChatQianfan calls tools on every model (natively or in prompt mode).
        "tool_calling": True,
        "tool_choice": True,
        "tool_call_streaming": True,
        # Native structured output (response_format) is not documented for these.
        "structured_output": False,
        "temperature": True,
        # None of these models reasons, or takes or gives anything but text (model
        # reference §1: reasoning "none", image input "no").
        "reasoning_output": False,
        "image_outputs": False,
        "audio_outputs": False,
        "video_outputs": False,
        "image_tool_message": False,
        "pdf_tool_message": False,
        "attachment": False,
        # Qianfan takes system text only up front (v1: the top-level system field; v2:
        # the first message; reference §2.2), so ChatQianfan moves a later
        # SystemMessage into the leading system prompt; tools travel in the request.
        "mid_conversation_system_messages": False,
        "mid_conversation_tools": False,
    }


def check_input_size(spec: ModelSpec | None, characters: int) -> None:
    """Refuse input that is known to exceed the model's documented character limit.

    Qianfan counts the characters of every message, the system text and (v1) the
    functions (reference §1.6, §2.2); above the limit it answers 336007 /
    ``characters_too_long``. Checking first saves a request that cannot succeed.
    (Token limits are not checked here: only the server counts tokens exactly.)

    Raises:
        QianfanContextOverflowError: With the limit and the size, before any request.
    """
    if spec is None or characters <= spec.max_input_chars:
        return
    raise QianfanContextOverflowError(
        f"The input is {characters} characters; {spec.display_name} accepts at most "
        f"{spec.max_input_chars} (messages, system prompt and tools together).",
        hint="Shorten the conversation or use a 128K model such as ernie-speed-128k.",
    )
