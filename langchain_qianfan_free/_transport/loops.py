"""HTTP I/O: the only module that sends requests (with ``requests`` and ``aiohttp``).

A :class:`Call` says what to send (a protocol, a request, an auth, a timeout,
``max_retries`` and ``max_connections``); :class:`SyncTransport` and
:class:`AsyncTransport` send it over pooled connections, run the retry loop (policy
in :mod:`~langchain_qianfan_free._transport.retry`), get tokens through
:mod:`~langchain_qianfan_free._auth.token_fetch`, and hand back parsed
:class:`~langchain_qianfan_free._protocols.common.Answer` objects. The two classes differ only
in ``await``, ``async for`` and the sleep function.

* **Connections are bounded.** A model sends at most ``max_connections`` requests at
  once (per process on the sync path, per event loop on the async path); a call that
  finds no free connection within ``timeout`` raises ``QianfanTimeoutError`` saying
  the pool is full, on both paths alike.
* **Forks start clean.** After ``os.fork()`` the child drops every inherited pooled
  connection and aiohttp session (they are the parent's sockets too) and opens its own.
* **A stream ends at its final event.** What follows it is read only while it
  arrives at once (a few milliseconds and bytes at most), so the connection is reused
  when the body ends there and closed otherwise.
* **Both paths trust the same CAs** (:func:`~._transport.netenv.env_ca_bundle`).

``aiohttp`` is imported the first time async is used, so ``import
langchain_qianfan_free`` stays light; the per-loop sessions live in
:mod:`~langchain_qianfan_free._transport.sessions`.

Every error raised here passes URLs and exception texts through
:func:`~langchain_qianfan_free.errors.redact`, and is raised ``from None``: the
underlying library exceptions quote the URL, which holds the v1 access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import ssl
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from langchain_qianfan_free import _logs as logs
from langchain_qianfan_free._auth.schemes import Auth, IamBearerAuth, OAuthTokenAuth
from langchain_qianfan_free._auth.token_fetch import fetch_async, fetch_sync
from langchain_qianfan_free._protocols.common import Answer, EventReader, HttpRequest, ReplyParser
from langchain_qianfan_free._transport import retry
from langchain_qianfan_free._transport.netenv import (
    EnvProxies,
    env_ca_bundle,
    redact_library_logs,
    ssl_context,
)
from langchain_qianfan_free._transport.sessions import (
    LoopSession,
    LoopSessions,
    forget_inherited_sessions,
    hold_imports,
    release_imports,
)
from langchain_qianfan_free.errors import (
    QianfanConnectionError,
    QianfanError,
    QianfanTimeoutError,
    redact,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DEFAULT_MAX_CONNECTIONS", "AsyncTransport", "Call", "SyncTransport"]

DEFAULT_MAX_CONNECTIONS = 100
"""Requests a model sends at once, per process (sync) or per event loop (async)."""
_JSON_TYPES = ("application/json",)
_SYNC_POOL_CAP = 1000  # connections urllib3 keeps for reuse, at most
# After a stream's final event, what follows is read only this long and this much;
# then the connection is closed instead of waiting (a proxy's heartbeats, an idle body).
_TAIL_SECONDS = 0.05
_TAIL_BYTES = 65536


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
        max_connections: How many requests the model sends at once per event loop
            (async) or per process (sync); further calls wait up to ``timeout`` for a
            free connection.
    """

    protocol: ReplyParser
    request: HttpRequest
    auth: Auth
    timeout: float | None
    max_retries: int
    max_connections: int = DEFAULT_MAX_CONNECTIONS


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
    if "CERTIFICATE_VERIFY_FAILED" in detail:  # OpenSSL's reason, in both libraries' text
        # Another attempt meets the same certificate: not retried.
        return QianfanConnectionError(
            f"The TLS certificate of {redact(request.url)} is not trusted ({detail})",
            hint=(
                "Behind a private CA or a TLS-inspecting proxy, point REQUESTS_CA_BUNDLE, "
                "CURL_CA_BUNDLE or SSL_CERT_FILE at its CA bundle (both paths read them)."
            ),
            retryable=False,
        )
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


def _is_https(url: str) -> bool:
    return url[:6].lower() == "https:"  # a scheme is case-insensitive (HTTPS://…)


def _pool_full(request: HttpRequest, size: int, timeout: float | None) -> QianfanTimeoutError:
    return QianfanTimeoutError(
        f"No free connection to {redact(request.url)} within {timeout} s: the connection "
        f"pool was full (all max_connections={size} in use by this model's other calls).",
        hint=(
            "Raise max_connections, send fewer calls at once, and close streams you stop "
            "reading (break out of the loop, or close the generator)."
        ),
        retryable=False,
    )


def _stream_failed(request: HttpRequest, events: int, error: QianfanError) -> None:
    logs.info(
        "stream from %s failed after %d events reached the caller: %s",
        redact(request.url),
        events,
        error,
    )


class SyncTransport:
    """Blocking I/O on one pooled ``requests.Session``, created on first use.

    Args:
        sleep: How to wait between attempts (tests pass a recorder instead).
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._proxy = EnvProxies()
        self._fresh()
        _LIVE.add(self)

    def _fresh(self) -> None:
        """No session, no slots: what a new transport, or a forked child's, starts with."""
        self._session: requests.Session | None = None
        self._slots: threading.BoundedSemaphore | None = None
        self._slots_size = self._size = DEFAULT_MAX_CONNECTIONS
        self._trusted = False  # the CA settings checked and applied (before any https)
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles get a transport of their own, opened on first use.
        return (type(self), () if self._sleep is time.sleep else (self._sleep,))

    def __deepcopy__(self, memo: dict[int, Any]) -> SyncTransport:
        return type(self)(self._sleep)

    @property
    def session(self) -> requests.Session:
        """The pooled session (thread-safe lazy creation)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    redact_library_logs()
                    session = requests.Session()
                    # The environment is read once instead of per request (see
                    # EnvProxies): the CA bundle before the first https request
                    # (_trust), proxies per host.
                    session.trust_env = False
                    # urllib3 fills its pool's queue up front: a huge max_connections
                    # would cost seconds. The slots bound the calls; connections past
                    # the queue are opened and closed as needed.
                    maxsize = min(self._size, _SYNC_POOL_CAP)
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=maxsize)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    self._session = session
        return self._session

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        with self._lock:
            session, self._session = self._session, None
            self._trusted = False  # the next session is given the CA settings again
        if session is not None:
            session.close()

    def _after_fork(self) -> None:
        # The inherited session's sockets are the parent's too: never use (or close)
        # them here; they are closed when the session is collected.
        self._fresh()

    def _trust(self, url: str) -> None:
        """Before the first https request: check the CA settings, as the async path does.

        A variable naming nothing, or a bundle that cannot be read, is the same typed
        error on both paths; plain http needs no CAs, so it is never refused for them.
        """
        if self._trusted or not _is_https(url):
            return
        bundle = env_ca_bundle()
        if bundle:
            ssl_context(bundle)  # reads it: an unreadable bundle fails here, typed
        self.session.verify = bundle or True
        self._trusted = True

    @contextlib.contextmanager
    def _slot(self, request: HttpRequest, timeout: float | None) -> Iterator[None]:
        """Hold one of the ``max_connections`` places, waiting at most ``timeout``."""
        slots = self._slots
        if slots is None:
            with self._lock:
                if self._slots is None:
                    self._slots = threading.BoundedSemaphore(self._size)
                    self._slots_size = self._size
                slots = self._slots
        if not slots.acquire(timeout=timeout):
            raise _pool_full(request, self._slots_size, timeout)
        try:
            yield
        finally:
            slots.release()

    def _proxies_for(self, url: str) -> dict[str, str]:
        proxy = self._proxy(url)
        return {urlsplit(url).scheme: proxy} if proxy else {}

    def complete(self, call: Call) -> Answer:
        """Send a non-streaming call, with retries; return the parsed answer."""
        self._size = call.max_connections
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
        self._size = call.max_connections
        state = retry.Attempts(call.auth, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            delivered = 0
            try:
                request = self._authorize(call, state)
                with (
                    self._slot(request, call.timeout),
                    self._open(request, call.timeout) as response,
                ):
                    headers = response.headers
                    if not _is_stream(response.status_code, headers):
                        body = self._read(response, request, call.timeout)
                        reply = call.protocol.parse_reply(response.status_code, headers, body)
                        yield Answer(reply, headers)
                        return
                    reader = EventReader(call.protocol, headers)
                    chunks = self._chunks(response, request, call.timeout)
                    for answer in _answers(reader, chunks):
                        delivered += 1
                        yield answer
                        if answer.reply.done:
                            _end_body(response, chunks)
                            return
                    raise _unfinished(request)
            except QianfanError as error:
                if delivered:
                    _stream_failed(call.request, delivered, error)
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
        with self._slot(request, timeout):
            self._trust(request.url)
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
        self._trust(request.url)
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


def _end_body(response: requests.Response, chunks: Iterator[bytes]) -> None:
    """After the final event: read what follows only while it arrives at once.

    When the body ends there (its terminator), the connection goes back to the pool;
    otherwise (a proxy's heartbeats, a body that stays open) it is closed, so the
    caller gets the end of the answer now and no later answer reads leftovers.
    """
    connection = getattr(response.raw, "connection", None)  # urllib3's, while in use
    sock = getattr(connection, "sock", None)
    if sock is None:
        response.close()  # nothing to wait on cheaply: do not reuse the connection
        return
    previous = sock.gettimeout()
    left = _TAIL_BYTES
    deadline = time.monotonic() + _TAIL_SECONDS
    try:
        sock.settimeout(_TAIL_SECONDS)
        for data in chunks:
            left -= len(data)
            remaining = deadline - time.monotonic()
            if left < 0 or remaining <= 0:  # more keeps coming (heartbeats): stop here
                break
            sock.settimeout(remaining)  # the bound is for all of it, not per read
        else:  # the body ended: the connection is clean to reuse
            sock.settimeout(previous)
            return
    except Exception as error:  # noqa: BLE001 (the answer is complete: only the connection is lost)
        _tail_failed(error)
    response.close()  # closes the socket: it is not reused


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
        self._proxy = EnvProxies()
        self._loops = LoopSessions()
        self._size = DEFAULT_MAX_CONNECTIONS
        self._context: ssl.SSLContext | None = None  # whom https trusts, read on first use
        _LIVE.add(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles get a transport of their own, opened on first use.
        return (type(self), () if self._sleep is asyncio.sleep else (self._sleep,))

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncTransport:
        return type(self)(self._sleep)

    async def session(self) -> aiohttp.ClientSession:
        """The running loop's session, created on first use."""
        return (await self._entry()).session

    async def _entry(self) -> LoopSession:
        entry = self._loops.current(asyncio.get_running_loop())
        if entry is None:
            entry = await self._loops.open(self, self._size)
        return entry

    async def aclose(self) -> None:
        """Close the running loop's session now (for loops managed by hand)."""
        await self._loops.close()

    def _after_fork(self) -> None:
        self._loops.forget_after_fork()

    async def _acquire(self, request: HttpRequest, timeout: float | None) -> LoopSession:
        """Take one of the loop's ``max_connections`` places, waiting at most ``timeout``.

        Calls beyond the pool wait here, as a coroutine, rather than inside aiohttp
        with a request already built (about 3 KB more per waiting call).
        """
        entry = await self._entry()
        if not entry.gate.locked():
            await entry.gate.acquire()  # free: taken at once
            return entry
        try:
            await asyncio.wait_for(entry.gate.acquire(), timeout)
        except asyncio.TimeoutError:
            failure = _pool_full(request, entry.size, timeout)
        else:
            return entry
        raise failure

    async def complete(self, call: Call) -> Answer:
        """Send a non-streaming call, with retries; return the parsed answer."""
        self._size = call.max_connections
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
        self._size = call.max_connections
        state = retry.Attempts(call.auth, call.max_retries)
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
                        if not _is_stream(response.status, headers):
                            body = await self._read(response, request, call.timeout)
                            reply = call.protocol.parse_reply(response.status, headers, body)
                            yield Answer(reply, headers)
                            return
                        reader = EventReader(call.protocol, headers)
                        chunks = self._chunks(response, request, call.timeout)
                        async for answer in _aanswers(reader, chunks):
                            delivered += 1
                            yield answer
                            if answer.reply.done:
                                await _aend_body(response)
                                return
                        raise _unfinished(request)
                finally:
                    entry.gate.release()
            except BaseException as error:
                response = None  # see _send: not in the locals a traceback keeps
                if not isinstance(error, QianfanError):
                    raise  # cancelled, closed, interrupted
                if delivered:
                    _stream_failed(call.request, delivered, error)
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
        if not _is_https(url):
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
            failure = _network_error(exc, request, timeout)
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
            failure = _network_error(exc, request, timeout)
        except asyncio.CancelledError as cancel:
            failure = _fresh_cancel(cancel)
        del response  # see _send
        raise failure

    async def _chunks(
        self, response: aiohttp.ClientResponse, request: HttpRequest, timeout: float | None
    ) -> AsyncIterator[bytes]:
        failure: BaseException
        try:
            async for raw in response.content.iter_any():
                yield raw
            return
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            failure = _network_error(exc, request, timeout)
        except asyncio.CancelledError as cancel:
            failure = _fresh_cancel(cancel)
        except BaseException:  # closed (GeneratorExit): see _send
            del response
            raise
        del response  # see _send
        raise failure


_LIVE: weakref.WeakSet[SyncTransport | AsyncTransport] = weakref.WeakSet()
"""Every transport in the process, for the reset after a fork."""


def _finish_imports_in_flight() -> None:
    """Before a fork: let other threads finish importing what this package imports lazily.

    A module being imported is locked by the importing thread (aiohttp on a thread's
    first async call, the tool modules on a first ``bind_tools``). In the child that
    thread does not exist, and the child's own import of the module would wait forever.
    """
    hold_imports()  # aiohttp's first import, also before it reaches sys.modules
    try:
        names = [
            name
            for name, module in list(sys.modules.items())
            if name.partition(".")[0] in _LAZY_PACKAGES
            and getattr(getattr(module, "__spec__", None), "_initializing", False)
        ]
    except RuntimeError:  # sys.modules changed while it was read: nothing to wait for
        return
    for name in names:
        with contextlib.suppress(Exception):  # a broken import fails in the child too
            importlib.import_module(name)  # waits for the importing thread


_LAZY_PACKAGES = frozenset({"aiohttp", "langchain_qianfan_free"})


def _after_fork_in_child() -> None:
    release_imports(child=True)
    for transport in list(_LIVE):
        transport._after_fork()
    forget_inherited_sessions()


def _after_fork_in_parent() -> None:
    release_imports(child=False)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=_finish_imports_in_flight,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


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


async def _aend_body(response: aiohttp.ClientResponse) -> None:
    """Async twin of :func:`_end_body` (aiohttp reuses the connection at the body's end)."""
    content = response.content
    if not content.at_eof():
        await asyncio.sleep(0)  # one turn of the loop: what has already arrived is read
    if content.at_eof():
        return
    try:
        await asyncio.wait_for(_read_tail(content), _TAIL_SECONDS)
    except Exception as error:  # noqa: BLE001 (the answer is complete: only the connection is lost)
        _tail_failed(error)
    if not content.at_eof():
        response.close()  # closes the connection: it is not reused


def _tail_failed(error: Exception) -> None:
    logs.debug(
        "after a stream's final event: %s; its connection is closed, not reused",
        "nothing more arrived at once"
        if isinstance(error, asyncio.TimeoutError | QianfanTimeoutError)
        else type(error).__name__,
    )


async def _read_tail(content: aiohttp.StreamReader) -> None:
    left = _TAIL_BYTES
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
