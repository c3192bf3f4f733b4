"""IAM in the emulator: ``bce-auth-v1`` verification on v1 chat, and v2 bearer tokens.

Requests are signed here with :mod:`langchain_qianfan_free._auth.signing` (the client's
signer) and sent over HTTP with ``requests``; the verifier itself is also checked
against the reference's official and worked vectors, which do not depend on that
signer. Time is the emulator's injected clock: nothing sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from langchain_qianfan_free._auth.signing import authorization, bce_timestamp
from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._auth import SignedRequest
from langchain_qianfan_free.emulator._bearer import parse_lifetime
from langchain_qianfan_free.emulator._iam import (
    BceError,
    SignatureVerifier,
    parse_authorization,
)

T0 = 1716278400.0  # 2024-05-21T08:00:00Z, the reference's worked examples
CHAT_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie_speed"
BEARER_PATH = "/v1/BCE-BEARER/token"
BODY = json.dumps({"messages": [{"role": "user", "content": "你好"}]}, ensure_ascii=False).encode()
V2_BODY = {"model": "ernie-speed-8k", "messages": [{"role": "user", "content": "你好"}]}
DEFAULT_SET = ("host", "content-length", "content-type", "content-md5", "x-bce-date")


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def emu_session(clock: Clock) -> Iterator[QianfanEmulator]:
    with QianfanEmulator(clock=clock, seed=3) as emulator:
        yield emulator


@pytest.fixture
def emu(emu_session: QianfanEmulator, clock: Clock) -> QianfanEmulator:
    clock.now = T0
    emu_session.reset()
    return emu_session


def md5_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324


def signed_headers(
    emu: QianfanEmulator,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    names: tuple[str, ...] = ("content-type", "host", "x-bce-date"),
    extra: dict[str, str] | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    at: float = T0,
    expiration: int = 1800,
) -> dict[str, str]:
    """Headers of a request signed the way a client does, ``Host`` with its port."""
    timestamp = bce_timestamp(at)
    headers = {"Host": f"127.0.0.1:{emu.port}", "x-bce-date": timestamp, **(extra or {})}
    if body:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
    headers["Authorization"] = authorization(
        access_key or emu.iam_ak,
        secret_key or emu.iam_sk,
        method=method,
        path=path,
        query=query or [],
        headers=headers,
        timestamp=timestamp,
        names=names,
        expiration=expiration,
    )
    return headers


def with_listed(auth: str, listed: str) -> str:
    """``auth`` with its signedHeaders field replaced (same signature)."""
    parts = auth.split("/")
    parts[4] = listed
    return "/".join(parts)


def post_v1(
    emu: QianfanEmulator,
    headers: dict[str, str],
    *,
    body: bytes = BODY,
    path: str = CHAT_PATH,
    query: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    response = requests.post(emu.url + path, params=query, data=body, headers=headers, timeout=10)
    assert response.status_code == 200  # v1 errors are HTTP 200 too
    return response.json()  # type: ignore[no-any-return]


def is_iam_failure(answer: dict[str, Any]) -> bool:
    return (answer.get("error_code"), answer.get("error_msg")) == (14, "IAM Certification failed")


# -- v1 chat signed with bce-auth-v1 ----------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(("host", "x-bce-date"), id="java-sdk"),
        pytest.param(("content-type", "host", "x-bce-date"), id="ernie-sdk"),
        pytest.param(
            ("content-length", "content-md5", "content-type", "host", "x-bce-date"),
            id="with-body-md5",
        ),
        pytest.param(("host",), id="host-only"),
    ],
)
def test_signed_v1_chat_is_accepted(emu: QianfanEmulator, names: tuple[str, ...]) -> None:
    extra = {"Content-MD5": md5_b64(BODY)} if "content-md5" in names else None
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, names=names, extra=extra)
    answer = post_v1(emu, headers)
    assert "error_code" not in answer, answer
    assert answer["result"].startswith("【千帆模拟器】ernie_speed")
    record = emu.requests[-1]
    assert (record.protocol, record.headers["Host"]) == ("v1", f"127.0.0.1:{emu.port}")
    assert "access_token" not in record.query


def test_signed_headers_listed_in_any_order_are_accepted(emu: QianfanEmulator) -> None:
    names = ("content-type", "host", "x-bce-date")
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, names=names)
    assert "/content-type;host;x-bce-date/" in headers["Authorization"]
    # The Qianfan Python SDK lists them in set order; the signature does not change.
    headers["Authorization"] = with_listed(headers["Authorization"], "x-bce-date;Content-Type;host")
    assert "error_code" not in post_v1(emu, headers)


def test_empty_signed_headers_mean_the_default_set(emu: QianfanEmulator) -> None:
    extra = {"Content-MD5": md5_b64(BODY), "x-bce-request-id": "r-1"}
    headers = signed_headers(
        emu, "POST", CHAT_PATH, body=BODY, names=(*DEFAULT_SET, "x-bce-request-id"), extra=extra
    )
    headers["Authorization"] = with_listed(headers["Authorization"], "")
    assert "//" in headers["Authorization"]
    assert "error_code" not in post_v1(emu, headers)
    # The default set covers every x-bce-* header sent and content-md5 (so the body).
    changed = {**headers, "x-bce-request-id": "r-2"}
    assert is_iam_failure(post_v1(emu, changed))
    assert is_iam_failure(post_v1(emu, headers, body=BODY.replace("你好".encode(), b"hello!")))


def test_signed_query_parameters_are_verified(emu: QianfanEmulator) -> None:
    query = [("b", "x y/z"), ("A", ""), ("中", "文")]
    headers = signed_headers(emu, "POST", CHAT_PATH, query=query, body=BODY)
    assert "error_code" not in post_v1(emu, headers, query=query)
    assert "error_code" not in post_v1(emu, headers, query=list(reversed(query)))  # sorted
    assert is_iam_failure(post_v1(emu, headers, query=[("b", "x y/z"), ("A", "1"), ("中", "文")]))
    assert is_iam_failure(post_v1(emu, headers, query=[*query, ("extra", "1")]))
    assert is_iam_failure(post_v1(emu, headers))


def test_the_authorization_query_parameter_is_not_signed(emu: QianfanEmulator) -> None:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY)
    assert "error_code" not in post_v1(emu, headers, query=[("authorization", "anything")])


def test_the_body_is_not_covered_unless_content_md5_is_signed(emu: QianfanEmulator) -> None:
    other = BODY.replace("你好".encode(), "再见".encode())
    assert len(other) == len(BODY)
    headers = signed_headers(
        emu, "POST", CHAT_PATH, body=BODY, names=("content-length", "host", "x-bce-date")
    )
    answer = post_v1(emu, headers, body=other)  # reference §6: no payload hash
    assert "再见" in answer["result"]
    signed_md5 = signed_headers(
        emu,
        "POST",
        CHAT_PATH,
        body=BODY,
        names=("content-md5", "host", "x-bce-date"),
        extra={"Content-MD5": md5_b64(BODY)},
    )
    assert "error_code" not in post_v1(emu, signed_md5)
    assert is_iam_failure(post_v1(emu, signed_md5, body=other))
    # A content-md5 that is signed but does not describe the body is refused too.
    lying = signed_headers(
        emu,
        "POST",
        CHAT_PATH,
        body=BODY,
        names=("content-md5", "host", "x-bce-date"),
        extra={"Content-MD5": md5_b64(other)},
    )
    assert is_iam_failure(post_v1(emu, lying))


def tamper_path(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY)
    return headers, CHAT_PATH.replace("ernie_speed", "ernie-lite-8k")


def tamper_header(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY)
    return {**headers, "Content-Type": "application/json; charset=utf-8"}, CHAT_PATH


def tamper_host(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, extra={"Host": "127.0.0.1"})
    return {**headers, "Host": f"127.0.0.1:{emu.port}"}, CHAT_PATH


def tamper_date(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, names=("host",))
    return {**headers, "x-bce-date": bce_timestamp(T0 + 1)}, CHAT_PATH


def wrong_secret(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    return signed_headers(emu, "POST", CHAT_PATH, body=BODY, secret_key="not-the-sk"), CHAT_PATH


def unknown_key(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, access_key="nobody")
    return headers, CHAT_PATH


def other_users_key(emu: QianfanEmulator) -> tuple[dict[str, str], str]:
    # The v1 OAuth API Key / Secret Key pair is not an IAM credential.
    headers = signed_headers(
        emu, "POST", CHAT_PATH, body=BODY, access_key=emu.ak, secret_key=emu.sk
    )
    return headers, CHAT_PATH


@pytest.mark.parametrize(
    "tamper",
    [
        tamper_path,
        tamper_header,
        tamper_host,
        tamper_date,
        wrong_secret,
        unknown_key,
        other_users_key,
    ],
)
def test_tampered_or_wrongly_signed_requests_get_14(
    emu: QianfanEmulator, tamper: Callable[[QianfanEmulator], tuple[dict[str, str], str]]
) -> None:
    headers, path = tamper(emu)
    answer = post_v1(emu, headers, path=path)
    assert is_iam_failure(answer), answer
    assert re.fullmatch(r"as-[a-z0-9]{10}", answer["id"])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("Bearer bce-v3/ALTAK-x/y", id="bearer"),
        pytest.param("bce-auth-v2/{ak}/2024-05-21T08:00:00Z/1800/host/{sig}", id="version"),
        pytest.param("bce-auth-v1/{ak}/2024-05-21T08:00:00Z/1800/{sig}", id="five-parts"),
        pytest.param("bce-auth-v1/{ak}/2024-05-21 08:00:00/1800/host/{sig}", id="timestamp"),
        pytest.param("bce-auth-v1/{ak}/2024-13-21T08:00:00Z/1800/host/{sig}", id="month-13"),
        pytest.param("bce-auth-v1/{ak}/2024-05-21T08:00:00Z/-1/host/{sig}", id="expiration"),
        pytest.param("bce-auth-v1/{ak}/2024-05-21T08:00:00Z/1800/host;;x/{sig}", id="names"),
        pytest.param("bce-auth-v1/{ak}/2024-05-21T08:00:00Z/1800/host/not-hex", id="signature"),
        pytest.param("bce-auth-v1//2024-05-21T08:00:00Z/1800/host/{sig}", id="no-ak"),
        pytest.param("bce-auth-v1/{ak}/2024-05-21T08:00:00Z/1800/x-bce-date/{sig}", id="no-host"),
    ],
)
def test_malformed_authorization_headers_get_14(emu: QianfanEmulator, value: str) -> None:
    headers = {
        "Authorization": value.format(ak=emu.iam_ak, sig="ab" * 32),
        "x-bce-date": bce_timestamp(T0),
    }
    assert is_iam_failure(post_v1(emu, headers))


@pytest.mark.parametrize(
    ("signed_at", "now", "accepted"),
    [
        pytest.param(T0, T0 + 1800, True, id="last-second-of-the-window"),
        pytest.param(T0, T0 + 1801, False, id="expired"),
        pytest.param(T0 + 300, T0, True, id="future-within-skew"),
        pytest.param(T0 + 301, T0, False, id="future-beyond-skew"),
    ],
)
def test_signature_validity_window(
    emu: QianfanEmulator, clock: Clock, signed_at: float, now: float, accepted: bool
) -> None:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, at=signed_at)
    clock.now = now
    answer = post_v1(emu, headers)
    assert ("error_code" not in answer) is accepted
    if not accepted:
        assert is_iam_failure(answer)


def test_the_expiration_in_the_header_is_the_window(emu: QianfanEmulator, clock: Clock) -> None:
    headers = signed_headers(emu, "POST", CHAT_PATH, body=BODY, expiration=300)
    clock.now = T0 + 301
    assert is_iam_failure(post_v1(emu, headers))


def test_failed_signatures_do_not_take_queued_behaviour(emu: QianfanEmulator) -> None:
    emu.queue_error(336100)
    wrong = signed_headers(emu, "POST", CHAT_PATH, body=BODY, secret_key="wrong")
    assert is_iam_failure(post_v1(emu, wrong))
    assert len(emu.pending_faults) == 1
    good = signed_headers(emu, "POST", CHAT_PATH, body=BODY)
    assert post_v1(emu, good)["error_code"] == 336100


def test_a_custom_skew_and_credentials() -> None:
    clock = Clock()
    with QianfanEmulator(
        clock=clock, iam_credentials={"ak-1": "sk-1", "ak-2": "sk-2"}, iam_clock_skew=0
    ) as emu:
        assert (emu.iam_ak, emu.iam_sk) == ("ak-1", "sk-1")
        second = signed_headers(
            emu, "POST", CHAT_PATH, body=BODY, access_key="ak-2", secret_key="sk-2"
        )
        assert "error_code" not in post_v1(emu, second)
        ahead = signed_headers(emu, "POST", CHAT_PATH, body=BODY, at=T0 + 1)
        assert is_iam_failure(post_v1(emu, ahead))


# -- the verifier against the reference's vectors (independent of our signer) ----------------


def verify(request: SignedRequest, at: float, credentials: dict[str, str]) -> str | BceError:
    return SignatureVerifier(credentials, clock=lambda: at).check(request)


def test_official_vector_a() -> None:
    auth = (
        "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/host;x-bce-meta-key1/"
        "80c9672aca2ea9af4bb40b9a8ff458d72df94e97d550840727f3a929af271d25"
    )
    headers = {
        "Host": "bce.baidu.com",
        "abc": "123",
        "x-bce-meta-key1": "ABC",
        "Authorization": auth,
    }
    request = SignedRequest(
        "PUT", "/v1/bucket/object1", {}, headers, (("A", ""), ("b", ""), ("C", "d"))
    )
    assert verify(request, 1402639056, {"my_ak": "my_sk"}) == "my_ak"
    assert verify(request, 1402639056, {"my_ak": "other"}) == BceError(
        400,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your Secret Access Key and signing method. "
        "Consult the service documentation for details.",
    )


def test_official_vector_b_is_refused_as_it_does_not_sign_host() -> None:
    auth = (
        "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/content-length;content-type/"
        "c9386b15d585960ae5e6972f73ed92a9a682dc81025480ba5b41206d3e489822"
    )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": "0",
        "User-Agent": "anything",
        "Authorization": auth,
    }
    request = SignedRequest("DELETE", "/v1/test-bucket1361199862", {}, headers)
    # A correct signature (test_signing.py), but BCE requires Host to be signed.
    assert verify(request, 1402639056, {"my_ak": "my_sk"}) == BceError(
        400,
        "InvalidHTTPAuthHeader",
        "The HTTP authorization header is invalid. Consult the service documentation for details.",
    )
    headers["Host"] = "bce.baidu.com"  # the same with the default set (empty list) is fine
    headers["Authorization"] = authorization(
        "my_ak",
        "my_sk",
        method="DELETE",
        path="/v1/test-bucket1361199862",
        query=[],
        headers=headers,
        timestamp="2014-06-13T05:57:36Z",
        names=("host", "content-length", "content-type", "content-md5"),
    )
    headers["Authorization"] = with_listed(headers["Authorization"], "")
    request = SignedRequest("DELETE", "/v1/test-bucket1361199862", {}, headers)
    assert verify(request, 1402639056, {"my_ak": "my_sk"}) == "my_ak"


@pytest.mark.parametrize(
    ("names", "expiration", "signature"),
    [
        (
            "content-type;host;x-bce-date",
            1800,
            "a41a5e928ae4e1834eaee25bce51a6c8c3f64a3766e57f9bf62c3dba284d04c6",
        ),
        (
            "host;x-bce-date",
            1800,
            "733b92908b83c19c6c288a320ddb9b0484c63afb653fc2188ba040ad6480862d",
        ),
        (
            "x-bce-date;host;content-type",  # unsorted, as the Python SDK may list them
            300,
            "ac5253456696cc7c837e9f0ff735a5bde29006bb0b6681287ea808eef6ed9ae5",
        ),
    ],
)
def test_worked_qianfan_examples(names: str, expiration: int, signature: str) -> None:
    headers = {
        "Host": "aip.baidubce.com",
        "Content-Type": "application/json",
        "x-bce-date": "2024-05-21T08:00:00Z",
        "Authorization": f"bce-auth-v1/my_ak/2024-05-21T08:00:00Z/{expiration}/{names}/{signature}",
    }
    request = SignedRequest(
        "POST", "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-speed-128k", {}, headers
    )
    assert verify(request, T0, {"my_ak": "my_sk"}) == "my_ak"
    assert isinstance(verify(request, T0 + expiration + 1, {"my_ak": "my_sk"}), BceError)


def test_parse_authorization() -> None:
    header = parse_authorization(
        "bce-auth-v1/ak/2024-05-21T08:00:00Z/300/X-BCE-DATE;host//" + "A" * 64
    )
    assert header is None  # seven fields
    header = parse_authorization(
        "bce-auth-v1/ak/2024-05-21T08:00:00Z/300/X-BCE-DATE;host/" + "A" * 64
    )
    assert header is not None
    assert (header.access_key, header.timestamp, header.signed_at, header.expiration) == (
        "ak",
        "2024-05-21T08:00:00Z",
        T0,
        300,
    )
    assert header.signed_headers == ("x-bce-date", "host")
    assert header.signature == "a" * 64
    assert header.prefix == "bce-auth-v1/ak/2024-05-21T08:00:00Z/300"
    empty = parse_authorization("bce-auth-v1/ak/2024-05-21T08:00:00Z/300//" + "0" * 64)
    assert empty is not None
    assert empty.signed_headers == ()


# -- the bearer-token endpoint ---------------------------------------------------------------


def get_bearer(
    emu: QianfanEmulator,
    query: list[tuple[str, str]] | None = None,
    *,
    sent_query: list[tuple[str, str]] | None = None,
    method: str = "GET",
    **sign: Any,
) -> requests.Response:
    query = [("expireInSeconds", "43200")] if query is None else query
    headers = signed_headers(
        emu, method, BEARER_PATH, query=query, names=("host", "x-bce-date"), **sign
    )
    return requests.request(
        method,
        emu.bearer_token_url,
        params=query if sent_query is None else sent_query,
        headers=headers,
        timeout=10,
    )


def test_bearer_token_is_minted(emu: QianfanEmulator, clock: Clock) -> None:
    clock.now = T0 + 0.75  # fractions of a second are dropped from the times
    response = get_bearer(emu)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["x-bce-request-id"])
    body = response.json()
    assert set(body) == {"userId", "token", "status", "createTime", "expireTime"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["userId"])
    assert re.fullmatch(r"bce-v3/ALTAK-[0-9a-f]{24}/[0-9a-f]{40}", body["token"])
    assert body["status"] == "enable"
    assert (body["createTime"], body["expireTime"]) == (
        "2024-05-21T08:00:00Z",
        "2024-05-21T20:00:00Z",
    )
    again = get_bearer(emu).json()
    assert again["userId"] == body["userId"]  # one user per Access Key
    assert again["token"] != body["token"]
    records = emu.requests
    assert [record.protocol for record in records] == ["iam", "iam"]
    assert (records[0].method, records[0].path, records[0].query) == (
        "GET",
        BEARER_PATH,
        {"expireInSeconds": "43200"},
    )


def test_bearer_token_default_lifetime(emu: QianfanEmulator) -> None:
    body = get_bearer(emu, []).json()
    assert body["expireTime"] == bce_timestamp(T0 + 1800)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("1", 200),
        ("2592000", 200),
        ("0", 400),
        ("2592001", 400),
        ("-5", 400),
        ("1.5", 400),
        ("abc", 400),
        ("", 400),
    ],
)
def test_bearer_token_lifetime_bounds(emu: QianfanEmulator, value: str, status: int) -> None:
    response = get_bearer(emu, [("expireInSeconds", value)])
    assert response.status_code == status
    if status == 200:
        assert response.json()["expireTime"] == bce_timestamp(T0 + int(value))
    else:
        body = response.json()
        assert body["code"] == "InvalidHTTPRequest"
        assert "expireInSeconds" in body["message"]
        assert body["requestId"] == response.headers["x-bce-request-id"]


def test_parse_lifetime() -> None:
    assert parse_lifetime(None) == 1800
    assert parse_lifetime(" 60 ") == 60
    assert isinstance(parse_lifetime("٣"), BceError)  # a digit, but not ASCII


def expired_request(emu: QianfanEmulator, clock: Clock) -> requests.Response:
    clock.now = T0 + 1801
    return get_bearer(emu)


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        pytest.param(
            lambda emu, clock: get_bearer(emu, secret_key="wrong"),
            400,
            "SignatureDoesNotMatch",
            id="wrong-sk",
        ),
        pytest.param(
            lambda emu, clock: get_bearer(emu, sent_query=[("expireInSeconds", "2592000")]),
            400,
            "SignatureDoesNotMatch",
            id="tampered-query",
        ),
        pytest.param(
            lambda emu, clock: get_bearer(emu, access_key="nobody"),
            403,
            "InvalidAccessKeyId",
            id="unknown-ak",
        ),
        pytest.param(expired_request, 400, "RequestExpired", id="expired"),
        pytest.param(
            lambda emu, clock: get_bearer(emu, at=T0 + 600),
            400,
            "RequestExpired",
            id="future",
        ),
        pytest.param(
            lambda emu, clock: requests.get(
                emu.bearer_token_url,
                headers={"Authorization": "bce-auth-v1/x", "x-bce-date": bce_timestamp(T0)},
                timeout=10,
            ),
            400,
            "InvalidHTTPAuthHeader",
            id="malformed",
        ),
        pytest.param(
            lambda emu, clock: requests.get(emu.bearer_token_url, timeout=10),
            400,
            "InvalidHTTPAuthHeader",
            id="unsigned",
        ),
        pytest.param(
            lambda emu, clock: get_bearer(emu, method="POST"),
            405,
            "MethodNotAllowed",
            id="post",
        ),
    ],
)
def test_bearer_token_errors(
    emu: QianfanEmulator,
    clock: Clock,
    send: Callable[[QianfanEmulator, Clock], requests.Response],
    status: int,
    code: str,
) -> None:
    response = send(emu, clock)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"requestId", "code", "message"}
    assert body["code"] == code
    assert body["requestId"] == response.headers["x-bce-request-id"]
    assert "token" not in body
    if code == "RequestExpired":
        assert re.fullmatch(
            r"Request has expired\. Timestamp date is [0-9T:-]+Z\.", body["message"]
        )


def test_the_signature_is_checked_before_the_lifetime(emu: QianfanEmulator) -> None:
    response = get_bearer(emu, [("expireInSeconds", "0")], secret_key="wrong")
    assert response.json()["code"] == "SignatureDoesNotMatch"


def test_the_reference_bearer_example_is_accepted() -> None:
    """§6.4: the IAM request as sent to iam.bj.baidubce.com, signed with my_ak/my_sk."""
    with QianfanEmulator(clock=Clock(), iam_credentials={"my_ak": "my_sk"}) as emu:
        headers = {
            "Host": "iam.bj.baidubce.com",
            "x-bce-date": "2024-05-21T08:00:00Z",
            "Authorization": "bce-auth-v1/my_ak/2024-05-21T08:00:00Z/1800/host;x-bce-date/"
            "adfd98b55d9fed0b1b45511047cf6e79426bdb97bd9a7be5912c07ac9f8aa0cc",
        }
        response = requests.get(
            emu.bearer_token_url, params={"expireInSeconds": "43200"}, headers=headers, timeout=10
        )
        assert response.status_code == 200, response.text


# -- minted tokens on v2 ---------------------------------------------------------------------


def post_v2(emu: QianfanEmulator, credential: str) -> requests.Response:
    return requests.post(
        emu.v2_chat_url,
        json=V2_BODY,
        headers={"Authorization": f"Bearer {credential}"},
        timeout=10,
    )


def is_invalid_iam_token(response: requests.Response) -> bool:
    return response.status_code == 401 and response.json()["error"] == {
        "code": "invalid_iam_token",
        "message": "IAM Certification failed",
        "type": "access_denied",
    }


def test_a_minted_token_works_on_v2_until_its_expire_time(
    emu: QianfanEmulator, clock: Clock
) -> None:
    token = get_bearer(emu, [("expireInSeconds", "60")]).json()["token"]
    answer = post_v2(emu, token)
    assert answer.status_code == 200
    assert answer.json()["created"] == int(T0)  # the injected clock
    clock.now = T0 + 59
    assert post_v2(emu, token).status_code == 200
    clock.now = T0 + 60
    assert is_invalid_iam_token(post_v2(emu, token))
    assert post_v2(emu, emu.api_key).status_code == 200


def test_expire_bearer_tokens(emu: QianfanEmulator) -> None:
    minted = get_bearer(emu).json()["token"]
    direct = emu.issue_bearer_token()
    assert post_v2(emu, minted).status_code == post_v2(emu, direct).status_code == 200
    emu.expire_bearer_tokens()
    assert is_invalid_iam_token(post_v2(emu, minted))
    assert is_invalid_iam_token(post_v2(emu, direct))
    assert post_v2(emu, emu.api_key).status_code == 200  # API keys are not tokens
    fresh = get_bearer(emu).json()["token"]
    assert post_v2(emu, fresh).status_code == 200  # the client's way out: mint again
    emu.reset()
    assert post_v2(emu, minted).status_code == 200  # reset undoes expire_bearer_tokens


def test_minted_tokens_are_not_v1_access_tokens(emu: QianfanEmulator) -> None:
    token = emu.issue_bearer_token()
    response = requests.post(
        emu.v1_chat_url(), params={"access_token": token}, data=BODY, timeout=10
    )
    assert response.json()["error_code"] == 110


def test_issue_bearer_token(emu: QianfanEmulator, clock: Clock) -> None:
    token = emu.issue_bearer_token(expire_in_seconds=10)
    assert emu.requests == []  # no round trip
    clock.now = T0 + 10
    assert is_invalid_iam_token(post_v2(emu, token))
    with pytest.raises(KeyError, match="nobody"):
        emu.issue_bearer_token("nobody")
    with pytest.raises(ValueError, match="expire_in_seconds"):
        emu.issue_bearer_token(expire_in_seconds=0)


def test_the_clock_also_drives_access_token_lifetimes(emu: QianfanEmulator, clock: Clock) -> None:
    token = emu.issue_access_token()
    ok = requests.post(emu.v1_chat_url(), params={"access_token": token}, data=BODY, timeout=10)
    assert "error_code" not in ok.json()
    clock.now = T0 + 2592000
    late = requests.post(emu.v1_chat_url(), params={"access_token": token}, data=BODY, timeout=10)
    assert late.json()["error_code"] == 111


def test_the_iam_examples_in_the_docs_run() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "emulator.md"
    text = docs.read_text(encoding="utf-8")
    section = text.split("## IAM signing and bearer tokens", 1)[1].split("\n## ", 1)[0]
    snippets = [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]
    assert len(snippets) == 2
    for snippet in snippets:
        exec(compile(snippet, str(docs), "exec"), {})  # noqa: S102 - our own documentation
