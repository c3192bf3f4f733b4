"""Where the integration tests run: real Qianfan when credentials are set, else the emulator.

* v2 runs against Qianfan when ``QIANFAN_API_KEY`` (or ``QIANFAN_BEARER_TOKEN``) is set.
* v1 runs against Qianfan when ``QIANFAN_AK`` and ``QIANFAN_SK`` are set.
* Otherwise that protocol runs against one embedded emulator for the session.

Live tests may open sockets beyond loopback; everything else stays on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_qianfan_free.emulator import QianfanEmulator


def live(protocol: str) -> bool:
    """Whether real credentials for ``protocol`` are in the environment."""
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


def model_params(protocol: str) -> dict[str, Any]:
    """ChatQianfan settings for ``protocol``: live credentials or the emulator's."""
    if live(protocol):
        from langchain_core.rate_limiters import InMemoryRateLimiter  # noqa: PLC0415

        # Stay well under the free tier's limits when talking to the real service.
        return {"api_version": protocol, "rate_limiter": InMemoryRateLimiter(requests_per_second=1)}
    emu = emulator()
    creds = (
        {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
        if protocol == "v1"
        else {"api_key": emu.api_key}
    )
    return {"api_version": protocol, "base_url": emu.url, **creds}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Let live tests reach Qianfan (unit tests stay on loopback)."""
    for item in items:
        protocol = getattr(item.cls, "protocol", None)
        if protocol and live(protocol):
            item.add_marker(pytest.mark.enable_socket)
