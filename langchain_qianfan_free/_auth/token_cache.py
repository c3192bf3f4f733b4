"""The process-wide cache of short-lived credentials, and one fetch per credential.

v1 access tokens (OAuth) and v2 bearer tokens minted from IAM keys live in
:data:`TOKEN_CACHE`, the package's one piece of process-wide state: one token per
credential (keyed by a hash, never the keys themselves), reused by every model,
thread and task until shortly before it expires, and fetched once however many
callers need it at the same moment, from any thread or event loop, sync or async
(:meth:`TokenCache.board`).

After ``os.fork()`` the child keeps the valid tokens, but not the fetches in flight
(their fetching threads stayed in the parent) nor the locks (another parent thread may
have held one at the moment of the fork): :func:`_after_fork_in_child` gives every
cache fresh ones, so the child fetches by itself at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from concurrent.futures import Future
from dataclasses import dataclass

__all__ = ["TOKEN_CACHE", "AccessToken", "FetchAbandoned", "Flight", "TokenCache"]


@dataclass(frozen=True)
class AccessToken:
    """A v1 access token and when to stop using it (``time.time()`` seconds)."""

    value: str
    refresh_at: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', refresh_at={self.refresh_at:.0f})"


class Flight(Future[str]):
    """One token fetch in progress; others wait on it.

    It is marked running at once, so a waiter's cancellation never cancels it.

    Attributes:
        owner: The thread that does the fetch (a sync call made on that thread, e.g.
            inside the event loop that is fetching, must not wait for it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.owner = threading.get_ident()
        self.set_running_or_notify_cancel()
        self._per_loop: dict[asyncio.AbstractEventLoop, asyncio.Future[str]] = {}
        self._per_loop_guard = threading.Lock()

    def for_loop(self) -> asyncio.Future[str]:
        """This fetch as a future of the running event loop.

        One per loop, shared by all of that loop's waiters: a cold burst of 500 calls
        then chains one asyncio future to the fetch instead of 499 (about 1 MB less).
        Waiters must not cancel it (``asyncio.wait`` never does).
        """
        loop = asyncio.get_running_loop()
        with self._per_loop_guard:
            shared = self._per_loop.get(loop)
            if shared is None:
                shared = self._per_loop[loop] = asyncio.wrap_future(self, loop=loop)
                # A failed fetch whose waiters all gave up (timed out, cancelled) is not
                # an error of this loop: mark it seen, or asyncio logs it when collected.
                shared.add_done_callback(_seen)
            return shared


def _seen(future: asyncio.Future[str]) -> None:
    if not future.cancelled():
        future.exception()


class TokenCache:
    """Process-wide store of v1 access tokens, keyed by a hash of the credentials."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._seen: set[str] = set()  # keys fetched before: the next fetch is a refresh
        self._flights: dict[str, Flight] = {}
        self._guard = threading.Lock()
        _CACHES.add(self)

    def get(self, key: str, now: float | None = None) -> AccessToken | None:
        """The cached token, if it is still good to use."""
        token = self._tokens.get(key)
        if token is not None and (time.time() if now is None else now) < token.refresh_at:
            return token
        return None

    def put(self, key: str, token: AccessToken) -> None:
        """Store a freshly fetched token."""
        self._tokens[key] = token
        self._seen.add(key)

    def fetched_before(self, key: str) -> bool:
        """Whether a token of ``key`` was stored before (a new fetch is then a refresh)."""
        return key in self._seen

    def invalidate(self, key: str, stale: str | None) -> bool:
        """Forget the token the server rejected, unless another caller replaced it.

        Returns:
            Whether a token was dropped.
        """
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and (stale is None or current.value == stale):
                del self._tokens[key]
                return True
            return False

    def clear(self) -> None:
        """Forget every token (for tests and credential rotation)."""
        with self._guard:
            self._tokens.clear()
            self._seen.clear()

    def _forget_parent(self) -> None:
        """In a forked child: fresh locks, no fetch in flight; the tokens stay."""
        self._guard = threading.Lock()
        self._flights = {}

    def board(self, key: str) -> tuple[Flight, bool]:
        """Join the fetch of ``key``'s token that is in flight, or start one.

        One fetch per credential is in flight in the whole process, whichever
        threads, event loops, sync or async callers need the token at once.

        Returns:
            The fetch's future, and whether the caller must do the fetch (and then
            :meth:`land` it); the others wait on the future (``.result()``, or
            awaiting :meth:`Flight.for_loop` from any event loop).
        """
        with self._guard:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = Flight()
            self._flights[key] = flight
            return flight, True

    def land(self, key: str, flight: Flight, token: str | BaseException) -> None:
        """End a fetch started by :meth:`board`: its token, or why it failed."""
        with self._guard:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if flight.done():  # pragma: no cover (a Flight cannot be cancelled)
            return
        if isinstance(token, BaseException):
            flight.set_exception(token)
        else:
            flight.set_result(token)


class FetchAbandoned(Exception):  # noqa: N818 (a signal, not an error shown to users)
    """The caller fetching a token was interrupted; waiters should fetch themselves."""


_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()
"""Every cache alive, for :func:`_after_fork_in_child`."""


def _after_fork_in_child() -> None:
    # The child has one thread: the one that forked. A fetch in flight belongs to a
    # parent thread and never lands here, and a lock a parent thread held stays
    # held. The inherited flights are only dropped, never completed: completing one
    # would take its internal lock, which may be held too.
    for cache in list(_CACHES):
        cache._forget_parent()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)

TOKEN_CACHE = TokenCache()
"""The process-wide v1 access-token cache (see the module docstring)."""
