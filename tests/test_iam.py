"""Baidu Cloud IAM keys: signed v1 requests and v2 bearer tokens minted from them."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.load import dumps

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._auth.credentials import choose_credentials, iam_url
from langchain_qianfan_free.errors import QianfanAuthenticationError, QianfanInvalidRequestError

from .conftest import MODES, call, record_sleeps

pytestmark = pytest.mark.usefixtures("fresh_tokens")


def iam_model(emu: Any, protocol: str = "auto", **kwargs: Any) -> ChatQianfan:
    model = ChatQianfan(
        base_url=emu.url,
        api_version=protocol,
        qianfan_access_key=emu.iam_ak,
        qianfan_secret_key=emu.iam_sk,
        **kwargs,
    )
    record_sleeps(model)
    return model


def of(emu: Any, protocol: str) -> list[Any]:
    return [r for r in emu.requests if r.protocol == protocol]


def mints(emu: Any) -> list[Any]:
    return [r for r in emu.requests if "/v1/BCE-BEARER/token" in r.path]


@pytest.mark.parametrize("mode", MODES)
def test_v1_requests_are_signed_and_need_no_token(qianfan_emulator, mode) -> None:
    message, _ = call(iam_model(qianfan_emulator, "v1"), mode, "你好")
    assert message.content
    (request,) = of(qianfan_emulator, "v1")
    auth = request.headers["Authorization"]
    assert auth.startswith(f"bce-auth-v1/{qianfan_emulator.iam_ak}/")
    assert "/content-type;host;x-bce-date/" in auth
    assert "access_token" not in request.query
    assert of(qianfan_emulator, "token") == []


@pytest.mark.parametrize("mode", MODES)
def test_v2_mints_a_bearer_token_once_and_reuses_it(qianfan_emulator, mode) -> None:
    for _ in range(3):
        message, _ = call(iam_model(qianfan_emulator), mode, "你好")  # auto → v2
        assert message.content
    assert len(mints(qianfan_emulator)) == 1
    chats = of(qianfan_emulator, "v2")
    assert len(chats) == 3
    bearer = {r.headers["Authorization"] for r in chats}
    assert len(bearer) == 1
    assert next(iter(bearer)).startswith("Bearer bce-v3/")
    mint = mints(qianfan_emulator)[0]
    assert mint.method == "GET"
    assert mint.query["expireInSeconds"] == "43200"
    assert mint.headers["Authorization"].startswith("bce-auth-v1/")


@pytest.mark.parametrize("mode", MODES)
def test_an_expired_bearer_token_is_minted_again_and_the_call_resent(qianfan_emulator, mode):
    model = iam_model(qianfan_emulator)
    model.invoke("first")
    qianfan_emulator.expire_bearer_tokens()
    message, _ = call(model, mode, "second")
    assert message.content
    assert len(mints(qianfan_emulator)) == 2


def test_many_threads_mint_one_bearer_token(qianfan_emulator) -> None:
    model = iam_model(qianfan_emulator)
    barrier = threading.Barrier(16, timeout=30)

    def work(i: int) -> str:
        barrier.wait()
        return str(model.invoke(f"线程{i}").content)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(work, range(16)))
    assert all(answers)
    assert len(mints(qianfan_emulator)) == 1


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_a_wrong_secret_key_is_a_clear_authentication_error(qianfan_emulator, protocol) -> None:
    model = ChatQianfan(
        base_url=qianfan_emulator.url,
        api_version=protocol,
        qianfan_access_key=qianfan_emulator.iam_ak,
        qianfan_secret_key="not-the-secret",
        max_retries=3,
    )
    record_sleeps(model)
    with pytest.raises(QianfanAuthenticationError) as info:
        model.invoke("你好")
    assert "QIANFAN_SECRET_KEY" in str(info.value) or "IAM" in str(info.value)


def test_iam_url_follows_base_url_unless_set(qianfan_emulator) -> None:
    model = iam_model(qianfan_emulator, iam_base_url="http://127.0.0.1:9")  # nothing there
    record_sleeps(model)
    with pytest.raises(Exception, match=r"127\.0\.0\.1:9"):
        model.invoke("你好")
    assert of(qianfan_emulator, "v2") == []


@pytest.mark.parametrize(
    ("version", "key", "app", "iam", "expected"),
    [
        ("auto", True, True, True, ("v2", "api_key")),
        ("auto", False, True, True, ("v2", "iam_keys")),
        ("auto", False, True, False, ("v1", "app_keys")),
        ("v2", False, True, True, ("v2", "iam_keys")),
        ("v1", True, True, True, ("v1", "app_keys")),
        ("v1", True, False, True, ("v1", "iam_keys")),
    ],
)
def test_credential_precedence(version, key, app, iam, expected) -> None:
    assert choose_credentials(version, has_api_key=key, has_ak_sk=app, has_iam_keys=iam) == expected


@pytest.mark.parametrize(
    ("version", "key", "app", "iam", "match"),
    [
        ("v2", False, True, False, "work on v1 only"),
        ("v1", True, False, False, "an API key works on v2 only"),
        ("auto", False, False, False, "QIANFAN_ACCESS_KEY"),
    ],
)
def test_unusable_credentials_say_what_to_set(version, key, app, iam, match) -> None:
    with pytest.raises(QianfanAuthenticationError, match=match):
        choose_credentials(version, has_api_key=key, has_ak_sk=app, has_iam_keys=iam)


def test_half_a_key_pair_is_refused_before_any_request(qianfan_emulator) -> None:
    model = ChatQianfan(base_url=qianfan_emulator.url, qianfan_access_key="ak-only")
    with pytest.raises(QianfanInvalidRequestError, match="QIANFAN_SECRET_KEY"):
        model.invoke("你好")
    assert qianfan_emulator.requests == []


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_no_iam_secret_signature_or_minted_token_leaks(qianfan_emulator, caplog, protocol):
    model = iam_model(qianfan_emulator, protocol, max_retries=1)
    model.invoke("warm up")
    qianfan_emulator.queue_error(336003)
    with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as info:
        model.invoke("你好")
    secrets = [qianfan_emulator.iam_sk]
    for request in qianfan_emulator.requests:
        auth = request.headers.get("Authorization", "")
        secrets.append(auth.rsplit("/", 1)[-1] if auth.startswith("bce-auth-v1") else "")
        secrets.append(auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else "")
    text = "\n".join(
        [
            str(info.value),
            "".join(traceback.format_exception(info.value)),
            caplog.text,
            repr(model),
            dumps(model),
            json.dumps(model._get_ls_params(), default=str),
        ]
    )
    for secret in filter(None, secrets):
        assert secret not in text


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (None, "https://iam.bj.baidubce.com"),
        ("https://qianfan.baidubce.com", "https://iam.bj.baidubce.com"),  # Baidu's own host
        ("https://aip.baidubce.com/v2", "https://iam.bj.baidubce.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),  # the emulator, a proxy
    ],
)
def test_where_tokens_are_minted(base_url, expected) -> None:
    model = ChatQianfan(base_url=base_url, qianfan_access_key="a", qianfan_secret_key="s")
    assert iam_url(model) == expected
    explicit = model.model_copy(update={"iam_base_url": "https://iam.example.com"})
    assert iam_url(explicit) == "https://iam.example.com"


def test_an_iam_url_that_would_not_be_used_is_refused(qianfan_emulator) -> None:
    model = ChatQianfan(
        base_url=qianfan_emulator.url,
        api_key=qianfan_emulator.api_key,
        iam_base_url="https://iam.example.com",
    )
    with pytest.raises(QianfanInvalidRequestError, match="iam_base_url is only used"):
        model.invoke("你好")
    assert qianfan_emulator.requests == []


def test_iam_url_settings_are_checked() -> None:
    with pytest.warns(UserWarning, match="iam_base_url http://iam.example.com"):
        ChatQianfan(iam_base_url="http://iam.example.com")
    for bad in ("https://iam.bj.baidubce.com/v1", "https://u:p@iam.com", "ftp://iam.com"):
        with pytest.raises(ValueError, match="iam_base_url"):
            ChatQianfan(iam_base_url=bad)


def test_bearer_tokens_are_replaced_before_they_expire() -> None:
    from pydantic import SecretStr  # noqa: PLC0415

    from langchain_qianfan_free._auth.schemes import IamBearerAuth  # noqa: PLC0415
    from langchain_qianfan_free._auth.token_cache import TokenCache  # noqa: PLC0415

    from .conftest import accept, cached  # noqa: PLC0415

    now = [1_700_000_000.0]
    auth = IamBearerAuth(
        "https://iam", SecretStr("a"), SecretStr("s"), cache=TokenCache(), clock=lambda: now[0]
    )
    body = json.dumps(
        {  # the server's clock is an hour behind ours: the lifetime still counts 12 h
            "token": "bce-v3/ALTAK-x/y",
            "createTime": "2023-11-14T21:13:20",
            "expireTime": "2023-11-15T09:13:20Z",
        }
    ).encode()
    assert accept(auth, 200, body) == "bce-v3/ALTAK-x/y"
    now[0] += 11.9 * 3600
    assert cached(auth) == "bce-v3/ALTAK-x/y"
    now[0] += 0.1 * 3600 - 299  # within the last 5 minutes: time for a new one
    assert cached(auth) is None
