"""pytest plugin: the ``qianfan_emulator`` fixture (registered as a ``pytest11`` entry point).

One emulator serves the whole test session; it is :meth:`reset
<langchain_qianfan_free.emulator.QianfanEmulator.reset>` before each test that asks for
it, so queued faults, the request log and rate-limit windows never leak between tests.

With pytest-socket, allow loopback connections (``--allow-hosts=127.0.0.1``); fully
disabled sockets also block the emulator's own listening socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_qianfan_free.emulator.server import QianfanEmulator

__all__ = ["qianfan_emulator", "qianfan_emulator_session"]


@pytest.fixture(scope="session")
def qianfan_emulator_session() -> Iterator[QianfanEmulator]:
    """The session's emulator, started on first use and stopped at the end of the session.

    Prefer :func:`qianfan_emulator`, which also resets it for each test.
    """
    from langchain_qianfan_free.emulator.server import QianfanEmulator  # noqa: PLC0415

    with QianfanEmulator() as emulator:
        yield emulator


@pytest.fixture
def qianfan_emulator(qianfan_emulator_session: QianfanEmulator) -> QianfanEmulator:
    """A running :class:`~langchain_qianfan_free.emulator.QianfanEmulator`, reset for this test."""
    qianfan_emulator_session.reset()
    return qianfan_emulator_session
