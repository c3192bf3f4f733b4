"""Where the integration tests run: real Qianfan when credentials are set, else the emulator.

* v2 runs against Qianfan when ``QIANFAN_API_KEY`` (or ``QIANFAN_BEARER_TOKEN``) is set.
* v1 runs against Qianfan when ``QIANFAN_AK`` and ``QIANFAN_SK`` are set.
* The IAM classes (signed v1, v2 bearer minted from IAM keys) run against Qianfan when
  ``QIANFAN_ACCESS_KEY`` and ``QIANFAN_SECRET_KEY`` are set.
* Otherwise each runs against one embedded emulator for the session.

Live tests may open sockets beyond loopback; everything else stays on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_qianfan_free.emulator import QianfanEmulator


def live(protocol: str, *, iam: bool = False) -> bool:
    """Whether real credentials for ``protocol`` are in the environment."""
    if iam:
        return bool(os.environ.get("QIANFAN_ACCESS_KEY") and os.environ.get("QIANFAN_SECRET_KEY"))
    if protocol == "v2":
        return bool(os.environ.get("QIANFAN_API_KEY") or os.environ.get("QIANFAN_BEARER_TOKEN"))
    return bool(os.environ.get("QIANFAN_AK") and os.environ.get("QIANFAN_SK"))


_EMULATOR: list[QianfanEmulator] = []


def emulator() -> QianfanEmulator:
    """The session's emulator (started by the autouse fixture below)."""
    return _EMULATOR[0]


@pytest.fixture(scope="session", autouse=True)
def _session_emulator() -> Iterator[None]:
    with QianfanEmulator() as emu:
        _EMULATOR.append(emu)
        yield
        _EMULATOR.clear()


def model_params(protocol: str, *, iam: bool = False) -> dict[str, Any]:
    """ChatQianfan settings for ``protocol``: live credentials or the emulator's.

    With ``iam``, the credentials are Baidu Cloud IAM keys (v1: signed requests; v2:
    bearer tokens minted from them).
    """
    if live(protocol, iam=iam):
        from langchain_core.rate_limiters import InMemoryRateLimiter  # noqa: PLC0415

        # Stay well under the free tier's limits when talking to the real service.
        limiter = InMemoryRateLimiter(requests_per_second=1)
        # The IAM classes must not fall back on an API key or v1 keys also in the env.
        only_iam = {"api_key": None, "qianfan_ak": None, "qianfan_sk": None} if iam else {}
        return {"api_version": protocol, "rate_limiter": limiter, **only_iam}
    emu = emulator()
    if iam:
        creds: dict[str, Any] = {"qianfan_access_key": emu.iam_ak, "qianfan_secret_key": emu.iam_sk}
    elif protocol == "v1":
        creds = {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
    else:
        creds = {"api_key": emu.api_key}
    return {"api_version": protocol, "base_url": emu.url, **creds}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Let live tests reach Qianfan (unit tests stay on loopback)."""
    for item in items:
        protocol = getattr(item.cls, "protocol", None)
        if protocol and live(protocol, iam=getattr(item.cls, "iam", False)):
            item.add_marker(pytest.mark.enable_socket)
