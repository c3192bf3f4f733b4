"""The non-blocking I/O loop: :class:`AsyncTransport`, on one aiohttp session per loop.

The twin of :mod:`~langchain_qianfan_free._transport.sync`: the two differ only in
``await``, ``async for`` and the sleep function. The per-loop sessions and their gates
live in :mod:`~langchain_qianfan_free._transport.sessions`; ``aiohttp`` is imported the
first time async is used, so ``import langchain_qianfan_free`` stays light.

Library exceptions quote the URL (and so the v1 access token), and an aiohttp
response's repr holds it too: each I/O helper raises a redacted ``QianfanError``
outside its ``except`` block, and drops the response from its locals first.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from requests.utils import DEFAULT_CA_BUNDLE_PATH

from langchain_qianfan_free._protocols.common import EventReader, HttpRequest, Reply
from langchain_qianfan_free._transport import retry
from langchain_qianfan_free._transport.call import (
    DEFAULT_MAX_CONNECTIONS,
    TAIL_BYTES,
    TAIL_SECONDS,
    Call,
    is_https,
    is_stream,
    network_error,
    pool_full,
    stream_failed,
    tail_failed,
    unfinished,
)
from langchain_qianfan_free._transport.forks import track
from langchain_qianfan_free._transport.netenv import EnvProxies, ssl_context
from langchain_qianfan_free._transport.sessions import LoopSession, LoopSessions
from langchain_qianfan_free.errors import QianfanError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AsyncTransport"]


class AsyncTransport:
    """Non-blocking I/O on one ``aiohttp.ClientSession`` per event loop.

    Args:
        sleep: How to wait between attempts (tests pass a recorder instead).
    """

    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._sleep = sleep
        self._proxy = EnvProxies()
        self._loops = LoopSessions()
        self._size = DEFAULT_MAX_CONNECTIONS
        self._context: ssl.SSLContext | None = None  # whom https trusts, read on first use
        track(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles get a transport of their own, opened on first use.
        return (type(self), () if self._sleep is asyncio.sleep else (self._sleep,))

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncTransport:
        return type(self)(self._sleep)

    async def session(self) -> aiohttp.ClientSession:
        """The running loop's session, created on first use."""
        return (await self._entry()).session

    async def aclose(self) -> None:
        """Close the running loop's session now (for loops managed by hand)."""
        await self._loops.close()

    def reset_after_fork(self) -> None:
        """In a forked child: forget every inherited session without touching it."""
        self._loops.forget_after_fork()

    async def complete(self, call: Call) -> Reply:
        """Send a non-streaming call, with retries; return the parsed answer."""
        self._size = call.max_connections
        state = retry.Attempts(call.auth.token_source, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            try:
                request = await self._authorize(call, state)
                status, headers, body = await self._send(request, call.timeout)
                return call.protocol.parse_reply(status, headers, body)
            except QianfanError as error:
                await self._sleep(state.wait_or_raise(error, headers))

    async def stream(self, call: Call) -> AsyncIterator[Reply]:
        """Send a streaming call; yield each event. Retried only before the first."""
        self._size = call.max_connections
        state = retry.Attempts(call.auth.token_source, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            delivered = 0
            response: aiohttp.ClientResponse | None = None
            try:
                request = await self._authorize(call, state)
                entry = await self._acquire(request, call.timeout)
                try:
                    async with await self._open(entry, request, call.timeout) as response:
                        headers = response.headers
                        if not is_stream(response.status, headers):
                            body = await self._read(response, request, call.timeout)
                            yield call.protocol.parse_reply(response.status, headers, body)
                            return
                        reader = EventReader(call.protocol, headers)
                        chunks = _aincremental(response, request, call.timeout)
                        async for reply in _areplies(reader, chunks):
                            delivered += 1
                            yield reply
                            if reply.done:
                                await _aend_body(response)
                                return
                        raise unfinished(request)
                finally:
                    entry.gate.release()
            except BaseException as error:
                response = None  # see _send: not in the locals a traceback keeps
                if not isinstance(error, QianfanError):
                    raise  # cancelled, closed, interrupted
                if delivered:
                    stream_failed(call.request, delivered, error)
                    raise
                await self._sleep(state.wait_or_raise(error, headers))

    async def _authorize(self, call: Call, state: retry.Attempts) -> HttpRequest:
        source = call.auth.token_source
        token = (
            None if source is None else await source.cache.afetch(source, self._send, call.timeout)
        )
        state.credential = token
        return call.auth.apply(call.request, token)

    async def _entry(self) -> LoopSession:
        entry = self._loops.current(asyncio.get_running_loop())
        if entry is None:
            entry = await self._loops.open(self, self._size)
        return entry

    async def _acquire(self, request: HttpRequest, timeout: float | None) -> LoopSession:
        """Take one of the loop's ``max_connections`` places, waiting at most ``timeout``.

        Calls beyond the pool wait here, as a coroutine, rather than inside aiohttp
        with a request already built (more memory per waiting call: docs/performance.md).
        """
        entry = await self._entry()
        if not entry.gate.locked():
            await entry.gate.acquire()  # free: taken at once
            return entry
        try:
            await asyncio.wait_for(entry.gate.acquire(), timeout)
        except asyncio.TimeoutError:
            failure = pool_full(request, entry.size, timeout)
        else:
            return entry
        raise failure

    async def _send(
        self, request: HttpRequest, timeout: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        entry = await self._acquire(request, timeout)
        try:
            response = await self._open(entry, request, timeout)
            try:
                async with response:
                    return (
                        response.status,
                        response.headers,
                        await self._read(response, request, timeout),
                    )
            except QianfanError as error:
                failure = error
            except BaseException:  # cancelled, interrupted: the same care, re-raised
                del response
                raise
            # An aiohttp response's repr holds its URL (the v1 access token): keep it
            # out of the locals that error trackers record from a traceback.
            del response
            raise failure
        finally:
            entry.gate.release()

    def _tls(self, url: str) -> ssl.SSLContext | bool:
        """The CAs an https request trusts (the sync path's); plain http needs none."""
        if not is_https(url):
            return True
        if self._context is None:
            self._context = ssl_context(DEFAULT_CA_BUNDLE_PATH)
        return self._context

    async def _open(
        self, entry: LoopSession, request: HttpRequest, timeout: float | None
    ) -> aiohttp.ClientResponse:
        trust = self._tls(request.url)
        failure: BaseException
        try:
            return await entry.session.request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=_client_timeout(timeout),
                proxy=self._proxy(request.url),
                ssl=trust,
            )
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            failure = network_error(exc, request, timeout)
        except asyncio.CancelledError as cancel:
            failure = _fresh_cancel(cancel)
        raise failure

    async def _read(
        self, response: aiohttp.ClientResponse, request: HttpRequest, timeout: float | None
    ) -> bytes:
        failure: BaseException
        try:
            return await response.read()
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            failure = network_error(exc, request, timeout)
        except asyncio.CancelledError as cancel:
            failure = _fresh_cancel(cancel)
        del response  # see _send
        raise failure


async def _aincremental(
    response: aiohttp.ClientResponse, request: HttpRequest, timeout: float | None
) -> AsyncIterator[bytes]:
    """The body as it arrives; the libraries' errors become redacted ``QianfanError`` s."""
    failure: BaseException
    try:
        async for raw in response.content.iter_any():
            yield raw
        return
    except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
        failure = network_error(exc, request, timeout)
    except asyncio.CancelledError as cancel:
        failure = _fresh_cancel(cancel)
    except BaseException:  # closed (GeneratorExit): see AsyncTransport._send
        del response
        raise
    del response  # see AsyncTransport._send
    raise failure


async def _areplies(reader: EventReader, chunks: AsyncIterator[bytes]) -> AsyncIterator[Reply]:
    """Async twin of :func:`~._transport.sync._replies`."""
    async for raw in chunks:
        for reply in reader.feed(raw):
            yield reply
    for reply in reader.close():
        yield reply


async def _aend_body(response: aiohttp.ClientResponse) -> None:
    """Async twin of :func:`~._transport.sync._end_body`.

    aiohttp reuses the connection when the body has ended.
    """
    content = response.content
    if not content.at_eof():
        await asyncio.sleep(0)  # one turn of the loop: what has already arrived is read
    if content.at_eof():
        return
    try:
        await asyncio.wait_for(_read_tail(content), TAIL_SECONDS)
    except Exception as error:  # noqa: BLE001 (the answer is complete: only the connection is lost)
        tail_failed(error)
    if not content.at_eof():
        response.close()  # closes the connection: it is not reused


async def _read_tail(content: aiohttp.StreamReader) -> None:
    left = TAIL_BYTES
    while left >= 0 and not content.at_eof():
        data = await content.readany()
        if not data:
            return
        left -= len(data)


def _fresh_cancel(cancel: asyncio.CancelledError) -> asyncio.CancelledError:
    """A cancellation to re-raise in place of aiohttp's, outside its ``except`` block.

    aiohttp's own frames hold the request URL and headers (the v1 access token, the v2
    key) in their locals; error trackers record the locals of a chained exception's
    frames too, so the original must not be reachable from what the caller gets.
    """
    return asyncio.CancelledError(*cancel.args)


def _aiohttp_error() -> type[Exception]:
    import aiohttp  # noqa: PLC0415 (only reached on the async path)

    return aiohttp.ClientError


def _client_timeout(timeout: float | None) -> Any:
    import aiohttp  # noqa: PLC0415 (only reached on the async path)

    return aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
