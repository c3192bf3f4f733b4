"""The per-event-loop aiohttp sessions, and the aiohttp internals they rely on.

``_transport.sessions`` is the only module that touches aiohttp's private attributes:
to give up the session of an event loop that was closed without closing it, it closes
the pooled sockets itself (``connector._conns``, ``protocol.transport._sock``) and
marks the connector closed (``connector._close()``). These tests fail when an aiohttp
upgrade moves them, instead of the cleanup silently doing nothing.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import pytest

from langchain_qianfan_free._transport import sessions


class KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the connection stays open: aiohttp pools it

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


async def pooled(url: str) -> aiohttp.ClientSession:
    """A session with one connection back in its pool."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    async with session.get(url, proxy=None) as response:
        assert await response.read() == b"ok"
    return session


def test_the_aiohttp_internals_the_dead_loop_cleanup_uses_are_still_there(server) -> None:
    loop = asyncio.new_event_loop()
    try:
        session = loop.run_until_complete(pooled(server))
    finally:
        loop.close()  # by hand, with the session open: what the cleanup is for
    connector = session.connector
    assert connector is not None
    pooled_conns = connector._conns  # key -> [(protocol, time)]
    assert isinstance(pooled_conns, dict)
    entries = [entry for entries in pooled_conns.values() for entry in entries]
    assert len(entries) == 1
    protocol, _ = entries[0]
    sock = protocol.transport._sock
    assert isinstance(sock, socket.socket)
    assert sock.fileno() != -1
    assert callable(connector._close)

    sessions._drop_dead(session)

    assert sock.fileno() == -1  # the pooled socket was closed without the loop
    assert protocol.transport._sock is None  # so its __del__ does not warn
    assert connector.closed
    assert session.closed
