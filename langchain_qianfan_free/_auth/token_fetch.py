"""Fetching a short-lived token once for every caller that needs it (sync and async).

The transports hand in their ``send`` function (one HTTP request, no retries); the
functions here run the single flight of :meth:`TokenCache.board`: the first caller
fetches, every other caller in the process (any thread or event loop) waits for that
fetch, and a caller whose fetcher is stuck or gone fetches by itself.

When the fetch fails, every caller raises an exception of its own (same type and
message), chained to one shared copy of the failure that carries no traceback: one
exception object raised by many callers would collect all their frames (and, through
their locals, every caller's prompt) in one traceback.

A token's lifetime counts from when its request was sent (``auth.clock()`` before
``send``), as it does on the server, not from when the answer was read.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout

from langchain_qianfan_free import _logs as logs
from langchain_qianfan_free._auth.schemes import FetchAbandoned, TokenAuth
from langchain_qianfan_free._protocols.common import HttpRequest
from langchain_qianfan_free._transport.retry import retry_after
from langchain_qianfan_free.errors import QianfanError

__all__ = ["AsyncSend", "SyncSend", "fetch_async", "fetch_sync"]

SyncSend = Callable[[HttpRequest, "float | None"], tuple[int, Mapping[str, str], bytes]]
"""A transport's one-request send: ``(request, timeout) -> (status, headers, body)``."""

AsyncSend = Callable[[HttpRequest, "float | None"], Awaitable[tuple[int, Mapping[str, str], bytes]]]
"""The async twin of :data:`SyncSend`."""

_TOKEN_WAIT = 60.0  # seconds a caller waits for another caller's fetch when timeout is None


def fetch_sync(auth: TokenAuth, send: SyncSend, timeout: float | None) -> str:
    """The token: fetched here, or by whoever in the process is fetching it already."""
    while True:
        flight, mine = auth.cache.board(auth.key)
        if not mine:
            if flight.owner == threading.get_ident():
                # A sync call inside the event loop that is fetching: waiting
                # would block the very loop that must finish the fetch.
                return _fetch_sync(auth, send, timeout)
            logs.debug("%s: waiting for the fetch in flight", auth.kind)
            try:
                # .exception(), not .result(): raising the shared object here would
                # add this caller's frames to its traceback.
                failure = flight.exception(timeout=timeout or _TOKEN_WAIT)
            except FutureTimeout:  # the fetching caller is stuck: do it here
                logs.debug("%s: the fetch in flight is stuck, fetching here", auth.kind)
                return _fetch_sync(auth, send, timeout)
            if failure is None:
                return flight.result()
            if isinstance(failure, FetchAbandoned):
                continue
            raise _twin(failure) from failure
        outcome: str | BaseException = FetchAbandoned()
        try:
            credential = auth.cached()
            if credential is None:
                credential = _fetch_sync(auth, send, timeout)
            outcome = credential
            return credential
        except Exception as error:
            outcome = _shared(error)
            raise
        finally:
            auth.cache.land(auth.key, flight, outcome)


async def fetch_async(auth: TokenAuth, send: AsyncSend, timeout: float | None) -> str:
    """Async twin of :func:`fetch_sync`."""
    while True:
        flight, mine = auth.cache.board(auth.key)
        if not mine:
            logs.debug("%s: waiting for the fetch in flight", auth.kind)
            # asyncio.wait: this caller's cancellation or timeout never reaches the
            # fetch, which the loop's other waiters share.
            shared = flight.for_loop()
            await asyncio.wait((shared,), timeout=timeout or _TOKEN_WAIT)
            if not shared.done():  # the fetching caller is stuck: do it here
                logs.debug("%s: the fetch in flight is stuck, fetching here", auth.kind)
                return await _fetch_async(auth, send, timeout)
            failure = shared.exception()  # not .result(): see fetch_sync
            if failure is None:
                return shared.result()
            if isinstance(failure, FetchAbandoned):
                continue
            raise _twin(failure) from failure
        outcome: str | BaseException = FetchAbandoned()
        try:
            credential = auth.cached()
            if credential is None:
                credential = await _fetch_async(auth, send, timeout)
            outcome = credential
            return credential
        except Exception as error:
            outcome = _shared(error)
            raise
        finally:
            auth.cache.land(auth.key, flight, outcome)


def _fetch_sync(auth: TokenAuth, send: SyncSend, timeout: float | None) -> str:
    """One token request, its lifetime counted from when it was sent."""
    request = auth.token_request()
    logs.debug("%s: asking %s", auth.kind, auth.token_url)
    sent = auth.clock()
    headers: Mapping[str, str] = {}
    try:
        status, headers, body = send(request, timeout)
        return auth.accept(status, body, sent)
    except Exception as error:
        body = b""  # an odd answer may hold a token: not in the locals a traceback keeps
        _failed(auth, error, headers)
        raise


async def _fetch_async(auth: TokenAuth, send: AsyncSend, timeout: float | None) -> str:
    """Async twin of :func:`_fetch_sync`."""
    request = auth.token_request()
    logs.debug("%s: asking %s", auth.kind, auth.token_url)
    sent = auth.clock()
    headers: Mapping[str, str] = {}
    try:
        status, headers, body = await send(request, timeout)
        return auth.accept(status, body, sent)
    except Exception as error:
        body = b""  # an odd answer may hold a token: not in the locals a traceback keeps
        _failed(auth, error, headers)
        raise


def _failed(auth: TokenAuth, error: Exception, headers: Mapping[str, str]) -> None:
    """Log a failed fetch; give its error the server's ``Retry-After``, if any."""
    asked = retry_after(headers)
    if asked is not None and isinstance(error, QianfanError):
        error.set_retry_after(asked)
    _log_failure(auth, error)


def _log_failure(auth: TokenAuth, error: Exception) -> None:
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
