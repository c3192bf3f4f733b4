"""A loopback HTTP server whose streams go on after their final event, as proxies' do.

It answers the v1 token route and both chat routes with a short event stream (v1 ends
with ``is_end``, v2 with ``[DONE]``), chunked, and then, by ``tail``:

* ``"end"``: the body's terminator at once (a well-behaved server; the connection is
  kept alive for the next request);
* ``"idle"``: nothing more until :attr:`TailServer.release` is set (a body left open);
* ``"heartbeats"``: SSE comments (``: ping``) as fast as it can, until the client goes away;
* ``"stall"``: only the first event, then nothing until :attr:`TailServer.release`;
* ``"slow heartbeats"``: one every 20 ms, as a proxy keeping the connection warm would,
  until the client goes away (for 10 s at most).

It records what each connection saw, so tests can tell whether the client closed it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field

HOLD = 30.0  # seconds an idle body is held at most (a client that waits that long fails)


@dataclass
class Connection:
    """What one accepted connection saw."""

    requests: int = 0
    client_closed: threading.Event = field(default_factory=threading.Event)
    gave_up: bool = False  # the server ended an idle body itself, after HOLD


class TailServer:
    """Serve on 127.0.0.1 in a thread; use as a context manager."""

    def __init__(self, tail: str) -> None:
        self.tail = tail
        self.release = threading.Event()
        self.connections: list[Connection] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> TailServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        # shutdown() wakes the threads blocked in accept() and recv(); close() would not.
        for sock in (self._listener, *self._open):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for thread in self._threads:
            thread.join(HOLD + 5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(conn)
            record = Connection()
            self.connections.append(record)
            thread = threading.Thread(target=self._serve, args=(conn, record), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket, record: Connection) -> None:
        with conn:
            reader = conn.makefile("rb")
            while True:
                request = _read_request(reader)
                if request is None:
                    record.client_closed.set()
                    return
                record.requests += 1
                path, body = request
                if path.startswith("/oauth/2.0/token"):
                    _send_json(conn, {"access_token": "24.tail-token", "expires_in": 2592000})
                    continue
                if self.tail == "stall":
                    _send_stream(conn, path, body, count=1)
                    self.release.wait(HOLD)
                    return
                if not _send_stream(conn, path, body):
                    record.client_closed.set()
                    return
                if self.tail == "end":
                    conn.sendall(b"0\r\n\r\n")
                    continue
                if self.tail == "idle":
                    if not self.release.wait(HOLD):
                        record.gave_up = True
                    _wait_for_close(conn, record)
                    return
                if self.tail == "slow heartbeats":
                    _slow_heartbeats(conn, record, self.release)
                else:
                    _heartbeats(conn, record)
                return


def _read_request(reader: object) -> tuple[str, bytes] | None:
    line = reader.readline()  # type: ignore[attr-defined]
    if not line:
        return None
    path = line.split()[1].decode()
    length = 0
    while (header := reader.readline()) not in (b"\r\n", b""):  # type: ignore[attr-defined]
        name, _, value = header.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return path, reader.read(length) if length else b""  # type: ignore[attr-defined]


def _send_json(conn: socket.socket, data: object) -> None:
    body = json.dumps(data).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    conn.sendall(head.encode() + b"\r\n" + body)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _send_stream(conn: socket.socket, path: str, body: bytes, count: int = 99) -> bool:
    question = json.loads(body)["messages"][-1]["content"]
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    if path.startswith("/v2/"):
        events = [
            {"id": "as-1", "choices": [{"index": 0, "delta": {"content": f"答：{question}"}}]},
            {"id": "as-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"id": "as-1", "choices": [], "usage": usage},
        ]
        payloads = [json.dumps(e, ensure_ascii=False) for e in events] + ["[DONE]"]
    else:
        events = [
            {"id": "as-1", "result": f"答：{question}", "is_end": False},
            {"id": "as-1", "result": "", "is_end": True, "finish_reason": "normal", "usage": usage},
        ]
        payloads = [json.dumps(e, ensure_ascii=False) for e in events]
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    try:
        sent = payloads[:count]
        conn.sendall(head + b"".join(_chunk(f"data: {p}\n\n".encode()) for p in sent))
    except OSError:
        return False
    return True


def _wait_for_close(conn: socket.socket, record: Connection) -> None:
    conn.settimeout(5)
    try:
        if not conn.recv(1):
            record.client_closed.set()
    except OSError:
        record.client_closed.set()


def _heartbeats(conn: socket.socket, record: Connection) -> None:
    ping = _chunk(b": ping\n\n")
    try:
        for _ in range(200000):  # bounded: about 2.6 MB, far beyond any client's patience
            conn.sendall(ping)
    except OSError:
        record.client_closed.set()


def _slow_heartbeats(conn: socket.socket, record: Connection, stop: threading.Event) -> None:
    ping = _chunk(b": ping\n\n")
    try:
        for _ in range(500):  # 20 ms apart: 10 s at most
            conn.sendall(ping)
            if stop.wait(0.02):  # the pace of the fault, not a wait for the client
                return
        record.gave_up = True
    except OSError:
        record.client_closed.set()
