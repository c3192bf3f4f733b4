"""The process-wide cache of short-lived tokens, and the one fetch per token.

v1 access tokens (OAuth) and v2 bearer tokens minted from IAM keys live in
:data:`TOKEN_CACHE`, the package's one piece of process-wide state: one token per
credential (keyed by a hash, never the keys themselves), reused by every model,
thread and task until shortly before it expires (:meth:`AccessToken.expiring`).

:meth:`TokenCache.fetch` and :meth:`TokenCache.afetch` hand out the cached token, or
fetch it through the ``send`` function a transport hands in (one HTTP request, no
retries). One fetch per credential is in flight in the whole process: the first caller
fetches, every other caller (any thread or event loop, sync or async) waits for that
fetch, and a caller whose fetcher is stuck or gone fetches by itself. The scheme
(:class:`~langchain_qianfan_free._auth.TokenAuth`) says where to ask and reads the
answer; the cache stores the token.

* A token's lifetime counts from when its request was sent (``auth.clock()`` before
  ``send``), as it does on the server, not from when the answer was read.
* When the fetch fails, every caller raises an exception of its own (same type and
  message), chained to one shared copy of the failure that carries no traceback: one
  exception object raised by many callers would collect all their frames (and, through
  their locals, every caller's prompt) in one traceback. The failure carries the token
  endpoint's ``Retry-After``, when it sent one.
* After ``os.fork()`` the child keeps the valid tokens, but not the fetches in flight
  (their fetching threads stayed in the parent) nor the locks (another parent thread
  may have held one at the moment of the fork): :func:`_after_fork_in_child` gives
  every cache fresh ones, so the child fetches by itself at once.
"""

from __future__ import annotations

import asyncio
import copy
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_qianfan_free import _logs as logs
from langchain_qianfan_free._transport.retry import retry_after
from langchain_qianfan_free.errors import QianfanError

if TYPE_CHECKING:
    from langchain_qianfan_free._auth import TokenAuth
    from langchain_qianfan_free._auth.token_answers import TokenAnswer
    from langchain_qianfan_free._protocols.common import HttpRequest

__all__ = [
    "TOKEN_CACHE",
    "AccessToken",
    "AsyncSend",
    "FetchAbandoned",
    "Flight",
    "SyncSend",
    "TokenCache",
]

SyncSend = Callable[["HttpRequest", "float | None"], tuple[int, Mapping[str, str], bytes]]
"""A transport's one-request send: ``(request, timeout) -> (status, headers, body)``."""

AsyncSend = Callable[
    ["HttpRequest", "float | None"], Awaitable[tuple[int, Mapping[str, str], bytes]]
]
"""The async twin of :data:`SyncSend`."""

_TOKEN_WAIT = 60.0  # seconds a caller waits for another caller's fetch when timeout is None
_MARGIN_SHARE = 0.1  # a token is replaced this share of its lifetime before it expires ...
_MARGIN_CAP = 300.0  # ... but at most this many seconds before


@dataclass(frozen=True)
class AccessToken:
    """A cached token (a v1 access token or a v2 bearer token) and when to replace it.

    Attributes:
        value: The token.
        refresh_at: When to stop using it (``time.time()`` seconds).
    """

    value: str
    refresh_at: float

    @classmethod
    def expiring(cls, value: str, sent: float, lifetime: float) -> AccessToken:
        """A token valid ``lifetime`` seconds from ``sent``, replaced a little before.

        The margin is 10 % of the lifetime, at most 5 minutes.
        """
        return cls(value, sent + lifetime - min(_MARGIN_CAP, lifetime * _MARGIN_SHARE))

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


class FetchAbandoned(Exception):  # noqa: N818 (a signal, not an error shown to users)
    """The caller fetching a token was interrupted; waiters should fetch themselves."""


class TokenCache:
    """Process-wide store of fetched tokens, keyed by a hash of the credentials."""

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

    def reject(self, auth: TokenAuth, stale: str | None) -> None:
        """The server rejected ``stale``: drop it, so the next call fetches a new one."""
        if self.invalidate(auth.key, stale):
            logs.info(
                "%s from %s rejected by the server: dropped, the next call fetches a new one",
                auth.kind,
                auth.token_url,
            )
        else:
            logs.debug(
                "%s from %s rejected by the server: already replaced by another call",
                auth.kind,
                auth.token_url,
            )

    def clear(self) -> None:
        """Forget every token (for tests and credential rotation)."""
        with self._guard:
            self._tokens.clear()
            self._seen.clear()

    def join_or_start(self, key: str) -> tuple[Flight, bool]:
        """Join the fetch of ``key``'s token that is in flight, or start one.

        Returns:
            The fetch's future, and whether the caller must do the fetch (and then
            :meth:`finish` it); the others wait on the future (``.result()``, or
            awaiting :meth:`Flight.for_loop` from any event loop).
        """
        with self._guard:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = Flight()
            self._flights[key] = flight
            return flight, True

    def finish(self, key: str, flight: Flight, token: str | BaseException) -> None:
        """End a fetch started by :meth:`join_or_start`: its token, or why it failed."""
        with self._guard:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if flight.done():  # pragma: no cover (a Flight cannot be cancelled)
            return
        if isinstance(token, BaseException):
            flight.set_exception(token)
        else:
            flight.set_result(token)

    def fetch(self, auth: TokenAuth, send: SyncSend, timeout: float | None) -> str:
        """``auth``'s token: cached, fetched here, or by whoever is fetching it already.

        Args:
            auth: The token scheme.
            send: The transport's one-request send (no retries).
            timeout: Seconds for the request; also how long to wait for another
                caller's fetch (``None``: a minute) before fetching here.

        Raises:
            QianfanError: The fetch failed (this caller's own exception).
        """
        cached = self.get(auth.key, auth.clock())
        if cached is not None:
            return cached.value
        while True:
            flight, mine = self.join_or_start(auth.key)
            if not mine:
                if flight.owner == threading.get_ident():
                    # A sync call inside the event loop that is fetching: waiting
                    # would block the very loop that must finish the fetch.
                    return self._fetch_once(auth, send, timeout)
                logs.debug("%s: waiting for the fetch in flight", auth.kind)
                try:
                    # .exception(), not .result(): raising the shared object here would
                    # add this caller's frames to its traceback.
                    failure = flight.exception(timeout=timeout or _TOKEN_WAIT)
                except FutureTimeout:  # the fetching caller is stuck: do it here
                    logs.debug("%s: the fetch in flight is stuck, fetching here", auth.kind)
                    return self._fetch_once(auth, send, timeout)
                if failure is None:
                    return flight.result()
                if isinstance(failure, FetchAbandoned):
                    continue
                raise _twin(failure) from failure
            outcome: str | BaseException = FetchAbandoned()
            try:
                cached = self.get(auth.key, auth.clock())  # fetched while this one waited
                token = cached.value if cached else self._fetch_once(auth, send, timeout)
                outcome = token
                return token
            except Exception as error:
                outcome = _shared(error)
                raise
            finally:
                self.finish(auth.key, flight, outcome)

    async def afetch(self, auth: TokenAuth, send: AsyncSend, timeout: float | None) -> str:
        """Async twin of :meth:`fetch`."""
        cached = self.get(auth.key, auth.clock())
        if cached is not None:
            return cached.value
        while True:
            flight, mine = self.join_or_start(auth.key)
            if not mine:
                logs.debug("%s: waiting for the fetch in flight", auth.kind)
                # asyncio.wait: this caller's cancellation or timeout never reaches the
                # fetch, which the loop's other waiters share.
                shared = flight.for_loop()
                await asyncio.wait((shared,), timeout=timeout or _TOKEN_WAIT)
                if not shared.done():  # the fetching caller is stuck: do it here
                    logs.debug("%s: the fetch in flight is stuck, fetching here", auth.kind)
                    return await self._afetch_once(auth, send, timeout)
                failure = shared.exception()  # not .result(): see fetch
                if failure is None:
                    return shared.result()
                if isinstance(failure, FetchAbandoned):
                    continue
                raise _twin(failure) from failure
            outcome: str | BaseException = FetchAbandoned()
            try:
                cached = self.get(auth.key, auth.clock())  # fetched while this one waited
                token = cached.value if cached else await self._afetch_once(auth, send, timeout)
                outcome = token
                return token
            except Exception as error:
                outcome = _shared(error)
                raise
            finally:
                self.finish(auth.key, flight, outcome)

    def _fetch_once(self, auth: TokenAuth, send: SyncSend, timeout: float | None) -> str:
        """One token request, its answer read and stored."""
        request = auth.token_request()
        logs.debug("%s: asking %s", auth.kind, auth.token_url)
        sent = auth.clock()
        headers: Mapping[str, str] = {}
        try:
            status, headers, body = send(request, timeout)
            answer = auth.read_answer(status, body, sent)
        except Exception as error:
            body = b""  # an odd answer may hold a token: not in the locals a traceback keeps
            _failed(auth, error, headers)
            raise
        return self.store(auth, answer, sent)

    async def _afetch_once(self, auth: TokenAuth, send: AsyncSend, timeout: float | None) -> str:
        """Async twin of :meth:`_fetch_once`."""
        request = auth.token_request()
        logs.debug("%s: asking %s", auth.kind, auth.token_url)
        sent = auth.clock()
        headers: Mapping[str, str] = {}
        try:
            status, headers, body = await send(request, timeout)
            answer = auth.read_answer(status, body, sent)
        except Exception as error:
            body = b""  # an odd answer may hold a token: not in the locals a traceback keeps
            _failed(auth, error, headers)
            raise
        return self.store(auth, answer, sent)

    def store(self, auth: TokenAuth, answer: TokenAnswer, sent: float) -> str:
        """Cache a fetched token (its lifetime counted from ``sent``); log it; return it."""
        token = AccessToken.expiring(answer.value, sent, answer.lifetime)
        refreshed = self.fetched_before(auth.key)
        self.put(auth.key, token)
        logs.info(
            "%s %s from %s: valid for %.0f s from the request, replaced after %.0f s",
            auth.kind,
            "refreshed" if refreshed else "fetched",
            auth.token_url,
            answer.lifetime,
            token.refresh_at - sent,
        )
        return token.value

    def _forget_parent(self) -> None:
        """In a forked child: fresh locks, no fetch in flight; the tokens stay."""
        self._guard = threading.Lock()
        self._flights = {}


def _failed(auth: TokenAuth, error: Exception, headers: Mapping[str, str]) -> None:
    """Log a failed fetch; give its error the server's ``Retry-After``, if any."""
    asked = retry_after(headers)
    if asked is not None and isinstance(error, QianfanError):
        error.set_retry_after(asked)
    # A QianfanError's text is made to be shown; another exception is a bug, whose
    # text is not ours to vouch for: its type says enough.
    reason = str(error) if isinstance(error, QianfanError) else type(error).__name__
    logs.info("%s from %s: the fetch failed: %s", auth.kind, auth.token_url, reason)


def _shared(error: Exception) -> BaseException:
    """The failure to hand to the waiters: a copy of ``error`` without its traceback.

    The fetching caller's traceback (and so its frames' locals: its prompt) stays with
    its own ``error``, which is chained to the copy like every waiter's exception.
    """
    shared = _twin(error)
    if error.__cause__ is None:
        error.__cause__ = shared
    return shared


def _twin(error: BaseException) -> BaseException:
    """A new exception like ``error``: same type, message and attributes; no traceback.

    A QianfanError rebuilds through its ``__reduce__``; another type is copied the same
    way (``copy.copy``), else made without calling its ``__init__``, else it becomes a
    ``RuntimeError`` naming its type and message.
    """
    twin: BaseException
    try:
        twin = copy.copy(error)
    except Exception:  # noqa: BLE001 (any exception type may arrive here)
        try:
            twin = type(error).__new__(type(error), *error.args)
        except Exception:  # noqa: BLE001
            twin = RuntimeError(f"{type(error).__qualname__}: {_text(error)}")
    if twin is error:  # pragma: no cover (a __copy__ that returns self)
        twin = RuntimeError(f"{type(error).__qualname__}: {_text(error)}")
    for name, value in vars(error).items():  # what __reduce__ leaves out (notes, extras)
        vars(twin).setdefault(name, value)
    twin.__traceback__ = twin.__cause__ = twin.__context__ = None
    twin.__suppress_context__ = False
    return twin


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 (a broken __str__)
        return "(its message could not be read)"


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
"""The process-wide token cache (see the module docstring)."""
