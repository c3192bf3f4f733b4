"""Issue 15, items 3 and 12: validation errors hold no secret; per-call settings are checked
like constructor settings, with the same types refused in both places; max_connections."""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, load
from pydantic import BaseModel, SecretStr, ValidationError

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.errors import QianfanInvalidRequestError, QianfanTimeoutError

from .conftest import MODES, PROTOCOLS, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")

# ------------------------------------------------------- item 3: secrets in errors

# One canary per secret field, and one for a URL's user:password.
CANARIES = {
    "api_key": "bce-v3/ALTAK-canaryApiKey0001",
    "qianfan_ak": "canaryAk0002",
    "qianfan_sk": "canarySk0003",
    "qianfan_access_key": "canaryAccess0004",
    "qianfan_secret_key": "canarySecret0005",
}
PASSWORD = "canaryPassword0006"
ENV = {
    "api_key": "QIANFAN_API_KEY",
    "qianfan_ak": "QIANFAN_AK",
    "qianfan_sk": "QIANFAN_SK",
    "qianfan_access_key": "QIANFAN_ACCESS_KEY",
    "qianfan_secret_key": "QIANFAN_SECRET_KEY",
}

# (kwargs, text the message must still show): every kind of construction failure. A
# rejected api_key, a type error and the URL cases fail in field validators; unknown and
# model-validator fail in the model validators (their input is the whole kwargs dict).
FAILURES = [
    pytest.param({"tempreature": 0.3, **CANARIES}, "unknown parameter.*tempreature", id="unknown"),
    pytest.param({"api_key": "bce-v3/ALTAK-canary withSpace0007"}, "api_key", id="bad-api-key"),
    pytest.param({"api_key": ["canaryInList0008"]}, "api_key must be a string", id="type-error"),
    pytest.param(
        {"base_url": f"https://user:{PASSWORD}@qianfan.example.com", **CANARIES},
        "base_url must be a plain host root",
        id="base-url-userinfo",
    ),
    pytest.param(
        {"base_url": f"ftp://user:{PASSWORD}@host"},
        "base_url=.* must be an http:// or https:// host root",
        id="ftp-userinfo",
    ),
    pytest.param(
        {"iam_base_url": f"https://user:{PASSWORD}@iam:notaport", **CANARIES},
        "iam_base_url=.* must be an http:// or https:// host root",
        id="iam-url-bad-port",
    ),
    pytest.param(
        {"base_url": f"user:{PASSWORD}@host", **CANARIES},
        "base_url=.* must be an http:// or https:// host root",
        id="no-scheme-userinfo",
    ),
    pytest.param(
        {**CANARIES, "temperature": 3, "max_retries": -1, "api_key": "canary bad key 0009"},
        "3 validation errors",
        id="several-at-once",
    ),
    pytest.param(
        {"model_kwargs": {"temperature": 0.5, "note": CANARIES["qianfan_sk"]}, **CANARIES},
        "model_kwargs must not contain temperature",
        id="model-validator",
    ),
]

WAYS = ["init", "model_validate", "model_validate_json", "nested"]


class Holder(BaseModel):
    """Another application's model with a ChatQianfan field."""

    llm: ChatQianfan


def construct(way: str, kwargs: dict[str, Any]) -> None:
    if way == "init":
        ChatQianfan(**kwargs)
    elif way == "model_validate":
        ChatQianfan.model_validate(kwargs)
    elif way == "model_validate_json":
        ChatQianfan.model_validate_json(json.dumps(kwargs))
    else:
        Holder(llm=kwargs)


def everything_shown(error: ValidationError) -> str:
    """Every form an error reaches a log, a tracker or a result backend in."""
    data = pickle.dumps(error)
    back = pickle.loads(data)
    assert isinstance(back, ValidationError)
    plain = {"include_url": False, "include_context": False}
    assert back.errors(**plain) == error.errors(**plain)  # type: ignore[arg-type]
    assert str(back) == str(error)
    return "\n".join(
        [
            str(error),
            repr(error),
            repr(error.errors()),
            repr(error.errors(include_context=True)),
            error.json(),
            repr(data),
            str(back),
            repr(back.errors(include_context=True)),
            back.json(),
        ]
    )


def assert_no_secret(text: str, *extra: str) -> None:
    for secret in [*CANARIES.values(), PASSWORD, *extra]:
        assert secret not in text
    assert "canary" not in text.lower()


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("kwargs", "match"), FAILURES)
def test_validation_errors_hold_no_secret_in_any_form(way, kwargs, match) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        construct(way, kwargs)
    assert_no_secret(everything_shown(info.value))


@pytest.mark.parametrize("way", ["init", "model_validate", "nested"])
def test_secret_str_values_hold_no_secret_either(way) -> None:
    secrets = {name: SecretStr(value) for name, value in CANARIES.items()}
    with pytest.raises(ValidationError, match="unknown parameter") as info:
        construct(way, {"tempreature": 1, **secrets})
    assert_no_secret(everything_shown(info.value))


@pytest.mark.parametrize(
    ("env_value", "kwargs", "match"),
    [
        ("canary env key 0010", {}, "api_key .*QIANFAN_API_KEY"),
        ("canaryEnvKey0012", {"max_retries": -1}, "max_retries=-1"),
    ],
    ids=["rejected-env-key", "other-error-with-env"],
)
def test_secrets_from_the_environment_hold_no_secret(monkeypatch, env_value, kwargs, match) -> None:
    monkeypatch.setenv("QIANFAN_API_KEY", env_value)
    for name, variable in ENV.items():
        if name != "api_key":
            monkeypatch.setenv(variable, CANARIES[name])
    monkeypatch.setenv("QIANFAN_BASE_URL", f"https://user:{PASSWORD}@qianfan.example.com")
    with pytest.raises(ValidationError, match=match) as info:
        ChatQianfan(**kwargs)
    assert_no_secret(everything_shown(info.value), env_value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ChatQianfan.model_validate([CANARIES["api_key"]]),
        lambda: ChatQianfan.model_validate(CANARIES["qianfan_sk"]),
        lambda: ChatQianfan.model_validate_json(f'["{CANARIES["api_key"]}"]'),
        lambda: ChatQianfan.model_validate_json(f'"{CANARIES["qianfan_sk"]}"'),
    ],
    ids=["list", "string", "json-list", "json-string"],
)
def test_input_that_is_not_a_dict_of_settings_is_not_echoed(build) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert_no_secret(everything_shown(info.value))


def test_a_token_in_a_url_setting_is_not_echoed() -> None:
    token = "24.canaryToken0007.2592000"
    with pytest.raises(ValidationError) as info:
        ChatQianfan(base_url=f"https://h.example/?access_token={token}")
    assert_no_secret(everything_shown(info.value), token)
    assert "base_url" in str(info.value)


def test_json_that_does_not_parse_is_not_echoed() -> None:
    broken = json.dumps(CANARIES)[:-1] + ","
    with pytest.raises(ValidationError, match="Invalid JSON") as info:
        ChatQianfan.model_validate_json(broken)
    assert_no_secret(everything_shown(info.value))


class Handler(BaseCallbackHandler):
    """A callback handler that cannot be pickled, as many real ones."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def test_an_error_about_unpicklable_inputs_still_pickles() -> None:
    # A callback handler holding a lock: a result backend must still be able to store
    # the error (the input shows the object's type only).
    with pytest.raises(ValidationError, match="unknown parameter") as info:
        ChatQianfan(tempreature=1, callbacks=[Handler()], api_key=CANARIES["api_key"])
    assert_no_secret(everything_shown(info.value))
    assert info.value.errors()[0]["input"]["callbacks"] == ["<Handler>"]


def test_errors_stay_useful_data() -> None:
    # The masked data still says where and what: the setting, the type, the other inputs.
    with pytest.raises(ValidationError) as info:
        ChatQianfan(
            api_key="canary bad 0013",
            temperature=3,
            base_url=f"https://user:{PASSWORD}@qianfan.example.com",
        )
    details = {e["loc"]: e for e in info.value.errors()}
    assert details[("api_key",)]["input"] == "**********"
    assert details[("temperature",)]["input"] == 3
    assert details[("base_url",)]["input"] == "https://**********@qianfan.example.com"
    assert "copy the key again" in details[("api_key",)]["msg"]
    with pytest.raises(ValidationError) as info:
        ChatQianfan(tempreature=0.3, api_key=CANARIES["api_key"], callbacks=None)
    (detail,) = info.value.errors()
    assert detail["input"] == {"tempreature": 0.3, "api_key": "**********", "callbacks": None}


# -------------------------------------------- item 12: per call as at construction


def call_with(llm: ChatQianfan, mode: str, kwargs: dict[str, Any]) -> None:
    """Like conftest.call, whose own first parameter is named ``model``."""
    if mode == "invoke":
        llm.invoke("hi", **kwargs)
    elif mode == "ainvoke":
        asyncio.run(llm.ainvoke("hi", **kwargs))
    elif mode == "stream":
        list(llm.stream("hi", **kwargs))
    else:

        async def collect() -> None:
            async for _ in llm.astream("hi", **kwargs):
                pass

        asyncio.run(collect())


BAD_MODELS = ["", "   ", ".", "..", " .. ", 5]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("bad", BAD_MODELS, ids=repr)
def test_bad_per_call_model_is_refused_before_any_request(
    qianfan_emulator, protocol, mode, bad
) -> None:
    model = make_model(qianfan_emulator, protocol)
    with pytest.raises(QianfanInvalidRequestError, match="model must be a model name") as info:
        call_with(model, mode, {"model": bad})
    assert qianfan_emulator.requests == []
    with pytest.raises(ValidationError) as at_init:
        make_model(qianfan_emulator, protocol, model=bad)
    assert str(info.value) in str(at_init.value)  # the same message in both places


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_model_name_alias_per_call_is_the_model(qianfan_emulator, protocol) -> None:
    # The constructor's alias means the same per call (it used to go out as a body field).
    model = make_model(qianfan_emulator, protocol)
    with pytest.raises(QianfanInvalidRequestError, match="model must be a model name"):
        model.invoke("hi", model_name="..")
    assert qianfan_emulator.requests == []
    model.invoke("hi", model_name="ERNIE-Lite-8K")
    (request,) = [r for r in qianfan_emulator.requests if r.protocol == protocol]
    assert "model_name" not in request.json
    if protocol == "v1":
        assert request.path.endswith("/chat/ernie-lite-8k")
    else:
        assert request.json["model"] == "ernie-lite-8k"


@pytest.mark.parametrize("bad", ["", "   ", ".", "..", "/", "/../"], ids=repr)
def test_bad_endpoint_is_refused_at_construction(bad) -> None:
    with pytest.raises(ValidationError, match="endpoint must be the name of a v1 service"):
        ChatQianfan(qianfan_ak="a", qianfan_sk="s", endpoint=bad)


# (setting, value): types that lax coercion used to turn into numbers, strings or lists
# at construction while the per-call check refused them. Both refuse them now.
WRONG_TYPES = [
    ("temperature", True),
    ("temperature", "0.5"),
    ("top_p", "0.5"),
    ("penalty_score", True),
    ("frequency_penalty", "1"),
    ("presence_penalty", False),
    ("max_tokens", True),
    ("max_tokens", "5"),
    ("max_tokens", 512.0),  # a float is not a token count, even a whole one
    ("user_id", b"user-1"),
    ("user_id", 7),
    ("stop", {"END"}),
    ("stop", 5),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("name", "value"), WRONG_TYPES, ids=repr)
def test_wrong_types_are_refused_at_construction_and_per_call_alike(
    qianfan_emulator, protocol, name, value
) -> None:
    with pytest.raises(ValidationError) as at_init:
        make_model(qianfan_emulator, protocol, **{name: value})
    model = make_model(qianfan_emulator, protocol)
    for mode in MODES:
        with pytest.raises(QianfanInvalidRequestError, match=f"{name}=.* is not accepted") as info:
            call_with(model, mode, {name: value})
        assert str(info.value) in str(at_init.value)
    assert qianfan_emulator.requests == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_values_one_place_accepts_the_other_accepts_too(qianfan_emulator, protocol) -> None:
    # One stop string was refused at construction (list[str]) and accepted per call;
    # ints stay accepted for float settings in both places.
    settings = {"stop": "END", "temperature": 1, "max_tokens": 512}
    make_model(qianfan_emulator, protocol, **settings).invoke("hi")
    make_model(qianfan_emulator, protocol).invoke("hi", **settings)
    first, second = (r.json for r in qianfan_emulator.requests if r.protocol == protocol)
    tokens = "max_output_tokens" if protocol == "v1" else "max_tokens"
    for body in (first, second):
        assert (body["stop"], body["temperature"], body[tokens]) == (["END"], 1.0, 512)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_retries", True),
        ("max_retries", "2"),
        ("max_retries", 2.0),
        ("timeout", True),
        ("timeout", "5"),
        ("max_connections", True),
        ("max_connections", "5"),
        ("max_connections", 5.0),
        ("max_connections", 0),
    ],
    ids=repr,
)
def test_client_settings_are_not_coerced(name, value) -> None:
    match = f"{name}=.* is not accepted: {name} must be"
    with pytest.raises(ValidationError, match=match):
        ChatQianfan(api_key="k", **{name: value})


def test_request_timeout_alias_per_call_is_refused_like_timeout(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    with pytest.raises(QianfanInvalidRequestError, match="cannot be changed per call"):
        model.invoke("hi", request_timeout=1)
    assert qianfan_emulator.requests == []


# ---------------------------------------------------------------- max_connections


def test_max_connections_is_a_client_setting(qianfan_emulator, monkeypatch) -> None:
    assert ChatQianfan(api_key="k").max_connections == 100
    model = make_model(qianfan_emulator, "v2", max_connections=3)
    assert "max_connections" not in model._identifying_params
    with pytest.raises(QianfanInvalidRequestError, match="max_connections cannot be changed"):
        model.invoke("hi", max_connections=5)
    data = dumpd(model)
    assert data["kwargs"]["max_connections"] == 3
    # Serialized like max_retries and timeout (a plain client setting, no secret).
    assert dumpd(ChatQianfan(api_key="k"))["kwargs"]["max_connections"] == 100
    monkeypatch.setenv("QIANFAN_API_KEY", qianfan_emulator.api_key)
    clone = load(
        data,
        valid_namespaces=["langchain_qianfan_free"],
        allowed_objects=[ChatQianfan],
        secrets_from_env=True,
    )
    assert clone.max_connections == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("side", ["sync", "async"])
def test_max_connections_bounds_the_calls_in_flight(qianfan_emulator, protocol, side) -> None:
    # One stream holds the only connection; the next call waits `timeout`, then says why.
    model = make_model(qianfan_emulator, protocol, max_connections=1, timeout=0.3)
    qianfan_emulator.queue_reply("一二三四五六七八九十" * 5)
    if side == "sync":
        stream = model.stream("hi")
        next(stream)
        with pytest.raises(QianfanTimeoutError, match="pool was full"):
            model.invoke("hi")
        stream.close()
        return

    async def scenario() -> None:
        stream = model.astream("hi")
        await anext(stream)
        with pytest.raises(QianfanTimeoutError, match="pool was full"):
            await model.ainvoke("hi")
        await stream.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("way", ["init", "model_validate"])
def test_plain_http_warning_points_at_the_line_that_made_the_model(way) -> None:
    with pytest.warns(UserWarning, match="plain http") as record:
        construct(way, {"api_key": "k", "base_url": "http://qianfan.example.com"})
    assert record[0].filename == __file__


@pytest.mark.parametrize("value", [0, 10_001, 10**9])
def test_max_connections_has_a_documented_range(value) -> None:
    with pytest.raises(ValidationError, match="from 1 to 10000"):
        ChatQianfan(max_connections=value)
