"""bce-auth-v1 signing: the official vectors and the worked Qianfan examples (reference §6)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from langchain_qianfan_free._auth.signing import (
    Signed,
    authorization,
    bce_timestamp,
    canonical_headers,
    canonical_query,
    canonical_request,
    signing_key,
    uri_encode,
)

TS = "2014-06-13T05:57:36Z"


def test_timestamp_format() -> None:
    assert bce_timestamp(1402639056) == TS
    assert bce_timestamp(datetime(2024, 5, 21, 8, 0, tzinfo=timezone.utc)) == "2024-05-21T08:00:00Z"


def test_uri_encoding_rules() -> None:
    assert uri_encode("a b/c:d~e") == "a%20b%2Fc%3Ad~e"
    assert uri_encode("/a b/", keep_slash=True) == "/a%20b/"
    assert uri_encode("文") == "%E6%96%87"


def test_official_vector_a() -> None:
    query = [("A", None), ("b", ""), ("C", "d")]
    headers = {"Host": "bce.baidu.com", "abc": "123", "x-bce-meta-key1": "ABC"}
    assert canonical_query(query) == "A=&C=d&b="
    block, names = canonical_headers(headers, ["host", "x-bce-meta-key1"])
    assert block == "host:bce.baidu.com\nx-bce-meta-key1:ABC"
    assert names == ["host", "x-bce-meta-key1"]
    assert authorization(
        "my_ak",
        "my_sk",
        method="PUT",
        path="/v1/bucket/object1",
        query=query,
        headers=headers,
        timestamp=TS,
        names=["host", "x-bce-meta-key1"],
        expiration=1800,
    ) == (
        "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/host;x-bce-meta-key1/"
        "80c9672aca2ea9af4bb40b9a8ff458d72df94e97d550840727f3a929af271d25"
    )


def test_official_vector_b() -> None:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": "0",
        "User-Agent": "This is the user-agent",
    }
    names = ["host", "content-length", "content-type", "content-md5"]  # the default set
    block, _ = canonical_headers(headers, names)
    assert block == "content-length:0\ncontent-type:application%2Fjson%3B%20charset%3Dutf-8"
    assert authorization(
        "my_ak",
        "my_sk",
        method="DELETE",
        path="/v1/test-bucket1361199862",
        query=[],
        headers=headers,
        timestamp=TS,
        names=names,
        expiration=1800,
    ) == (
        "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/content-length;content-type/"
        "c9386b15d585960ae5e6972f73ed92a9a682dc81025480ba5b41206d3e489822"
    )


QIANFAN = {
    "Host": "aip.baidubce.com",
    "Content-Type": "application/json",
    "x-bce-date": "2024-05-21T08:00:00Z",
}
PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-speed-128k"


@pytest.mark.parametrize(
    ("names", "expiration", "expected"),
    [
        (
            ["content-type", "host", "x-bce-date"],
            1800,
            "content-type;host;x-bce-date/"
            "a41a5e928ae4e1834eaee25bce51a6c8c3f64a3766e57f9bf62c3dba284d04c6",
        ),
        (
            ["host", "x-bce-date"],
            1800,
            "host;x-bce-date/733b92908b83c19c6c288a320ddb9b0484c63afb653fc2188ba040ad6480862d",
        ),
        (
            ["x-bce-date", "content-type", "host"],  # any order in: sorted out
            300,
            "content-type;host;x-bce-date/"
            "ac5253456696cc7c837e9f0ff735a5bde29006bb0b6681287ea808eef6ed9ae5",
        ),
    ],
)
def test_worked_qianfan_examples(names, expiration, expected) -> None:
    prefix = f"bce-auth-v1/my_ak/2024-05-21T08:00:00Z/{expiration}"
    assert (
        authorization(
            "my_ak",
            "my_sk",
            method="POST",
            path=PATH,
            query=[],
            headers=QIANFAN,
            timestamp="2024-05-21T08:00:00Z",
            names=names,
            expiration=expiration,
        )
        == f"{prefix}/{expected}"
    )


def test_worked_example_intermediates() -> None:
    assert signing_key("my_sk", "bce-auth-v1/my_ak/2024-05-21T08:00:00Z/1800") == (
        "28c84e429936c800580af9631ecf7dc2b6728290e8e21f3d58bfa0010be6e7df"
    )
    assert signing_key("my_sk", "bce-auth-v1/my_ak/2024-05-21T08:00:00Z/300") == (
        "f0225d78ea8c61f2f224c359536d57c589fb6644bba56955ed7374617dd7c7da"
    )
    text, _ = canonical_request("post", PATH, [], QIANFAN, ["content-type", "host", "x-bce-date"])
    assert text == (
        f"POST\n{PATH}\n\ncontent-type:application%2Fjson\nhost:aip.baidubce.com\n"
        "x-bce-date:2024-05-21T08%3A00%3A00Z"
    )


def test_bearer_token_request_example() -> None:
    headers = {"Host": "iam.bj.baidubce.com", "x-bce-date": "2024-05-21T08:00:00Z"}
    assert authorization(
        "my_ak",
        "my_sk",
        method="GET",
        path="/v1/BCE-BEARER/token",
        query=[("expireInSeconds", "43200")],
        headers=headers,
        timestamp="2024-05-21T08:00:00Z",
        names=["host", "x-bce-date"],
    ) == (
        "bce-auth-v1/my_ak/2024-05-21T08:00:00Z/1800/host;x-bce-date/"
        "adfd98b55d9fed0b1b45511047cf6e79426bdb97bd9a7be5912c07ac9f8aa0cc"
    )


def test_signed_repr_hides_the_signature() -> None:
    assert "bce-auth-v1" not in repr(Signed("bce-auth-v1/ak/t/1800/host/abc", "t"))
