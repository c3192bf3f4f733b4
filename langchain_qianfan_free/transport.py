"""HTTP I/O: the only module that imports ``requests`` and ``aiohttp``.

A :class:`Call` says what to send (a protocol, a request, an auth, a timeout and
``max_retries``); :class:`SyncTransport` and :class:`AsyncTransport` send it with one
pooled connection, run the retry loop (policy in :mod:`~langchain_qianfan_free.retry`),
fetch and refresh v1 access tokens, and hand back parsed
:class:`~langchain_qianfan_free.protocol.Reply` objects. The two classes differ only in
``await``, ``async for`` and the sleep function.

``aiohttp`` is imported the first time async is used, so ``import
langchain_qianfan_free`` stays light. An aiohttp session belongs to one event loop;
:class:`AsyncTransport` keeps one per loop and closes it when that loop shuts down its
async generators (``asyncio.run`` does), so a model keeps working across consecutive
``asyncio.run(...)`` calls without leaking connections.

Every error raised here passes URLs and exception texts through
:func:`~langchain_qianfan_free.errors.redact`, and is raised ``from None``: the
underlying library exceptions quote the URL, which holds the v1 access token.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from langchain_qianfan_free import retry
from langchain_qianfan_free.auth import Auth, IamBearerAuth, OAuthTokenAuth
from langchain_qianfan_free.errors import (
    QianfanConnectionError,
    QianfanError,
    QianfanTimeoutError,
    redact,
)
from langchain_qianfan_free.netenv import EnvProxies, env_ca_bundle, redact_library_logs
from langchain_qianfan_free.protocol import Answer, EventReader, HttpRequest, ReplyParser
from langchain_qianfan_free.token_fetch import fetch_async, fetch_sync

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AsyncTransport", "Call", "SyncTransport"]

_POOL_SIZE = 100  # aiohttp's own default: up to 100 calls in flight per session
# Threads beyond the pool open throwaway connections (and urllib3 logs each); blocking
# instead would ignore the timeout, so the sync pool is simply large.
_SYNC_POOL_SIZE = 64
_JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class Call:
    """One chat call to make.

    Attributes:
        protocol: ``protocol_v1`` or ``protocol_v2`` (its ``parse_*`` functions).
        request: The request without credentials.
        auth: How to authorize it.
        timeout: Seconds to wait for a connection and between received bytes;
            ``None`` waits forever.
        max_retries: Retries after the first attempt (see ``retry``).
    """

    protocol: ReplyParser
    request: HttpRequest
    auth: Auth
    timeout: float | None
    max_retries: int


def _is_stream(status: int, headers: Mapping[str, str]) -> bool:
    """A 200 answer to a stream request is an event stream unless it says it is JSON.

    (v1 errors arrive as HTTP 200 ``application/json``; a server that labels its
    events oddly, or not at all, is still read as events.)
    """
    content_type = (headers.get("Content-Type") or headers.get("content-type") or "").lower()
    return status == 200 and not content_type.startswith(_JSON_TYPES)


def _unfinished(request: HttpRequest) -> QianfanConnectionError:
    return QianfanConnectionError(
        f"The stream from {redact(request.url)} ended before Qianfan finished the answer "
        "(the connection closed without the final event).",
        retryable=True,
    )


def _network_error(exc: BaseException, request: HttpRequest, timeout: float | None) -> QianfanError:
    detail = f"{type(exc).__name__}: {redact(str(exc))}"
    if _is_timeout(exc):
        return QianfanTimeoutError(
            f"No answer from {redact(request.url)} within {timeout} s ({detail})",
            hint="Raise the timeout setting, or retry later.",
            retryable=True,
        )
    return QianfanConnectionError(
        f"Could not talk to Qianfan at {redact(request.url)} ({detail})",
        hint="Check the network, base_url / QIANFAN_BASE_URL and any proxy.",
        retryable=True,
    )


_TIMEOUT_NAMES = frozenset(
    {"ServerTimeoutError", "ConnectionTimeoutError", "SocketTimeoutError", "ReadTimeoutError"}
)


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, requests.Timeout | TimeoutError | asyncio.TimeoutError):
        return True
    if type(exc).__name__ in _TIMEOUT_NAMES:
        return True
    # requests wraps urllib3's ReadTimeoutError of a body being read in ConnectionError.
    return any(type(arg).__name__ in _TIMEOUT_NAMES for arg in getattr(exc, "args", ()))


class SyncTransport:
    """Blocking I/O on one pooled ``requests.Session``, created on first use.

    Args:
        sleep: How to wait between attempts (tests pass a recorder instead).
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._session: requests.Session | None = None
        self._lock = threading.Lock()
        self._proxy = EnvProxies()

    @property
    def session(self) -> requests.Session:
        """The pooled session (thread-safe lazy creation)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    redact_library_logs()
                    session = requests.Session()
                    # The environment is read once instead of per request (see
                    # _EnvProxies): the CA bundle here, proxies per host.
                    session.trust_env = False
                    session.verify = env_ca_bundle() or True
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_SYNC_POOL_SIZE)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    self._session = session
        return self._session

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def _proxies_for(self, url: str) -> dict[str, str]:
        proxy = self._proxy(url)
        return {urlsplit(url).scheme: proxy} if proxy else {}

    def complete(self, call: Call) -> Answer:
        """Send a non-streaming call, with retries; return the parsed answer."""
        state = retry.Attempts(call.auth, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            try:
                request = self._authorize(call, state)
                status, headers, body = self._send(request, call.timeout)
                return Answer(call.protocol.parse_reply(status, headers, body), headers)
            except QianfanError as error:
                self._sleep(state.after(error, headers))

    def stream(self, call: Call) -> Iterator[Answer]:
        """Send a streaming call; yield each event. Retried only before the first."""
        state = retry.Attempts(call.auth, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            delivered = False
            try:
                request = self._authorize(call, state)
                with self._open(request, call.timeout) as response:
                    headers = response.headers
                    if not _is_stream(response.status_code, headers):
                        body = self._read(response, request, call.timeout)
                        reply = call.protocol.parse_reply(response.status_code, headers, body)
                        yield Answer(reply, headers)
                        return
                    reader = EventReader(call.protocol, headers)
                    chunks = self._chunks(response, request, call.timeout)
                    for answer in _answers(reader, chunks):
                        delivered = True
                        yield answer
                        if answer.reply.done:
                            _drain(chunks)
                            return
                    raise _unfinished(request)
            except QianfanError as error:
                if delivered:
                    raise
                self._sleep(state.after(error, headers))

    def _authorize(self, call: Call, state: retry.Attempts) -> HttpRequest:
        auth = call.auth
        credential = auth.cached()
        if credential is None:
            assert isinstance(auth, OAuthTokenAuth | IamBearerAuth)  # noqa: S101 (others: no fetch)
            credential = fetch_sync(auth, self._send, call.timeout)
        state.credential = credential
        return auth.apply(call.request, credential)

    # Library exceptions quote the URL (and so the v1 access token). Each helper turns
    # them into a redacted QianfanError raised *outside* the except block, so the
    # original is not even reachable through __context__.

    def _send(
        self, request: HttpRequest, timeout: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        try:
            response = self.session.request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=timeout,
                proxies=self._proxies_for(request.url),
            )
            return response.status_code, response.headers, response.content
        except requests.RequestException as exc:
            failure = _network_error(exc, request, timeout)
        raise failure

    def _open(self, request: HttpRequest, timeout: float | None) -> requests.Response:
        try:
            return self.session.request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=timeout,
                stream=True,
                proxies=self._proxies_for(request.url),
            )
        except requests.RequestException as exc:
            failure = _network_error(exc, request, timeout)
        raise failure

    def _read(
        self, response: requests.Response, request: HttpRequest, timeout: float | None
    ) -> bytes:
        try:
            return response.content
        except (requests.RequestException, OSError) as exc:
            failure = _network_error(exc, request, timeout)
        raise failure

    def _chunks(
        self, response: requests.Response, request: HttpRequest, timeout: float | None
    ) -> Iterator[bytes]:
        try:
            yield from _incremental(response)
            return
        except (requests.RequestException, OSError) as exc:
            failure = _network_error(exc, request, timeout)
        except Exception as exc:  # urllib3 ProtocolError etc. can surface unwrapped
            if not type(exc).__module__.startswith("urllib3"):
                raise
            failure = _network_error(exc, request, timeout)
        raise failure


def _incremental(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives.

    ``iter_content(None)`` yields each HTTP chunk of a chunked body, but reads a body
    delimited by ``Content-Length`` or by the connection's end all at once; ``read1``
    returns what has arrived instead (urllib3 2), so such streams stay streams.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if getattr(raw, "chunked", False) or read1 is None:
        yield from response.iter_content(chunk_size=None)
        return
    while data := read1(65536, decode_content=True):
        yield data


class AsyncTransport:
    """Non-blocking I/O on one ``aiohttp.ClientSession`` per event loop.

    Args:
        sleep: How to wait between attempts (tests pass a recorder instead).
    """

    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._sleep = sleep
        self._sessions: dict[
            int, tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession, AsyncGenerator[None, None]]
        ] = {}
        self._proxy = EnvProxies()
        # One gate per session, as wide as its pool: calls beyond the pool wait here, as
        # a coroutine, rather than inside aiohttp with a request already built (which
        # holds about 3 KB more per waiting call: 1.4 MB in a 500-way burst).
        self._gates: dict[int, asyncio.Semaphore] = {}

    async def _gate(self) -> asyncio.Semaphore:
        """The running loop's gate (its session is created with it)."""
        await self.session()
        return self._gates[id(asyncio.get_running_loop())]

    async def session(self) -> aiohttp.ClientSession:
        """The running loop's session, created on first use."""
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(id(loop))
        if entry is not None and entry[0] is loop and not entry[1].closed:
            return entry[1]
        import aiohttp  # noqa: PLC0415 (lazy: only async users pay for it)

        self._forget_closed_loops()
        redact_library_logs()
        # Proxies come from _EnvProxies (read once per host), not trust_env (per request).
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=_POOL_SIZE))
        _OPEN_SESSIONS[id(session)] = (loop, session)
        # Closed soon after this transport is garbage, on its loop if that still runs
        # (the registry above keeps the session from being collected with the
        # transport in one pass, which aiohttp would report as unclosed) ...
        finalizer = weakref.finalize(self, _close_soon, loop, session)
        # ... or when the loop shuts down its async generators (asyncio.run does).
        keeper = self._keep(session, finalizer)
        await keeper.__anext__()
        self._sessions[id(loop)] = (loop, session, keeper)
        self._gates[id(loop)] = asyncio.Semaphore(_POOL_SIZE)
        return session

    async def aclose(self) -> None:
        """Close the running loop's session now (for loops managed by hand)."""
        key = id(asyncio.get_running_loop())
        self._gates.pop(key, None)
        entry = self._sessions.pop(key, None)
        if entry is not None:
            await entry[2].aclose()  # the keeper: closes the session, and is done

    @staticmethod
    async def _keep(
        session: aiohttp.ClientSession, finalizer: weakref.finalize[Any, Any]
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            finalizer.detach()  # it would keep the closed loop and session alive
            await session.close()
            _OPEN_SESSIONS.pop(id(session), None)

    def _forget_closed_loops(self) -> None:
        for key, (loop, session, _) in list(self._sessions.items()):
            if loop.is_closed():
                _drop_dead(session)
                del self._sessions[key]
                self._gates.pop(key, None)

    async def complete(self, call: Call) -> Answer:
        """Send a non-streaming call, with retries; return the parsed answer."""
        state = retry.Attempts(call.auth, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            try:
                request = await self._authorize(call, state)
                status, headers, body = await self._send(request, call.timeout)
                return Answer(call.protocol.parse_reply(status, headers, body), headers)
            except QianfanError as error:
                await self._sleep(state.after(error, headers))

    async def stream(self, call: Call) -> AsyncIterator[Answer]:
        """Send a streaming call; yield each event. Retried only before the first."""
        state = retry.Attempts(call.auth, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            delivered = False
            try:
                request = await self._authorize(call, state)
                gate = await self._gate()
                async with gate, await self._open(request, call.timeout) as response:
                    headers = response.headers
                    if not _is_stream(response.status, headers):
                        body = await self._read(response, request, call.timeout)
                        reply = call.protocol.parse_reply(response.status, headers, body)
                        yield Answer(reply, headers)
                        return
                    reader = EventReader(call.protocol, headers)
                    chunks = self._chunks(response, request, call.timeout)
                    async for answer in _aanswers(reader, chunks):
                        delivered = True
                        yield answer
                        if answer.reply.done:
                            await _adrain(chunks)
                            return
                    raise _unfinished(request)
            except QianfanError as error:
                if delivered:
                    raise
                await self._sleep(state.after(error, headers))

    async def _authorize(self, call: Call, state: retry.Attempts) -> HttpRequest:
        auth = call.auth
        credential = auth.cached()
        if credential is None:
            assert isinstance(auth, OAuthTokenAuth | IamBearerAuth)  # noqa: S101 (others: no fetch)
            credential = await fetch_async(auth, self._send, call.timeout)
        state.credential = credential
        return auth.apply(call.request, credential)

    async def _send(
        self, request: HttpRequest, timeout: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with await self._gate():
            response = await self._open(request, timeout)
            async with response:
                return (
                    response.status,
                    response.headers,
                    await self._read(response, request, timeout),
                )

    async def _open(self, request: HttpRequest, timeout: float | None) -> aiohttp.ClientResponse:
        session = await self.session()
        try:
            return await session.request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=_client_timeout(timeout),
                proxy=self._proxy(request.url),
            )
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            failure = _network_error(exc, request, timeout)
        raise failure

    async def _read(
        self, response: aiohttp.ClientResponse, request: HttpRequest, timeout: float | None
    ) -> bytes:
        try:
            return await response.read()
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            failure = _network_error(exc, request, timeout)
        raise failure

    async def _chunks(
        self, response: aiohttp.ClientResponse, request: HttpRequest, timeout: float | None
    ) -> AsyncIterator[bytes]:
        try:
            async for raw in response.content.iter_any():
                yield raw
            return
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            failure = _network_error(exc, request, timeout)
        raise failure


# Sessions not yet closed, with their loops: kept here (not only by their transport)
# so that garbage collection never finalizes a session before it is closed.
_OPEN_SESSIONS: dict[int, tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}


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


def _answers(reader: EventReader, chunks: Iterator[bytes]) -> Iterator[Answer]:
    for raw in chunks:
        yield from reader.feed(raw)
    yield from reader.close()


async def _aanswers(reader: EventReader, chunks: AsyncIterator[bytes]) -> AsyncIterator[Answer]:
    async for raw in chunks:
        for answer in reader.feed(raw):
            yield answer
    for answer in reader.close():
        yield answer


def _drain(chunks: Iterator[bytes]) -> None:
    """Read what follows the final event (the body's end) so the connection is reused.

    The answer is complete at this point, so a failure here only costs the
    connection, not the answer.
    """
    with contextlib.suppress(QianfanError):
        for _ in chunks:
            pass


async def _adrain(chunks: AsyncIterator[bytes]) -> None:
    """Async twin of :func:`_drain`."""
    with contextlib.suppress(QianfanError):
        async for _ in chunks:
            pass


def _aiohttp_error() -> type[Exception]:
    import aiohttp  # noqa: PLC0415 (only reached on the async path)

    return aiohttp.ClientError


def _client_timeout(timeout: float | None) -> Any:
    import aiohttp  # noqa: PLC0415 (only reached on the async path)

    return aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
