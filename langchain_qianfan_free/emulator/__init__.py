"""A local emulator of Baidu Qianfan's chat APIs (v1 wenxinworkshop + v2), for tests.

Start one with ``with QianfanEmulator() as emu:`` (or the ``qianfan_emulator`` pytest
fixture), point a client at ``emu.url`` and queue faults or replies with the
``queue_*`` methods. See ``docs/emulator.md``.

The names are loaded lazily so that the pytest plugin (imported by every pytest run
once this package is installed) does not import aiohttp until a test uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_qianfan_free.emulator.records import RecordedRequest
    from langchain_qianfan_free.emulator.scenario import (
        DisconnectFault,
        ErrorFault,
        Fault,
        HttpStatusFault,
        MalformedJsonFault,
        ReplyFault,
        SlowFault,
        StreamErrorFault,
        ToolCallsFault,
    )
    from langchain_qianfan_free.emulator.server import QianfanEmulator

__all__ = [
    "DisconnectFault",
    "ErrorFault",
    "Fault",
    "HttpStatusFault",
    "MalformedJsonFault",
    "QianfanEmulator",
    "RecordedRequest",
    "ReplyFault",
    "SlowFault",
    "StreamErrorFault",
    "ToolCallsFault",
]

_HOMES = {
    "QianfanEmulator": "server",
    "RecordedRequest": "records",
    **dict.fromkeys(
        (
            "DisconnectFault",
            "ErrorFault",
            "Fault",
            "HttpStatusFault",
            "MalformedJsonFault",
            "ReplyFault",
            "SlowFault",
            "StreamErrorFault",
            "ToolCallsFault",
        ),
        "scenario",
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
