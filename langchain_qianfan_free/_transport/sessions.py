"""aiohttp sessions: one per event loop, their gates, and their end.

An aiohttp session belongs to one event loop. :class:`LoopSessions` keeps one per
loop for one async transport, each with a gate as wide as its connection pool, and
closes it when that loop shuts down its async generators (``asyncio.run`` does), so a
model keeps working across consecutive ``asyncio.run(...)`` calls and in many threads
that each run a loop, without leaking connections.

The table is shared by every thread that uses the model, so it is only read and
changed under a lock (never held across an ``await``). After ``os.fork()`` the child
forgets every inherited session without touching it: its sockets are the parent's
too, and a close from the child could write on them (TLS close alerts).

This is the only module that touches aiohttp's private attributes (to give up the
sessions of event loops that closed without closing them).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_qianfan_free._transport.netenv import redact_library_logs

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "LoopSession",
    "LoopSessions",
    "forget_inherited_sessions",
    "hold_imports",
    "release_imports",
]

# Held while aiohttp is first imported, and by a thread about to fork: a child forked
# while another thread is inside that import (which holds the module's import lock)
# would wait for that lock forever, since the importing thread does not exist there.
_IMPORTING = threading.RLock()
_HELD: list[bool] = []  # whether the forking thread got _IMPORTING (a stack: forks nest)
_HOLD_AT_MOST = 30.0  # seconds a fork waits for another thread's import


def hold_imports() -> None:
    """Before a fork: wait (a bounded time) for a first import of aiohttp to end."""
    _HELD.append(_IMPORTING.acquire(timeout=_HOLD_AT_MOST))


def release_imports(*, child: bool) -> None:
    """After a fork: release what :func:`hold_imports` took (a child gets a new lock)."""
    global _IMPORTING  # noqa: PLW0603 (the child's copy may be held by a thread it lacks)
    held = _HELD.pop() if _HELD else False
    if child:
        _IMPORTING = threading.RLock()
        _HELD.clear()
    elif held:
        _IMPORTING.release()


@dataclass(frozen=True)
class LoopSession:
    """The session of one event loop, and the gate its calls pass.

    Attributes:
        loop: The event loop the session belongs to.
        session: The aiohttp session.
        gate: As wide as the session's connection pool; a call holds one place for
            as long as it uses a connection.
        size: The pool's size (``max_connections``).
    """

    loop: asyncio.AbstractEventLoop
    session: aiohttp.ClientSession
    gate: asyncio.Semaphore
    size: int
    keeper: AsyncGenerator[None, None]
    finalizer: weakref.finalize[Any, Any]


class LoopSessions:
    """One transport's sessions, one per event loop (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[int, LoopSession] = {}
        self._guard = threading.Lock()

    def current(self, loop: asyncio.AbstractEventLoop) -> LoopSession | None:
        """The open session of ``loop``, if it has one."""
        entry = self._entries.get(id(loop))  # one dict read: atomic
        if entry is not None and entry.loop is loop and not entry.session.closed:
            return entry
        return None

    async def open(self, owner: object, size: int) -> LoopSession:
        """The running loop's session, created if it has none.

        Args:
            owner: The transport; when it is garbage, the session is closed.
            size: The connection pool's size.
        """
        loop = asyncio.get_running_loop()
        entry = self.current(loop)
        if entry is not None:
            return entry
        with _IMPORTING:  # a fork waits for this import to end (see hold_imports)
            import aiohttp  # noqa: PLC0415 (lazy: only async users pay for it)

        self._forget_closed_loops()
        redact_library_logs()
        # Proxies come from EnvProxies (read once per host), not trust_env (per request).
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=size))
        _OPEN_SESSIONS[id(session)] = (loop, session)
        # Closed soon after the transport is garbage, on its loop if that still runs
        # (the registry above keeps the session from being collected with the
        # transport in one pass, which aiohttp would report as unclosed) ...
        finalizer = weakref.finalize(owner, _close_soon, loop, session)
        # ... or when the loop shuts down its async generators (asyncio.run does).
        keeper = _keep(session, finalizer)
        await keeper.__anext__()
        entry = LoopSession(loop, session, asyncio.Semaphore(size), size, keeper, finalizer)
        with self._guard:
            self._entries[id(loop)] = entry
        return entry

    async def close(self) -> None:
        """Close the running loop's session now (for loops managed by hand)."""
        with self._guard:
            entry = self._entries.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry.keeper.aclose()  # closes the session, and is done

    def forget_after_fork(self) -> None:
        """In a forked child: drop every inherited session without touching it."""
        self._guard = threading.Lock()  # another parent thread may have held it
        for entry in self._entries.values():
            entry.finalizer.detach()
            _INHERITED.append(entry.session)
        self._entries = {}

    def _forget_closed_loops(self) -> None:
        with self._guard:
            dead = [key for key, entry in self._entries.items() if entry.loop.is_closed()]
            entries = [self._entries.pop(key) for key in dead]
        for entry in entries:
            entry.finalizer.detach()
            _drop_dead(entry.session)


async def _keep(
    session: aiohttp.ClientSession, finalizer: weakref.finalize[Any, Any]
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        finalizer.detach()  # it would keep the closed loop and session alive
        await session.close()
        _OPEN_SESSIONS.pop(id(session), None)


# Sessions not yet closed, with their loops: kept here (not only by their transport)
# so that garbage collection never finalizes a session before it is closed.
_OPEN_SESSIONS: dict[int, tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}
# A forked child's inherited sessions: kept, never closed (their sockets are the
# parent's), so that collecting them neither closes them nor warns.
_INHERITED: list[aiohttp.ClientSession] = []


def forget_inherited_sessions() -> None:
    """In a forked child: forget the process-wide registry of open sessions."""
    _INHERITED.extend(session for _, session in _OPEN_SESSIONS.values())
    _OPEN_SESSIONS.clear()


def _close_soon(loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession) -> None:
    """Close a session whose transport is gone: on its loop, or at once if that is dead."""
    if session.closed:
        _OPEN_SESSIONS.pop(id(session), None)
        return
    if loop.is_closed():
        _drop_dead(session)
        return

    async def close() -> None:
        await session.close()
        _OPEN_SESSIONS.pop(id(session), None)

    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(lambda: loop.create_task(close()))


def _drop_dead(session: aiohttp.ClientSession) -> None:
    """Give up a session whose event loop is closed, without aiohttp's warnings.

    Its connections cannot be closed through a dead loop: they are dropped (the
    operating system closes the sockets when they are collected). Avoid this by
    letting the loop shut down its async generators (``asyncio.run`` does), or by
    calling ``await model.aclose()`` before closing a loop by hand.
    """
    _OPEN_SESSIONS.pop(id(session), None)
    connector = session.connector
    pooled = getattr(connector, "_conns", None)  # aiohttp: key -> [(protocol, time)]
    for entries in pooled.values() if isinstance(pooled, dict) else ():
        for protocol, _ in entries:
            _close_socket(getattr(protocol, "transport", None))
    close_now = getattr(connector, "_close", None)  # aiohttp's synchronous close
    if callable(close_now):
        close_now()
    session.detach()


def _close_socket(transport: object) -> None:
    """Close an asyncio transport's socket without its (closed) loop."""
    sock = getattr(transport, "_sock", None)
    if sock is not None:
        sock.close()
        transport._sock = None  # type: ignore[attr-defined]  # its __del__ checks this


@atexit.register
def _at_exit() -> None:
    for loop, session in list(_OPEN_SESSIONS.values()):
        if loop.is_running():
            continue
        if not loop.is_closed():
            with contextlib.suppress(Exception):
                loop.run_until_complete(session.close())
        if not session.closed:
            _drop_dead(session)
        _OPEN_SESSIONS.pop(id(session), None)
