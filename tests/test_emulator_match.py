"""``match=`` on the ``queue_*`` methods and ``assert_all_consumed()``, over real HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import (
    ErrorFault,
    Match,
    QianfanEmulator,
    RecordedRequest,
    ReplyFault,
)
from langchain_qianfan_free.emulator.scenario import Scenario

from .conftest import make_model

pytest_plugins = ["pytester"]

USER = {"role": "user", "content": "你好"}
V1_ENDPOINT = {"ernie-speed-8k": "ernie_speed", "ernie-lite-8k": "ernie-lite-8k"}


def post(
    emu: QianfanEmulator,
    protocol: str,
    model: str = "ernie-speed-8k",
    *,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """One non-stream chat request for ``model`` (a v2 id) on ``protocol``."""
    if protocol == "v1":
        return requests.post(
            emu.v1_chat_url(V1_ENDPOINT[model]),
            json={"messages": [USER]},
            params={"access_token": emu.issue_access_token()},
            headers=headers,
            timeout=10,
        )
    return requests.post(
        emu.v2_chat_url,
        json={"model": model, "messages": [USER]},
        headers={"Authorization": f"Bearer {emu.api_key}", **(headers or {})},
        timeout=10,
    )


def text(response: requests.Response) -> str:
    """The answer text, or ``error <code>`` for an error answer."""
    body = response.json()
    if "error_code" in body:
        return f"error {body['error_code']}"
    if "error" in body:
        return f"error {body['error']['code']}"
    return str(body["result"] if "result" in body else body["choices"][0]["message"]["content"])


def echoed(response: requests.Response) -> bool:
    return response.status_code == 200 and text(response).startswith("【千帆模拟器】")


# -- which request takes what ---------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_two_models_side_by_side(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    emu = qianfan_emulator
    emu.queue_error(336100, match="ernie-lite-8k")
    emu.queue_reply("给 speed 的回答", match="ernie-speed-8k")
    assert echoed(post(emu, protocol, "ernie-lite-8k")) is False  # takes its error
    assert text(post(emu, protocol, "ernie-speed-8k")) == "给 speed 的回答"
    assert echoed(post(emu, protocol, "ernie-lite-8k"))
    assert emu.pending_faults == []


def test_chat_models_for_two_models_get_their_own_replies(
    qianfan_emulator: QianfanEmulator,
) -> None:
    emu = qianfan_emulator
    emu.queue_reply("lite 的回答", match="ernie-lite-8k")
    emu.queue_reply("speed 的回答", match="ernie-speed-8k")
    speed = make_model(emu, "v2", model="ernie-speed-8k")
    lite = make_model(emu, "v1", model="ERNIE-Lite-8K")
    assert speed.invoke("你好").content == "speed 的回答"  # the older, lite reply waits
    assert lite.invoke("你好").content == "lite 的回答"
    emu.assert_all_consumed()


def test_v1_and_v2_side_by_side(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_reply("只给 v1", match="v1")
    emu.queue_reply("只给 v2", match=Match(protocol="v2"))
    assert text(post(emu, "v2")) == "只给 v2"  # skips the older v1 reply
    assert emu.pending_faults == [ReplyFault("只给 v1")]
    assert text(post(emu, "v1")) == "只给 v1"
    assert echoed(post(emu, "v2"))


def test_a_model_matches_both_protocols_under_any_of_its_names(
    qianfan_emulator: QianfanEmulator,
) -> None:
    emu = qianfan_emulator
    for name in ("ernie-speed-8k", "ernie_speed", "ERNIE-Speed-8K"):
        emu.queue_error(336100, match=name, times=2)
        assert [text(post(emu, "v1")), text(post(emu, "v2"))] == [
            "error 336100",
            "error internal_error",
        ]
        assert echoed(post(emu, "v1", "ernie-lite-8k"))
    emu.queue_error(2, match=Match(protocol="v1", model="ernie-speed-8k"))
    assert echoed(post(emu, "v2"))
    assert text(post(emu, "v1")) == "error 2"


def test_custom_models_match_by_their_own_name() -> None:
    with QianfanEmulator(custom_models={"my-svc": "ERNIE-Speed-8K"}) as emu:
        emu.queue_reply("定制", match="my-svc")
        answer = requests.post(
            emu.v2_chat_url,
            json={"model": "my-svc", "messages": [USER]},
            headers={"Authorization": f"Bearer {emu.api_key}"},
            timeout=10,
        )
        assert echoed(post(emu, "v2"))  # ernie-speed-8k is another model
        emu.assert_all_consumed()
        assert text(answer) == "定制"


def test_path_match(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_error(18, match="/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-lite-8k")
    assert echoed(post(emu, "v1"))
    assert echoed(post(emu, "v2", "ernie-lite-8k"))
    assert text(post(emu, "v1", "ernie-lite-8k")) == "error 18"


def test_callable_match_sees_the_recorded_request(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    seen: list[RecordedRequest] = []

    def tenant_b(request: RecordedRequest) -> bool:
        seen.append(request)
        return request.headers.get("X-Tenant") == "b"

    emu.queue_error(336501, match=tenant_b)
    assert echoed(post(emu, "v2", headers={"X-Tenant": "a"}))
    assert echoed(post(emu, "v1", headers={"X-Tenant": "a"}))
    assert text(post(emu, "v2", headers={"X-Tenant": "b"})) == "error rpm_rate_limit_exceeded"
    assert [request.protocol for request in seen] == ["v2", "v1", "v2"]
    assert seen[0].json["model"] == "ernie-speed-8k"
    assert emu.pending_faults == []


def test_unmatched_items_keep_their_order_and_counts(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_error(2, match="v1", times=2)
    emu.queue_error(18)  # any request
    emu.queue_error(336100, match="v1")
    assert text(post(emu, "v2")) == "error user_rate_limit_exceeded"  # the oldest for it: 18
    assert emu.pending_faults == [ErrorFault(2), ErrorFault(2), ErrorFault(336100)]
    answers = [post(emu, "v1") for _ in range(4)]
    assert [text(answer) for answer in answers[:3]] == ["error 2", "error 2", "error 336100"]
    assert echoed(answers[3])
    assert emu.pending_faults == []


def test_concurrent_calls_only_the_matching_ones_get_the_fault(
    qianfan_emulator: QianfanEmulator,
) -> None:
    emu = qianfan_emulator
    emu.queue_error(336100, times=6, match="ernie-lite-8k")
    models = ["ernie-speed-8k", "ernie-lite-8k"] * 6
    start = threading.Barrier(len(models))
    answers: dict[int, str] = {}

    def ask(index: int, model: str) -> None:
        start.wait(timeout=10)  # every request in flight together
        answers[index] = text(post(emu, "v2", model))

    threads = [threading.Thread(target=ask, args=item) for item in enumerate(models)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == len(models)
    for index, model in enumerate(models):
        assert answers[index].startswith("error") == (model == "ernie-lite-8k"), model
    emu.assert_all_consumed()


def test_requests_rejected_before_the_queue_do_not_consult_the_match(
    qianfan_emulator: QianfanEmulator,
) -> None:
    calls: list[RecordedRequest] = []
    qianfan_emulator.queue_error(2, match=lambda request: calls.append(request) is None)
    response = requests.post(
        qianfan_emulator.v2_chat_url,
        json={"model": "ernie-speed-8k", "messages": [USER]},
        headers={"Authorization": "Bearer wrong"},
        timeout=10,
    )
    assert response.status_code == 401
    assert calls == []
    assert qianfan_emulator.pending_faults == [ErrorFault(2)]


@pytest.mark.parametrize(
    ("match", "error"),
    [
        pytest.param("ernie-speeed-8k", ValueError, id="unknown-model"),
        pytest.param(Match(model="no-such-model"), ValueError, id="unknown-model-in-match"),
        pytest.param(42, TypeError, id="not-a-filter"),
    ],
)
def test_bad_matches_are_refused_when_queued(
    qianfan_emulator: QianfanEmulator, match: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        qianfan_emulator.queue_reply("x", match=match)
    assert qianfan_emulator.pending_faults == []


def test_match_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="protocol"):
        Match(protocol="v3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="path"):
        Match(path="v2/chat/completions")
    assert Match.parse("v1") == Match(protocol="v1")
    assert Match.parse("/v2/chat/completions") == Match(path="/v2/chat/completions")
    assert Match.parse("ernie_speed") == Match(model="ernie_speed")


def test_scenario_without_a_request_takes_only_unfiltered_faults() -> None:
    scenario = Scenario()
    scenario.push(ErrorFault(2), match="v1")
    scenario.push(ErrorFault(18))
    assert scenario.take() == ErrorFault(18)
    assert scenario.take() is None
    assert scenario.pending() == [ErrorFault(2)]


# -- assert_all_consumed ----------------------------------------------------------------------


def test_assert_all_consumed_passes_when_everything_was_used(
    qianfan_emulator: QianfanEmulator,
) -> None:
    emu = qianfan_emulator
    emu.assert_all_consumed()  # nothing queued
    emu.queue_error(336100, times=2)
    emu.queue_reply("好的", match="v1")
    assert [text(post(emu, "v1")) for _ in range(3)] == ["error 336100"] * 2 + ["好的"]
    emu.assert_all_consumed()


def test_assert_all_consumed_lists_what_was_never_used(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_error(336100, times=3)
    emu.queue_reply("给 lite 的很长很长的回答" * 5, match="ernie-lite-8k")
    emu.queue_slow(0.5, match=lambda request: False)
    assert text(post(emu, "v2")) == "error internal_error"
    with pytest.raises(AssertionError) as failure:
        emu.assert_all_consumed()
    message = str(failure.value)
    assert "(4 uses left)" in message
    assert "ErrorFault(code=336100), 2 uses left" in message
    assert "ReplyFault(text='给 lite 的很长很长的回答" in message
    assert "…'" in message  # long texts are cut
    assert "match=Match(model='ernie-lite-8k')" in message
    assert "SlowFault(seconds=0.5), match=" in message
    assert "<lambda>" in message


def test_assert_all_consumed_never_shows_secrets(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_http_status(
        401, f"token {emu.api_key}", headers={"Authorization": f"Bearer {emu.api_key}"}
    )
    emu.queue_error(110, f"bad secret {emu.sk} / {emu.iam_sk} / {emu.api_key}")
    with pytest.raises(AssertionError) as failure:
        emu.assert_all_consumed()
    message = str(failure.value)
    for secret in (emu.api_key, emu.sk, emu.iam_sk):
        assert secret not in message
    assert "headers=['Authorization']" in message
    assert "body=<" in message
    assert "bad secret ***" in message


def test_the_marker_checks_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user_app="""
        import pytest
        import requests

        pytestmark = pytest.mark.qianfan_emulator_all_consumed

        def ask(emu):
            return requests.post(
                emu.v2_chat_url,
                json={"model": "ernie-speed-8k", "messages": [{"role": "user", "content": "hi"}]},
                headers={"Authorization": "Bearer " + emu.api_key},
            )

        def test_uses_what_it_queues(qianfan_emulator):
            qianfan_emulator.queue_error(336100)
            assert ask(qianfan_emulator).status_code == 500

        def test_forgets_a_fault(qianfan_emulator):
            qianfan_emulator.queue_error(336100, match="v1")
            assert ask(qianfan_emulator).status_code == 200

        def test_next_test_starts_clean(qianfan_emulator):
            assert qianfan_emulator.pending_faults == []
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_forgets_a_fault*"])
    result.stdout.fnmatch_lines(["*ErrorFault(code=336100), match=Match(protocol='v1')*"])


def test_assert_all_consumed_masks_keys_and_tokens_before_cutting(
    qianfan_emulator: QianfanEmulator,
) -> None:
    emu = qianfan_emulator
    token = emu.issue_access_token()
    emu.queue_error(336003, "bad key: " + emu.api_key)  # the key crosses the 40-character cut
    emu.queue_reply(f"client_id={emu.ak} ak={emu.iam_ak}")
    emu.queue_reply(f"token {token}")
    with pytest.raises(AssertionError) as failure:
        emu.assert_all_consumed()
    message = str(failure.value)
    assert "'bad key: ***'" in message
    for shown in (emu.api_key[:20], emu.ak, emu.iam_ak, token[:20]):
        assert shown not in message
