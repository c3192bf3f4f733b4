"""A local emulator of Baidu Qianfan's chat APIs (v1 wenxinworkshop + v2), for tests.

Start one with ``with QianfanEmulator() as emu:`` (or the ``qianfan_emulator`` pytest
fixture), point a client at ``emu.url`` and queue faults or replies with the
``queue_*`` methods (``match=`` aims one at some requests; :class:`Match`). See
``docs/emulator.md``.

Public modules: :mod:`~langchain_qianfan_free.emulator.server` (the emulator),
:mod:`~langchain_qianfan_free.emulator.scenario` (faults and their queue),
:mod:`~langchain_qianfan_free.emulator.records` (the request log) and
:mod:`~langchain_qianfan_free.emulator.config` (settings); the ``_``-prefixed modules
are internals. The pytest fixtures live in :mod:`langchain_qianfan_free.pytest_plugin`.
"""

from __future__ import annotations

from langchain_qianfan_free.emulator.records import RecordedRequest
from langchain_qianfan_free.emulator.scenario import (
    DisconnectFault,
    ErrorFault,
    Fault,
    HttpStatusFault,
    MalformedJsonFault,
    Match,
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
    "Match",
    "QianfanEmulator",
    "RecordedRequest",
    "ReplyFault",
    "SlowFault",
    "StreamErrorFault",
    "ToolCallsFault",
]
