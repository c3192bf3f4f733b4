"""The blocking I/O loop: :class:`SyncTransport`, on one pooled ``requests.Session``.

The twin of :mod:`~langchain_qianfan_free._transport.aio`: the two differ only in
``await``, ``async for`` and the sleep function. See the package docstring for what
both guarantee.

Library exceptions quote the URL (and so the v1 access token). Each I/O helper turns
them into a redacted ``QianfanError`` raised *outside* its ``except`` block, so the
original is not even reachable through ``__context__``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

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
from langchain_qianfan_free._transport.netenv import (
    EnvProxies,
    env_ca_bundle,
    redact_library_logs,
    ssl_context,
)
from langchain_qianfan_free.errors import QianfanError

__all__ = ["SyncTransport"]

_SYNC_POOL_CAP = 1000  # connections urllib3 keeps for reuse, at most


class SyncTransport:
    """Blocking I/O on one pooled ``requests.Session``, created on first use.

    Args:
        sleep: How to wait between attempts (tests pass a recorder instead).
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._proxy = EnvProxies()
        self._fresh()
        track(self)

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

    def reset_after_fork(self) -> None:
        """In a forked child: start afresh, leaving the inherited session untouched.

        Its sockets are the parent's too: never use (or close) them here; they are
        closed when the session is collected.
        """
        self._fresh()

    def complete(self, call: Call) -> Reply:
        """Send a non-streaming call, with retries; return the parsed answer."""
        self._size = call.max_connections
        state = retry.Attempts(call.auth.token_source, call.max_retries)
        while True:
            headers: Mapping[str, str] | None = None
            try:
                request = self._authorize(call, state)
                status, headers, body = self._send(request, call.timeout)
                return call.protocol.parse_reply(status, headers, body)
            except QianfanError as error:
                self._sleep(state.wait_or_raise(error, headers))

    def stream(self, call: Call) -> Iterator[Reply]:
        """Send a streaming call; yield each event. Retried only before the first."""
        self._size = call.max_connections
        state = retry.Attempts(call.auth.token_source, call.max_retries)
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
                    if not is_stream(response.status_code, headers):
                        body = self._read(response, request, call.timeout)
                        yield call.protocol.parse_reply(response.status_code, headers, body)
                        return
                    reader = EventReader(call.protocol, headers)
                    chunks = _incremental(response, request, call.timeout)
                    for reply in _replies(reader, chunks):
                        delivered += 1
                        yield reply
                        if reply.done:
                            _end_body(response, chunks)
                            return
                    raise unfinished(request)
            except QianfanError as error:
                if delivered:
                    stream_failed(call.request, delivered, error)
                    raise
                self._sleep(state.wait_or_raise(error, headers))

    def _authorize(self, call: Call, state: retry.Attempts) -> HttpRequest:
        source = call.auth.token_source
        token = None if source is None else source.cache.fetch(source, self._send, call.timeout)
        state.credential = token
        return call.auth.apply(call.request, token)

    def _trust(self, url: str) -> None:
        """Before the first https request: check the CA settings, as the async path does.

        A variable naming nothing, or a bundle that cannot be read, is the same typed
        error on both paths; plain http needs no CAs, so it is never refused for them.
        """
        if self._trusted or not is_https(url):
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
            raise pool_full(request, self._slots_size, timeout)
        try:
            yield
        finally:
            slots.release()

    def _proxies_for(self, url: str) -> dict[str, str]:
        proxy = self._proxy(url)
        return {urlsplit(url).scheme: proxy} if proxy else {}

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
                failure = network_error(exc, request, timeout)
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
            failure = network_error(exc, request, timeout)
        raise failure

    def _read(
        self, response: requests.Response, request: HttpRequest, timeout: float | None
    ) -> bytes:
        try:
            return response.content
        except (requests.RequestException, OSError) as exc:
            failure = network_error(exc, request, timeout)
        raise failure


def _incremental(
    response: requests.Response, request: HttpRequest, timeout: float | None
) -> Iterator[bytes]:
    """The body as it arrives; the libraries' errors become redacted ``QianfanError`` s.

    ``iter_content(None)`` yields each HTTP chunk of a chunked body, but reads a body
    delimited by ``Content-Length`` or by the connection's end all at once; ``read1``
    returns what has arrived instead (urllib3 2), so such streams stay streams.
    """
    try:
        raw = response.raw
        read1 = getattr(raw, "read1", None)
        if getattr(raw, "chunked", False) or read1 is None:
            yield from response.iter_content(chunk_size=None)
            return
        while data := read1(65536, decode_content=True):
            yield data
        return
    except (requests.RequestException, OSError) as exc:
        failure = network_error(exc, request, timeout)
    except Exception as exc:  # urllib3 ProtocolError etc. can surface unwrapped
        if not type(exc).__module__.startswith("urllib3"):
            raise
        failure = network_error(exc, request, timeout)
    raise failure


def _replies(reader: EventReader, chunks: Iterator[bytes]) -> Iterator[Reply]:
    """The replies of a stream's chunks, then those left at the end of its body."""
    for raw in chunks:
        yield from reader.feed(raw)
    yield from reader.close()


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
    left = TAIL_BYTES
    deadline = time.monotonic() + TAIL_SECONDS
    try:
        sock.settimeout(TAIL_SECONDS)
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
        tail_failed(error)
    response.close()  # closes the socket: it is not reused
