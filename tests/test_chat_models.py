"""ChatQianfan against the emulator: what a LangChain user sees, on both protocols."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.errors import (
    QianfanAuthenticationError,
    QianfanInvalidRequestError,
)

from .conftest import MODES, PROTOCOLS, call, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")


def chat_requests(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.protocol in ("v1", "v2")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_answer_usage_and_metadata(qianfan_emulator, protocol, mode) -> None:
    model = make_model(qianfan_emulator, protocol)
    message, chunks = call(model, mode, [("system", "简短回答"), ("human", "1加1为什么等于2？")])
    assert "1加1为什么等于2" in message.content
    usage = message.usage_metadata
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    meta = message.response_metadata
    assert meta["model_name"] == "ernie-speed-8k"
    assert meta["model_provider"] == "qianfan"
    assert meta["finish_reason"] == "stop"
    assert meta["id"].startswith("as-")
    assert meta["request_id"]
    assert meta["api_version"] == protocol
    assert meta["is_truncated"] is False
    assert meta["need_clear_history"] is False
    assert meta["rate_limit"]["X-Ratelimit-Remaining-Requests"] >= 0
    assert message.additional_kwargs == {}
    if chunks:
        assert len(chunks) > 2  # really streamed
        assert sum(c.usage_metadata is not None for c in chunks) == 1
        assert chunks[-1].chunk_position == "last"
        assert all(not c.additional_kwargs for c in chunks)
    (request,) = chat_requests(qianfan_emulator)
    assert (request.json["stream"] is True) == mode.endswith("stream")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_parameters_reach_the_wire_with_protocol_names(qianfan_emulator, protocol) -> None:
    model = make_model(
        qianfan_emulator,
        protocol,
        temperature=0,
        top_p=0.5,
        penalty_score=1.2,
        max_tokens=300,
        frequency_penalty=0.1,
        presence_penalty=0.2,
        user_id="user-7",
        stop=["停"],
        model_kwargs={"seed": 42},
    )
    model.invoke("你好")
    body = chat_requests(qianfan_emulator)[0].json
    tokens, user = ("max_output_tokens", "user_id") if protocol == "v1" else ("max_tokens", "user")
    assert body["temperature"] == 0.01
    assert (body["top_p"], body["penalty_score"]) == (0.5, 1.2)
    assert (body[tokens], body[user], body["stop"], body["seed"]) == (300, "user-7", ["停"], 42)
    assert (body["frequency_penalty"], body["presence_penalty"]) == (0.1, 0.2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_system_and_merged_messages_on_the_wire(qianfan_emulator, protocol) -> None:
    model = make_model(qianfan_emulator, protocol)
    messages = [
        SystemMessage("s1"),
        SystemMessage("s2"),
        HumanMessage("q1"),
        HumanMessage("q2"),
        AIMessage("a1"),
        AIMessage("a2"),
        HumanMessage("q3"),
    ]
    assert model.invoke(messages).content
    body = chat_requests(qianfan_emulator)[0].json
    turns = [(m["role"], m["content"]) for m in body["messages"]]
    expected = [("user", "q1\n\nq2"), ("assistant", "a1\n\na2"), ("user", "q3")]
    if protocol == "v1":
        assert (body["system"], turns) == ("s1\n\ns2", expected)
    else:
        assert turns == [("system", "s1\n\ns2"), *expected]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stop_sequences_hold_beyond_the_api_limits(qianfan_emulator, protocol, mode) -> None:
    # Five stop sequences do not fit Qianfan's limit of four, so none is sent and the
    # client cuts the (scripted) answer itself, also mid-stream.
    qianfan_emulator.queue_reply("第一句话。然后 STOP 后面的内容不应出现")
    stops = ["STOP", "a1", "a2", "a3", "a4"]
    message, _ = call(make_model(qianfan_emulator, protocol), mode, "hi", stop=stops)
    assert message.content == "第一句话。然后 "
    assert message.response_metadata["finish_reason"] == "stop"
    assert "stop" not in chat_requests(qianfan_emulator)[0].json


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stop_that_fits_is_sent_and_server_stops(qianfan_emulator, protocol) -> None:
    qianfan_emulator.queue_reply("abc STOP def")
    message = make_model(qianfan_emulator, protocol, stop=["STOP"]).invoke("hi")
    assert message.content == "abc "
    assert chat_requests(qianfan_emulator)[0].json["stop"] == ["STOP"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_max_tokens_truncation_is_reported(qianfan_emulator, protocol) -> None:
    qianfan_emulator.queue_reply("这是一个很长很长很长很长很长很长很长很长很长很长的回答" * 4)
    message = make_model(qianfan_emulator, protocol, max_tokens=4).invoke("hi")
    meta = message.response_metadata
    assert (meta["finish_reason"], meta["is_truncated"]) == ("length", True)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_moderation_flags_are_exposed(qianfan_emulator, protocol) -> None:
    message = make_model(qianfan_emulator, protocol).invoke("EMULATOR_UNSAFE_INPUT 你好")
    meta = message.response_metadata
    assert meta["need_clear_history"] is True
    assert meta["ban_round"] == -1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_per_call_model_override(qianfan_emulator, protocol) -> None:
    model = make_model(qianfan_emulator, protocol)
    message = model.invoke("hi", model="ERNIE-Lite-8K")
    assert message.response_metadata["model_name"] == "ernie-lite-8k"
    request = chat_requests(qianfan_emulator)[0]
    if protocol == "v1":
        assert request.path.endswith("/chat/ernie-lite-8k")
    else:
        assert request.json["model"] == "ernie-lite-8k"
    assert model._get_ls_params(model="ERNIE-Lite-8K")["ls_model_name"] == "ERNIE-Lite-8K"


def test_batch_and_abatch(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    answers = model.batch(["一", "二", "三"])
    assert [("一" in a.content, "二" in b.content) for a, b in [answers[:2]]] == [(True, True)]
    answers = asyncio.run(model.abatch(["四", "五"]))
    assert "五" in answers[1].content


def test_streaming_flag_streams_invoke_and_calls_back_per_token(qianfan_emulator) -> None:
    tokens: list[str] = []

    class Collect(BaseCallbackHandler):
        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            tokens.append(token)

    model = make_model(qianfan_emulator, "v1", streaming=True, callbacks=[Collect()])
    message = model.invoke("你好")
    assert len([t for t in tokens if t]) > 2
    assert "".join(tokens) == message.content
    assert chat_requests(qianfan_emulator)[0].json["stream"] is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [True, False])
def test_langchains_stream_switch_per_call_is_not_a_body_field(
    qianfan_emulator, protocol, stream
) -> None:
    # invoke(..., stream=True) is LangChain's switch: it makes invoke stream underneath and
    # passes stream=True on to _stream; it used to be refused as a duplicate body field.
    model = make_model(qianfan_emulator, protocol)
    message = model.invoke("你好", stream=stream)
    assert "你好" in message.content
    assert chat_requests(qianfan_emulator)[-1].json.get("stream", False) is stream


@pytest.mark.parametrize("mode", MODES)
def test_callbacks_see_the_invocation_params_langchain_would_report(qianfan_emulator, mode) -> None:
    # ChatQianfan builds them directly (LangChain's own goes through the deprecated
    # dict()); tracers must see the same thing, per-call settings and stop included.
    seen: list[dict[str, Any]] = []

    class Collect(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            seen.append(kwargs["invocation_params"])

    model = make_model(qianfan_emulator, "v2", temperature=0.3)
    call(model, mode, "你好", stop=["。"], top_p=0.5, config={"callbacks": [Collect()]})
    (params,) = seen
    reference = BaseChatModel._get_invocation_params(model, stop=["。"], top_p=0.5)
    assert params == reference
    assert params["_type"] == "qianfan-chat"
    assert params["model_name"] == "ernie-speed-8k"
    assert params["temperature"] == 0.3
    assert params["stop"] == ["。"]
    assert params["top_p"] == 0.5


@pytest.mark.parametrize("name", ["_generate", "_agenerate"])
def test_langchain_sees_that_the_entry_points_take_run_manager(name) -> None:
    # langchain-core inspects the signature on every call to decide whether to pass
    # run_manager (callbacks then receive each token).
    bound = getattr(ChatQianfan(api_key="k"), name)
    expected = ["messages", "stop", "run_manager", "kwargs"]
    assert list(inspect.signature(bound).parameters) == expected


def test_same_model_across_two_asyncio_runs(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    first = asyncio.run(model.ainvoke("一"))
    second = asyncio.run(model.ainvoke("二"))
    assert "一" in first.content
    assert "二" in second.content


# ------------------------------------------------------------------ bad input


BAD_CALLS = [
    pytest.param({}, "hi", {"temperature": 1.5}, r"temperature=1.5", id="temperature"),
    pytest.param({}, "hi", {"top_p": 2}, r"top_p=2", id="top_p-per-call"),
    pytest.param({}, "hi", {"max_tokens": 9999}, "between 2 and 2048", id="max_tokens"),
    pytest.param({}, "hi", {"stop": [""]}, "non-empty strings", id="empty-stop"),
    pytest.param({}, [], {}, "no user message", id="no-messages"),
    pytest.param({}, [SystemMessage("s")], {}, "no user message", id="system-only"),
    pytest.param({}, [HumanMessage("q"), AIMessage("a")], {}, "ends with an AI", id="ends-ai"),
    pytest.param({}, [HumanMessage(" ")], {}, "empty content", id="empty-content"),
    pytest.param(
        {},
        [HumanMessage([{"type": "image_url", "image_url": {"url": "http://x"}}])],
        {},
        "text only",
        id="image",
    ),
    pytest.param(
        {"model_kwargs": {"stream": True}}, "hi", {}, "stream is set both", id="body-clash"
    ),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("init", "messages", "kwargs", "match"), BAD_CALLS)
def test_bad_input_fails_before_any_request(
    qianfan_emulator, protocol, init, messages, kwargs, match
) -> None:
    model = make_model(qianfan_emulator, protocol, **init)
    with pytest.raises(ValueError, match=match):
        model.invoke(messages, **kwargs)
    with pytest.raises(ValueError, match=match):
        list(model.stream(messages, **kwargs))
    assert qianfan_emulator.requests == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temprature": 0.5}, "unknown parameter.*temprature.*model_kwargs"),
        ({"temperature": 3}, "temperature=3"),
        ({"max_retries": -1}, "max_retries=-1"),
        ({"timeout": 0}, "timeout=0"),
        ({"base_url": "qianfan.baidubce.com"}, "must be an http:// or https:// host root"),
        ({"base_url": "http://"}, "host root"),
        ({"base_url": "https://qianfan.baidubce.com/v2/chat/completions"}, "only the host root"),
        ({"base_url": "http://h/rpc/2.0/ai_custom/v1/wenxinworkshop/chat"}, "only the host root"),
        ({"model": " "}, "model must be a model name"),
        ({"timeout": float("nan")}, "timeout=nan"),
        ({"api_key": "key-with-中文"}, "api_key .*QIANFAN_API_KEY.* cannot carry"),
        ({"app_id": "app 1"}, "app_id"),
        ({"model_kwargs": {"temperature": 0.5}}, "model_kwargs must not contain temperature"),
        ({"api_version": "v3"}, "api_version"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs, match) -> None:
    with pytest.raises(ValidationError, match=match):
        ChatQianfan(**{"api_key": "k", **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "cls", "match"),
    [
        ({}, QianfanAuthenticationError, "QIANFAN_API_KEY.*QIANFAN_AK"),
        ({"qianfan_ak": "only-ak"}, QianfanInvalidRequestError, "QIANFAN_SK"),
        ({"api_version": "v1", "api_key": "k"}, QianfanAuthenticationError, "QIANFAN_AK"),
        ({"api_key": "k", "endpoint": "svc"}, QianfanInvalidRequestError, "v1 setting"),
        (
            {"api_key": "k", "model": "ERNIE-Lite-8K-0922"},
            QianfanInvalidRequestError,
            "only offered on Qianfan v1",
        ),
        (
            {"qianfan_ak": "a", "qianfan_sk": "s", "app_id": "app-1"},
            QianfanInvalidRequestError,
            "app_id is a v2 setting",
        ),
    ],
)
def test_credential_and_protocol_mistakes_fail_before_any_request(
    qianfan_emulator, kwargs, cls, match
) -> None:
    model = ChatQianfan(base_url=qianfan_emulator.url, **kwargs)  # construction needs nothing
    with pytest.raises(cls, match=match):
        model.invoke("hi")
    assert qianfan_emulator.requests == []


def test_credentials_from_the_environment(qianfan_emulator, monkeypatch) -> None:
    monkeypatch.setenv("QIANFAN_BEARER_TOKEN", qianfan_emulator.api_key)
    monkeypatch.setenv("QIANFAN_BASE_URL", qianfan_emulator.url + "/v2")
    monkeypatch.setenv("QIANFAN_APP_ID", qianfan_emulator.app_id)
    assert ChatQianfan().invoke("hi").response_metadata["api_version"] == "v2"
    assert chat_requests(qianfan_emulator)[0].headers["appid"] == qianfan_emulator.app_id


def test_endpoint_selects_a_custom_v1_service(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v1", endpoint="no-such-service")
    with pytest.raises(Exception, match="Unsupported openapi method"):
        model.invoke("hi")
    assert chat_requests(qianfan_emulator)[0].path.endswith("/chat/no-such-service")


# -------------------------------------------------------------------- secrets


def test_secrets_never_show(qianfan_emulator) -> None:
    model = ChatQianfan(
        api_key="bce-v3/ALTAK-topsecret",
        qianfan_ak="ak-topsecret",
        qianfan_sk="sk-topsecret",
        base_url=qianfan_emulator.url,
    )
    shown = [
        repr(model),
        str(model),
        json.dumps(model._identifying_params),
        str(model._get_ls_params()),
        dumps(model),
    ]
    for text in shown:
        assert "topsecret" not in text


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialization_round_trip(qianfan_emulator, monkeypatch) -> None:
    model = make_model(qianfan_emulator, "v2", temperature=0.3, max_tokens=64)
    data = dumpd(model)
    assert qianfan_emulator.api_key not in json.dumps(data)
    monkeypatch.setenv("QIANFAN_API_KEY", qianfan_emulator.api_key)
    clone = load(
        data,
        valid_namespaces=["langchain_qianfan_free"],
        allowed_objects=[ChatQianfan],
        secrets_from_env=True,
    )
    assert isinstance(clone, ChatQianfan)
    assert (clone.temperature, clone.max_tokens) == (0.3, 64)
    assert clone.invoke("hi").content


def test_ls_params() -> None:
    model = ChatQianfan(api_key="k", temperature=0, max_tokens=10, stop=["x"])
    params = model._get_ls_params()
    assert params == {
        "ls_provider": "qianfan",
        "ls_model_name": "ernie-speed-8k",
        "ls_model_type": "chat",
        "ls_temperature": 0.0,
        "ls_max_tokens": 10,
        "ls_stop": ["x"],
    }
    assert ChatQianfan(model_name="ernie-lite-8k", api_key="k").model == "ernie-lite-8k"
    assert ChatQianfan(api_key="k").profile["max_input_tokens"] == 6144


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0.001},
        {"max_retries": 0},
        {"api_key": "bce-v3/ALTAK-x/percall-secret"},
        {"base_url": "http://127.0.0.1:1"},
        {"streaming": True},
        {"model_kwargs": {"a": 1}},
    ],
    ids=lambda kwargs: next(iter(kwargs)),
)
def test_call_kwargs_that_are_not_generation_settings_are_refused(qianfan_emulator, kwargs) -> None:
    model = make_model(qianfan_emulator, "v2")
    with pytest.raises(QianfanInvalidRequestError, match="cannot be changed per call") as info:
        model.invoke("hi", **kwargs)
    assert "percall-secret" not in str(info.value)
    assert qianfan_emulator.requests == []


class ChatWithSeed(ChatQianfan):
    """A user's subclass with a field of its own."""

    seed: int | None = None


def test_a_subclass_field_still_passes_per_call_as_a_body_field(qianfan_emulator) -> None:
    # Only ChatQianfan's own non-generation fields are refused per call.
    model = ChatWithSeed(api_key=qianfan_emulator.api_key, base_url=qianfan_emulator.url)
    assert model.invoke("hi", seed=7).content
    assert qianfan_emulator.requests[-1].json["seed"] == 7
    with pytest.raises(QianfanInvalidRequestError, match="cannot be changed per call"):
        model.invoke("hi", streaming=True)


def test_keys_are_trimmed_and_empty_ones_mean_unset(qianfan_emulator, monkeypatch) -> None:
    model = ChatQianfan(api_key=f"  {qianfan_emulator.api_key}\n", base_url=qianfan_emulator.url)
    assert model.invoke("hi").content
    monkeypatch.setenv("QIANFAN_API_KEY", "")
    monkeypatch.setenv("QIANFAN_AK", qianfan_emulator.ak)
    monkeypatch.setenv("QIANFAN_SK", qianfan_emulator.sk + "\n")
    model = ChatQianfan(base_url=qianfan_emulator.url)
    assert model.api_key is None
    assert model.invoke("hi").response_metadata["api_version"] == "v1"


def test_bad_key_characters_are_reported_without_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        ChatQianfan(api_key="bce-v3/ALTAK-秘密")
    assert "秘密" not in str(info.value)
