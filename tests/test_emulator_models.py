"""Which models are served, with which limits; custom models."""

from __future__ import annotations

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._models import DEFAULT_LIMITS, ModelRegistry

USER = {"role": "user", "content": "你好"}


def test_catalogue_lookups_per_protocol() -> None:
    registry = ModelRegistry()
    speed_v1 = registry.v1_endpoint("ernie_speed")
    assert speed_v1 is not None
    assert speed_v1 == registry.v2_model("ernie-speed-8k")
    assert speed_v1.max_input_chars == 24000
    assert registry.v1_endpoint("ernie-speed-8k") is None  # v2 id is not a v1 path
    assert registry.v2_model("ernie_speed") is None
    assert registry.v2_model("ERNIE-Speed-8K") is None  # v2 ids are exact, lower-case
    assert registry.v1_endpoint("ai_apaas") is not None
    assert registry.v2_model("ai_apaas") is None  # v1-only model


def test_custom_models() -> None:
    registry = ModelRegistry({"my-svc": "ERNIE-Speed-128K", "plain": None})
    big = registry.v1_endpoint("my-svc")
    assert big is not None
    assert (big.name, big.max_input_tokens) == ("my-svc", 126976)
    assert registry.v2_model("my-svc") == big
    plain = registry.v2_model("plain")
    assert plain is not None
    assert plain.max_output_tokens == DEFAULT_LIMITS.max_output_tokens


def test_custom_model_must_map_to_the_catalogue() -> None:
    with pytest.raises(ValueError, match="not a catalogue model"):
        ModelRegistry({"x": "GPT-4"})


def test_custom_models_answer_on_both_protocols() -> None:
    with QianfanEmulator(custom_models=["my-deploy"]) as emu:
        v1 = requests.post(
            emu.v1_chat_url("my-deploy"),
            json={"messages": [USER]},
            timeout=10,
            params={"access_token": emu.issue_access_token()},
        ).json()
        assert v1["result"] == "【千帆模拟器】my-deploy 收到：你好"
        v2 = requests.post(
            emu.v2_chat_url,
            timeout=10,
            json={"model": "my-deploy", "messages": [USER]},
            headers={"Authorization": f"Bearer {emu.api_key}"},
        )
        assert v2.status_code == 200


def test_tool_calling_flag_follows_the_catalogue() -> None:
    registry = ModelRegistry({"fc-svc": "ERNIE-4.0-8K", "free-svc": "ERNIE-Speed-8K", "bare": None})
    for model in ("ernie-3.5-8k", "ernie-3.5-128k", "ernie-4.0-8k", "ernie-4.0-turbo-8k"):
        limits = registry.v2_model(model)
        assert limits is not None
        assert limits.tool_calling, model
    for endpoint in ("completions", "completions_pro", "ernie-lite-pro-128k"):
        limits = registry.v1_endpoint(endpoint)
        assert limits is not None
        assert limits.tool_calling, endpoint
    for model in ("ernie-speed-8k", "ernie-speed-128k", "ernie-lite-8k", "ernie-tiny-8k"):
        limits = registry.v2_model(model)
        assert limits is not None
        assert not limits.tool_calling, model
    flags = {
        name: getattr(registry.v2_model(name), "tool_calling", None)
        for name in ("fc-svc", "free-svc", "bare")
    }
    assert flags == {"fc-svc": True, "free-svc": False, "bare": False}
    assert not DEFAULT_LIMITS.tool_calling
