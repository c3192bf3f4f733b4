"""The model catalogue: every free model answers to all three of its names."""

from __future__ import annotations

from typing import get_type_hints

import pytest
from langchain_core.language_models.model_profile import ModelProfile

from langchain_qianfan_free._catalogue import MODELS, lookup, profile_for

FREE = {
    "ernie-speed-8k": ("ERNIE-Speed-8K", "ernie_speed"),
    "ernie-speed-128k": ("ERNIE-Speed-128K", "ernie-speed-128k"),
    "ernie-lite-8k": ("ERNIE-Lite-8K", "ernie-lite-8k"),
    "ernie-tiny-8k": ("ERNIE-Tiny-8K", "ernie-tiny-8k"),
}


@pytest.mark.parametrize("v2_id", sorted(FREE))
def test_free_models_by_every_name(v2_id) -> None:
    display, endpoint = FREE[v2_id]
    for name in (v2_id, display, endpoint, display.upper(), f" {v2_id} "):
        spec = lookup(name)
        assert spec is not None, name
        assert (spec.v2_id, spec.v1_endpoint, spec.free) == (v2_id, endpoint, True)


def test_unknown_names_are_not_guessed() -> None:
    assert lookup("my-custom-deployment") is None


def test_names_are_unambiguous() -> None:
    seen: dict[str, str] = {}
    for spec in MODELS:
        for name in spec.names:
            assert seen.setdefault(name.lower(), spec.display_name) == spec.display_name


def test_every_profile_is_complete_and_typed_as_langchain_defines_it() -> None:
    hints = get_type_hints(ModelProfile)
    for spec in MODELS:
        profile = profile_for(spec)
        assert set(profile) <= set(hints)
        assert profile["max_input_tokens"] == spec.max_input_tokens
        # Middleware that inserts a SystemMessage mid-conversation must know that it
        # is moved into the leading system prompt.
        assert profile["mid_conversation_system_messages"] is False
        assert profile["reasoning_output"] is False
        assert all(
            isinstance(v, hints[k]) for k, v in profile.items() if hints[k] in (bool, int, str)
        )


def test_the_free_8k_window_is_the_safe_figure() -> None:
    assert profile_for(lookup("ernie-speed-8k"))["max_input_tokens"] == 6144  # not 7,168


def test_profile() -> None:
    profile = profile_for(lookup("ernie-speed-128k"))
    assert profile["max_input_tokens"] == 126976
    assert profile["max_output_tokens"] == 4096
    # no native function calling, but ChatQianfan's prompt mode calls tools anyway
    assert lookup("ernie-speed-128k").tool_calling is False
    assert profile["tool_calling"] is True
    assert profile["tool_choice"] is True
    assert profile["structured_output"] is False
