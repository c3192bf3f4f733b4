"""Which models the emulator serves, and the limits it enforces for each.

Built from the package catalogue (reference §1.4/§1.6): v1 routes answer on each
catalogue ``v1_endpoint``, v2 accepts each catalogue ``v2_id``. Extra names
(``custom_models``) answer on both protocols, with the limits of a catalogue model
or with :data:`DEFAULT_LIMITS` (those of the 8K free models). A custom model calls
tools natively only when it names a catalogue model that does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from langchain_qianfan_free._catalogue import MODELS, ModelSpec, lookup

__all__ = ["DEFAULT_LIMITS", "ModelLimits", "ModelRegistry"]


@dataclass(frozen=True)
class ModelLimits:
    """The documented limits of one served model.

    Attributes:
        name: Canonical name; rate-limit windows are kept per this name.
        max_input_chars: Limit on the characters of all contents + system (336007).
        max_input_tokens: Limit on estimated input tokens (336103).
        max_output_tokens: Upper bound of ``max_output_tokens`` / ``max_tokens``.
        default_output_tokens: Output budget when the request sets none.
        tool_calling: The model calls tools natively (v1 ``functions``, v2 ``tools``);
            other models ignore native tools (prompt-mode tools work everywhere).
    """

    name: str
    max_input_chars: int
    max_input_tokens: int
    max_output_tokens: int
    default_output_tokens: int
    tool_calling: bool = False

    @classmethod
    def from_spec(cls, spec: ModelSpec, name: str | None = None) -> ModelLimits:
        """The limits of a catalogue entry (optionally under another name)."""
        return cls(
            name or spec.display_name,
            spec.max_input_chars,
            spec.max_input_tokens,
            spec.max_output_tokens,
            spec.default_output_tokens,
            spec.tool_calling,
        )


#: Limits for custom models that name no catalogue model (the 8K free models' limits;
#: no native tool calling).
DEFAULT_LIMITS = ModelLimits("custom", 24000, 6144, 2048, 1024)


class ModelRegistry:
    """Looks up the model a request addresses, per protocol.

    Args:
        custom_models: Extra names (v1 endpoint and v2 id alike) → a catalogue model
            name whose limits apply, or ``None`` for :data:`DEFAULT_LIMITS`.

    Raises:
        ValueError: A custom model maps to a name the catalogue does not know.
    """

    def __init__(self, custom_models: Mapping[str, str | None] | None = None) -> None:
        self._v1 = {
            spec.v1_endpoint: ModelLimits.from_spec(spec) for spec in MODELS if spec.v1_endpoint
        }
        self._v2 = {spec.v2_id: ModelLimits.from_spec(spec) for spec in MODELS if spec.v2_id}
        for name, base in (custom_models or {}).items():
            limits = self._custom_limits(name, base)
            self._v1[name] = limits
            self._v2[name] = limits

    @staticmethod
    def _custom_limits(name: str, base: str | None) -> ModelLimits:
        if not name or not name.strip():
            raise ValueError("custom_models: model names must be non-empty strings")
        if base is None:
            return ModelLimits(
                name,
                DEFAULT_LIMITS.max_input_chars,
                DEFAULT_LIMITS.max_input_tokens,
                DEFAULT_LIMITS.max_output_tokens,
                DEFAULT_LIMITS.default_output_tokens,
            )
        spec = lookup(base)
        if spec is None:
            raise ValueError(
                f"custom_models: {name!r} maps to {base!r}, which is not a catalogue model; "
                "use a catalogue name (e.g. 'ERNIE-Speed-8K') or None for default limits"
            )
        return ModelLimits.from_spec(spec, name)

    def v1_endpoint(self, endpoint: str) -> ModelLimits | None:
        """The model behind a v1 ``/chat/{endpoint}`` path segment (exact match)."""
        return self._v1.get(endpoint)

    def v2_model(self, model_id: str) -> ModelLimits | None:
        """The model behind a v2 ``model`` id (exact match, ids are lower-case)."""
        return self._v2.get(model_id)

    def canonical(self, name: str) -> str | None:
        """The :attr:`ModelLimits.name` of a model named any way a caller may name it.

        A served v1 endpoint or v2 id (custom models included), else any catalogue
        name or alias (any case); ``None`` for a name this emulator does not serve.
        So ``ernie_speed``, ``ernie-speed-8k`` and ``ERNIE-Speed-8K`` are one model.
        """
        served = self._v2.get(name) or self._v1.get(name)
        if served is not None:
            return served.name
        spec = lookup(name)
        return spec.display_name if spec is not None else None
