"""pytest plugin: the ``qianfan_emulator`` fixture (registered as a ``pytest11`` entry point).

One emulator serves the whole test session; it is :meth:`reset
<langchain_qianfan_free.emulator.QianfanEmulator.reset>` before each test that asks for
it, so queued faults, the request log and rate-limit windows never leak between tests.
A test marked ``@pytest.mark.qianfan_emulator_all_consumed`` also fails at teardown when
something it queued was never used (:meth:`assert_all_consumed
<langchain_qianfan_free.emulator.QianfanEmulator.assert_all_consumed>`).

This module is imported by every pytest run in an environment that has the package, so
it imports only pytest; the emulator (and aiohttp) load when a test first uses the fixture.

With pytest-socket, allow loopback connections (``--allow-hosts=127.0.0.1``); fully
disabled sockets also block the emulator's own listening socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_qianfan_free.emulator import QianfanEmulator

__all__ = ["qianfan_emulator", "qianfan_emulator_session"]

_ALL_CONSUMED = "qianfan_emulator_all_consumed"


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{_ALL_CONSUMED}: fail at teardown when behaviour queued on the qianfan_emulator "
        "fixture was never used (QianfanEmulator.assert_all_consumed)",
    )


@pytest.fixture(scope="session")
def qianfan_emulator_session() -> Iterator[QianfanEmulator]:
    """The session's emulator, started on first use and stopped at the end of the session.

    Prefer :func:`qianfan_emulator`, which also resets it for each test.
    """
    from langchain_qianfan_free.emulator import QianfanEmulator  # noqa: PLC0415

    with QianfanEmulator() as emulator:
        yield emulator


@pytest.fixture
def qianfan_emulator(
    qianfan_emulator_session: QianfanEmulator, request: pytest.FixtureRequest
) -> Iterator[QianfanEmulator]:
    """A running :class:`~langchain_qianfan_free.emulator.QianfanEmulator`, reset for this test.

    With the ``qianfan_emulator_all_consumed`` marker, the test also fails at teardown
    when a queued fault or reply was never used.
    """
    qianfan_emulator_session.reset()
    yield qianfan_emulator_session
    if request.node.get_closest_marker(_ALL_CONSUMED) is not None:
        qianfan_emulator_session.assert_all_consumed()
