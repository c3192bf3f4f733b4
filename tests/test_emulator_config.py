"""Constructor options: defaults and refused values."""

from __future__ import annotations

import dataclasses
import inspect
import time
from typing import Any

import pytest

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator.config import EmulatorConfig


def test_defaults() -> None:
    emu = QianfanEmulator()
    assert emu.api_key == QianfanEmulator.DEFAULT_API_KEY == "bce-v3/ALTAK-emulator/emulator-secret"
    assert emu.app_id == "app-emulator"
    assert (emu.ak, emu.sk) == ("emulator-api-key", "emulator-secret-key")
    config = emu.config
    assert (config.host, config.port, config.token_ttl, config.rpm, config.tpm) == (
        "127.0.0.1",
        0,
        2592000,
        300,
        300000,
    )
    assert config.unsafe_input_words == ("EMULATOR_UNSAFE_INPUT",)
    assert config.unsafe_output_words == ("EMULATOR_UNSAFE_OUTPUT",)
    assert config.stream_chunk_chars == 6
    assert config.rate_window == 60.0
    assert (emu.iam_ak, emu.iam_sk) == ("emulator-iam-access-key", "emulator-iam-secret-key")
    assert (
        emu.iam_ak,
        emu.iam_sk,
    ) == (QianfanEmulator.DEFAULT_IAM_AK, QianfanEmulator.DEFAULT_IAM_SK)
    assert config.iam_clock_skew == 300.0
    assert config.clock is time.time


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"api_keys": []}, id="no-api-keys"),
        pytest.param({"api_keys": "one-key"}, id="api-keys-string"),
        pytest.param({"app_ids": [""]}, id="empty-app-id"),
        pytest.param({"credentials": {}}, id="no-credentials"),
        pytest.param({"credentials": {"ak": ""}}, id="empty-secret"),
        pytest.param({"token_ttl": -1}, id="negative-ttl"),
        pytest.param({"rpm": 0}, id="zero-rpm"),
        pytest.param({"tpm": 0}, id="zero-tpm"),
        pytest.param({"rate_window": 0}, id="zero-window"),
        pytest.param({"rate_window": float("nan")}, id="nan-window"),
        pytest.param({"stream_chunk_chars": 0}, id="zero-chunk"),
        pytest.param({"custom_models": {"x": "no-such-model"}}, id="unknown-base-model"),
        pytest.param({"iam_credentials": {}}, id="no-iam-credentials"),
        pytest.param({"iam_credentials": {"ak": ""}}, id="empty-iam-secret"),
        pytest.param({"iam_credentials": {"a/k": "sk"}}, id="slash-in-iam-ak"),
        pytest.param({"iam_credentials": {" ak": "sk"}}, id="space-around-iam-ak"),
        pytest.param({"iam_clock_skew": -1}, id="negative-skew"),
        pytest.param({"iam_clock_skew": float("nan")}, id="nan-skew"),
        pytest.param({"clock": 12.0}, id="clock-not-callable"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        QianfanEmulator(**options)


def test_config_repr_hides_secrets() -> None:
    config = QianfanEmulator(
        credentials={"ak-visible": "sk-hidden"},
        api_keys=["key-hidden"],
        iam_credentials={"iam-ak": "iam-sk-hidden"},
    ).config
    assert isinstance(config, EmulatorConfig)
    text = repr(config)
    assert "sk-hidden" not in text
    assert "key-hidden" not in text
    assert "iam-sk-hidden" not in text


def test_the_constructor_signature_is_pinned() -> None:
    parameters = inspect.signature(QianfanEmulator).parameters
    assert {name: param.default for name, param in parameters.items()} == {
        "host": "127.0.0.1",
        "port": 0,
        "api_keys": None,
        "app_ids": None,
        "credentials": None,
        "iam_credentials": None,
        "iam_clock_skew": 300.0,
        "clock": None,
        "token_ttl": 2592000,
        "rpm": 300,
        "tpm": 300000,
        "rate_window": 60.0,
        "custom_models": None,
        "unsafe_input_words": ("EMULATOR_UNSAFE_INPUT",),
        "unsafe_output_words": ("EMULATOR_UNSAFE_OUTPUT",),
        "stream_chunk_chars": 6,
        "seed": None,
    }
    assert all(param.kind is inspect.Parameter.KEYWORD_ONLY for param in parameters.values())
    assert EmulatorConfig() == QianfanEmulator().config  # the record's defaults are the defaults
    # One parameter list: the constructor takes exactly the record's fields.
    assert list(parameters) == [f.name for f in dataclasses.fields(EmulatorConfig)]


def test_build_is_what_the_constructor_does() -> None:
    options = {"api_keys": ["k1", "k2"], "credentials": {"a": "s"}, "rpm": 7, "seed": 3}
    assert EmulatorConfig.build(**options) == QianfanEmulator(**options).config
    assert EmulatorConfig.build().api_keys == EmulatorConfig().api_keys
    with pytest.raises(TypeError, match="colour"):
        EmulatorConfig.build(colour="red")
