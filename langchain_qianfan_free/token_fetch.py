"""Fetching a short-lived token once for every caller that needs it (sync and async).

The transports hand in their ``send`` function (one HTTP request, no retries); the
functions here run the single flight of :meth:`TokenCache.board`: the first caller
fetches, every other caller in the process (any thread or event loop) waits for that
fetch, and a caller whose fetcher is stuck or gone fetches by itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout

from langchain_qianfan_free.auth import FetchAbandoned, TokenAuth
from langchain_qianfan_free.protocol import HttpRequest

__all__ = ["AsyncSend", "SyncSend", "fetch_async", "fetch_sync"]

SyncSend = Callable[[HttpRequest, "float | None"], tuple[int, Mapping[str, str], bytes]]
"""A transport's one-request send: ``(request, timeout) -> (status, headers, body)``."""

AsyncSend = Callable[
    [HttpRequest, "float | None"], Awaitable[tuple[int, Mapping[str, str], bytes]]
]
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
                return _fetch_directly(auth, send, timeout)
            try:
                return flight.result(timeout=timeout or _TOKEN_WAIT)
            except FetchAbandoned:
                continue
            except FutureTimeout:  # the fetching caller is stuck: do it here
                return _fetch_directly(auth, send, timeout)
        outcome: str | BaseException = FetchAbandoned()
        try:
            credential = auth.cached()
            if credential is None:
                status, _, body = send(auth.token_request(), timeout)
                credential = auth.accept(status, body)
            outcome = credential
            return credential
        except Exception as error:
            outcome = error
            raise
        finally:
            auth.cache.land(auth.key, flight, outcome)


def _fetch_directly(auth: TokenAuth, send: SyncSend, timeout: float | None) -> str:
    status, _, body = send(auth.token_request(), timeout)
    return auth.accept(status, body)


async def fetch_async(auth: TokenAuth, send: AsyncSend, timeout: float | None) -> str:
    """Async twin of :func:`fetch_sync`."""
    while True:
        flight, mine = auth.cache.board(auth.key)
        if not mine:
            # asyncio.wait: this caller's cancellation or timeout never reaches the
            # fetch, which the loop's other waiters share.
            shared = flight.for_loop()
            await asyncio.wait((shared,), timeout=timeout or _TOKEN_WAIT)
            if not shared.done():  # the fetching caller is stuck: do it here
                status, _, body = await send(auth.token_request(), timeout)
                return auth.accept(status, body)
            try:
                return shared.result()
            except FetchAbandoned:
                continue
        outcome: str | BaseException = FetchAbandoned()
        try:
            credential = auth.cached()
            if credential is None:
                status, _, body = await send(auth.token_request(), timeout)
                credential = auth.accept(status, body)
            outcome = credential
            return credential
        except Exception as error:
            outcome = error
            raise
        finally:
            auth.cache.land(auth.key, flight, outcome)
