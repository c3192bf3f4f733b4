"""Parameter checks and mapping: clear errors naming the setting, ERNIE-fitted values."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._catalogue import lookup
from langchain_qianfan_free._params import (
    MIN_TEMPERATURE,
    check_route_name,
    check_value,
    resolve_params,
)

SPEED = lookup("ernie-speed-8k")


def test_temperature_zero_is_mapped_into_ernies_range() -> None:
    assert check_value("temperature", 0) == MIN_TEMPERATURE
    assert 0 < MIN_TEMPERATURE <= 1
    assert check_value("temperature", 0.7) == 0.7


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("temperature", 1.5, r"temperature=1.5 .* \[0, 1\]"),
        ("temperature", -0.1, "temperature"),
        ("temperature", "hot", "temperature"),
        ("top_p", 1.01, r"top_p .*\[0, 1\]"),
        ("penalty_score", 0.5, r"penalty_score .*\[1, 2\]"),
        ("frequency_penalty", 3, r"frequency_penalty .*\[-2, 2\]"),
        ("presence_penalty", -2.5, "presence_penalty"),
        ("max_tokens", 1, "max_tokens=1 .* between 2 and 2048 for ERNIE-Speed-8K"),
        ("max_tokens", 4096, "between 2 and 2048"),
        ("max_tokens", 10.5, "whole number"),
        ("user_id", "", "user_id"),
        ("stop", [""], "non-empty strings"),
        ("stop", [1, 2], "list of strings"),
    ],
)
def test_out_of_range_values_name_the_setting(name, value, match) -> None:
    with pytest.raises(ValueError, match=match):
        check_value(name, value, SPEED)


def test_max_tokens_bound_follows_the_model() -> None:
    assert check_value("max_tokens", 4096, lookup("ernie-speed-128k")) == 4096
    assert check_value("max_tokens", 100_000, None) == 100_000  # unknown model: server decides


def test_stop_that_fits_is_sent_and_always_enforced() -> None:
    params = resolve_params({"stop": ["你", "END"]}, {}, SPEED)
    assert params.api_stop == ["你", "END"]
    assert params.stops == ("你", "END")


@pytest.mark.parametrize(
    "stop",
    [["a", "b", "c", "d", "e"], ["x" * 21]],
    ids=["five-sequences", "longer-than-20"],
)
def test_stop_beyond_api_limits_is_enforced_by_the_client_only(stop) -> None:
    params = resolve_params({"stop": stop}, {}, SPEED)
    assert params.api_stop is None
    assert params.stops == tuple(stop)


def test_empty_stop_list_sends_nothing() -> None:
    params = resolve_params({"stop": []}, {}, SPEED)
    assert params.api_stop is None
    assert params.stops == ()


def test_unset_values_stay_unset_and_extra_passes_through() -> None:
    params = resolve_params({"temperature": None}, {"seed": 7}, SPEED)
    assert all(v is None for v in params.values.values())
    assert params.extra == {"seed": 7}


@pytest.mark.parametrize("value", ["", "  ", ".", "..", " .. ", None, 5])
def test_model_names_that_would_change_the_route_are_refused(value) -> None:
    with pytest.raises(ValueError, match="model must be a model name"):
        check_route_name("model", value)


def test_route_names_are_trimmed() -> None:
    assert check_route_name("model", " ERNIE-Speed-8K ") == "ERNIE-Speed-8K"
    assert check_route_name("endpoint", " /my_service/ ") == "my_service"
    with pytest.raises(ValueError, match=r"endpoint must .* \(on ChatQianfan\)"):
        check_route_name("endpoint", "/../")
