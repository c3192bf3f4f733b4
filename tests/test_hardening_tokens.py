"""Tokens in production (issue 15): own exceptions per caller, odd token answers, lifetimes
counted from the send, the token log lines, and tokens across ``os.fork()``.

v1 access tokens (OAuth) and v2 bearer tokens minted from IAM keys go through the same
single-flight fetch (``TokenCache.fetch``); each test covers both, sync and async.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import threading
import time
import traceback
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._auth.schemes import IamBearerAuth, OAuthTokenAuth
from langchain_qianfan_free._auth.token_cache import TokenCache
from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanRateLimitError,
)

from .conftest import MODES, PROTOCOLS, accept, cached, call, record_sleeps

pytestmark = pytest.mark.usefixtures("fresh_tokens")

KINDS = ["v1", "v2"]  # v1: OAuth access token; v2: bearer token minted from IAM keys
WAIT = 30.0  # seconds a test waits for a thread or a child process before failing

Answer = tuple[int, dict[str, str], bytes]


def token_auth(
    kind: str, cache: TokenCache, clock: Callable[[], float] = time.time, host: str = "h.test"
) -> Any:
    """v1: OAuth token auth; v2: IAM bearer auth (a different ``host``: another credential)."""
    if kind == "v1":
        return OAuthTokenAuth(
            f"http://{host}", SecretStr("AK-CANARY"), SecretStr("SK-CANARY"), cache, clock=clock
        )
    return IamBearerAuth(
        f"http://{host}", SecretStr("IAM-AK"), SecretStr("IAM-SK-CANARY"), cache=cache, clock=clock
    )


def refusal(kind: str) -> Answer:
    """The token endpoint's answer to a wrong secret."""
    if kind == "v1":
        body = {"error": "invalid_client", "error_description": "Client authentication failed"}
        return 401, {}, json.dumps(body).encode()
    body = {"requestId": "r-1", "code": "SignatureDoesNotMatch", "message": "bad signature"}
    return 400, {}, json.dumps(body).encode()


def granted(kind: str, token: str, lifetime: int = 1000) -> Answer:
    if kind == "v1":
        return 200, {}, json.dumps({"access_token": token, "expires_in": lifetime}).encode()
    body = {
        "token": token,
        "createTime": "2024-01-01T00:00:00Z",
        "expireTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704067200 + lifetime)),
    }
    return 200, {}, json.dumps(body).encode()


# -- 7. Each caller gets its own exception ---------------------------------------------------


class CountingCache(TokenCache):
    """A token cache that lets the fetch wait until ``n`` callers have boarded it."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.boards = 0
        self.changed = threading.Condition()

    def join_or_start(self, key: str) -> Any:
        boarded = super().join_or_start(key)
        with self.changed:
            self.boards += 1
            self.changed.notify_all()
        return boarded

    def all_aboard(self) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.boards >= self.n, timeout=WAIT)


class Odd(Exception):  # noqa: N818 (a stand-in for a bug's exception)
    """An exception whose constructor cannot be called again with its ``args``."""

    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} at {where}")
        self.where = where


def frames(error: BaseException) -> list[Any]:
    """Every frame in the tracebacks of ``error`` and of the exceptions chained to it."""
    found: list[Any] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        found += [frame for frame, _ in traceback.walk_tb(current.__traceback__)]
        todo += [current.__cause__, current.__context__]
    return found


def prompts_in_locals(error: BaseException) -> set[str]:
    """The prompt markers that the frame locals of ``error``'s tracebacks hold."""
    markers: set[str] = set()
    for frame in frames(error):
        for value in frame.f_locals.values():
            markers |= set(re.findall(r"PROMPT-\d+", repr(value)))
    return markers


def check_own_exceptions(
    caught: dict[str, BaseException], kind_of: type[BaseException]
) -> list[BaseException]:
    """Each caller's exception is its own, chained to a clean shared one; returns those."""
    errors = list(caught.values())
    assert len({id(error) for error in errors}) == len(errors)  # one object per caller
    assert all(type(error) is kind_of for error in errors)
    assert len({str(error) for error in errors}) == 1
    causes = [c for c in {id(e.__cause__): e.__cause__ for e in errors}.values() if c is not None]
    assert all(error.__cause__ is not None for error in errors)
    for shared in causes:
        assert type(shared) is kind_of
        assert str(shared) == str(errors[0])
        assert shared.__traceback__ is None  # the fetching caller's frames stay its own
        assert shared.__context__ is None
    for prompt, error in caught.items():
        assert prompts_in_locals(error) <= {prompt}
    # One caller's frames each, not one traceback that grows with every caller's raise
    # (200 callers made one traceback of 600 lines).
    counts = [len(frames(error)) for error in errors]
    assert max(counts) <= min(counts) + 5, counts
    return causes


@pytest.mark.parametrize("failure", ["refused", "bug"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_caller_of_a_failed_fetch_raises_its_own_exception(kind, failure) -> None:
    """Threads and tasks on two event loops wait on one fetch that fails."""
    threads, loops, tasks = 3, 2, 3
    cache = CountingCache(threads + loops * tasks)
    auth = token_auth(kind, cache)
    sends: list[str] = []
    caught: dict[str, Any] = {}
    lock = threading.Lock()

    def answer() -> Answer:
        sends.append("sent")
        if failure == "bug":
            raise Odd("broken", "the token endpoint")
        return refusal(kind)

    def send(request: Any, timeout: Any) -> Answer:
        cache.all_aboard()  # every caller waits on this fetch
        return answer()

    async def asend(request: Any, timeout: Any) -> Answer:
        await asyncio.to_thread(cache.all_aboard)
        return answer()

    # The callers' frames hold their own prompt, and nothing that holds another's.
    def sync_caller(i: int) -> BaseException | None:
        prompt = f"PROMPT-{i}"
        try:
            auth.cache.fetch(auth, send, WAIT)
        except Exception as error:  # noqa: BLE001
            return error
        return ValueError(f"{prompt} got a token")

    async def async_caller(i: int) -> BaseException | None:
        prompt = f"PROMPT-{i}"
        try:
            await auth.cache.afetch(auth, asend, WAIT)
        except Exception as error:  # noqa: BLE001
            return error
        return ValueError(f"{prompt} got a token")

    def in_thread(i: int) -> None:
        error = sync_caller(i)
        with lock:
            caught[f"PROMPT-{i}"] = error

    def in_loop(first: int) -> None:
        async def burst() -> list[BaseException | None]:
            return await asyncio.gather(*(async_caller(first + i) for i in range(tasks)))

        errors = asyncio.run(burst())
        with lock:
            caught.update({f"PROMPT-{first + i}": error for i, error in enumerate(errors)})

    workers = [threading.Thread(target=in_thread, args=(i,)) for i in range(threads)]
    workers += [threading.Thread(target=in_loop, args=(100 * (n + 1),)) for n in range(loops)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT)
    assert len(sends) == 1  # one fetch, shared by all
    assert len(caught) == threads + loops * tasks
    causes = check_own_exceptions(caught, Odd if failure == "bug" else QianfanAuthenticationError)
    assert len(causes) == 1  # the one failure, shared
    if failure == "bug":
        assert {error.where for error in caught.values()} == {"the token endpoint"}


def refused_model(emu: QianfanEmulator, protocol: str) -> ChatQianfan:
    if protocol == "v1":
        creds: dict[str, Any] = {"qianfan_ak": emu.ak, "qianfan_sk": "SK-CANARY"}
    else:
        creds = {"qianfan_access_key": emu.iam_ak, "qianfan_secret_key": "SK-CANARY"}
    model = ChatQianfan(base_url=emu.url, api_version=protocol, **creds)
    record_sleeps(model)
    return model


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_callers_refused_a_token_do_not_share_one_traceback(qianfan_emulator, protocol) -> None:
    """End to end: 40 tasks ask at once with a wrong secret key; no report holds another."""
    model = refused_model(qianfan_emulator, protocol)

    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(model.ainvoke(f"PROMPT-{i}") for i in range(40)), return_exceptions=True
        )

    results = asyncio.run(burst())
    fetches = [r for r in qianfan_emulator.requests if r.protocol in ("token", "iam")]
    assert len(fetches) < len(results)  # they shared fetches
    check_own_exceptions(
        {f"PROMPT-{i}": error for i, error in enumerate(results)}, QianfanAuthenticationError
    )
    for error in results:
        assert "SK-CANARY" not in "".join(traceback.format_exception(error))


# -- 8. Odd token answers are typed ----------------------------------------------------------


ODD_EXPIRES_IN = [
    '"abc"',
    "[1]",
    "{}",
    "true",
    "false",
    "0",
    "-5",
    "NaN",
    "Infinity",
    "-Infinity",
    '"1e3"',
    '"-1"',
    '" 60"',
    "1" + "0" * 400,  # an integer no float can hold
]


@pytest.mark.parametrize("expires_in", ODD_EXPIRES_IN)
def test_an_odd_expires_in_is_an_unusable_answer(expires_in) -> None:
    body = f'{{"access_token": "24.SECRET", "expires_in": {expires_in}}}'.encode()
    auth = token_auth("v1", TokenCache())
    with pytest.raises(QianfanAPIError) as info:
        accept(auth, 200, body)
    assert info.value.is_retryable
    assert "expires_in" in str(info.value)
    assert "SECRET" not in str(info.value)
    assert cached(auth) is None


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(None, 2592000), ("null", 2592000), ('"2592000"', 2592000), ("3600", 3600), ("90.5", 90.5)],
)
def test_readable_expires_in_values(expires_in, lifetime) -> None:
    member = "" if expires_in is None else f', "expires_in": {expires_in}'
    auth = token_auth("v1", TokenCache())
    assert accept(auth, 200, f'{{"access_token": "24.ok"{member}}}'.encode(), 0.0) == "24.ok"
    token = auth.cache.get(auth.key, now=0.0)
    assert token is not None
    assert token.refresh_at == pytest.approx(lifetime - min(300, lifetime * 0.1))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "token", ["123", "true", '{"v": "SECRET"}', '["SECRET"]', '"a SECRET"', '"SECRET\\r\\nX: 1"']
)
def test_a_token_that_cannot_be_sent_is_an_unusable_answer(kind, token) -> None:
    member = "access_token" if kind == "v1" else "token"
    auth = token_auth(kind, TokenCache())
    with pytest.raises(QianfanAPIError) as info:
        accept(auth, 200, f'{{"{member}": {token}, "expires_in": 60}}'.encode())
    assert info.value.is_retryable
    assert "SECRET" not in str(info.value)
    assert cached(auth) is None


@pytest.mark.parametrize(
    "odd", ["123", "[]", "{}", "true", '"yesterday"', '"2024-13-45T99:00:00Z"']
)
@pytest.mark.parametrize("field", ["createTime", "expireTime"])
def test_unreadable_iam_times_fall_back_to_the_lifetime_asked_for(field, odd) -> None:
    body = json.loads(granted("v2", "bce-v3/ALTAK-x/y")[2])
    auth = token_auth("v2", TokenCache(), clock=lambda: 0.0)
    raw = json.dumps(body).replace(json.dumps(body[field]), odd).encode()
    assert accept(auth, 200, raw) == "bce-v3/ALTAK-x/y"
    token = auth.cache.get(auth.key, now=0.0)
    assert token is not None
    assert token.refresh_at > 0


def test_an_iam_token_that_expires_before_it_was_made_is_an_unusable_answer() -> None:
    body = {
        "token": "bce-v3/ALTAK-SECRET/x",
        "createTime": "2024-01-02T00:00:00Z",
        "expireTime": "2024-01-01T00:00:00Z",
    }
    with pytest.raises(QianfanAPIError, match="expireTime") as info:
        accept(token_auth("v2", TokenCache()), 200, json.dumps(body).encode())
    assert info.value.is_retryable
    assert "SECRET" not in str(info.value)


class TokenDesk:
    """A loopback server in front of the emulator that answers token requests from a script.

    Chat requests are passed to the emulator; token requests get the next scripted body
    (``None``: a good token issued by the emulator; a tuple: ``(status, headers, body)``).
    """

    def __init__(self, emu: QianfanEmulator) -> None:
        self.emu = emu
        self.script: list[bytes | tuple[int, dict[str, str], bytes] | None] = []
        self.token_requests = 0
        desk = self
        # Straight to the emulator, whatever proxies the environment names.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                desk.handle(self)

            def do_POST(self) -> None:
                desk.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        path = handler.path.split("?")[0]
        if path in ("/oauth/2.0/token", "/v1/BCE-BEARER/token"):
            self.token_requests += 1
            scripted = self.script.pop(0) if self.script else None
            if isinstance(scripted, tuple):
                self.reply(handler, *scripted)
                return
            reply = self.good(path) if scripted is None else scripted
            self.reply(handler, 200, {"Content-Type": "application/json"}, reply)
            return
        self.forward(handler, body)

    def good(self, path: str) -> bytes:
        if path == "/oauth/2.0/token":
            token = self.emu.issue_access_token()
            return json.dumps({"access_token": token, "expires_in": 2592000}).encode()
        return json.dumps({"token": self.emu.issue_bearer_token()}).encode()

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")
        }
        request = urllib.request.Request(  # noqa: S310 (the emulator on loopback)
            f"{self.emu.url}{handler.path}",
            data=body or None,
            headers=headers,
            method=handler.command,
        )
        try:
            with self.opener.open(request, timeout=WAIT) as response:
                status, got, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, payload = error.code, error.headers, error.read()
        passed = {
            k: v
            for k, v in got.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        self.reply(handler, status, passed, payload)

    @staticmethod
    def reply(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def desk(qianfan_emulator: QianfanEmulator) -> Iterator[TokenDesk]:
    desk = TokenDesk(qianfan_emulator)
    yield desk
    desk.close()


def desk_model(desk: TokenDesk, protocol: str, **kwargs: Any) -> tuple[ChatQianfan, list[float]]:
    emu = desk.emu
    if protocol == "v1":
        creds: dict[str, Any] = {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
    else:
        creds = {"qianfan_access_key": emu.iam_ak, "qianfan_secret_key": emu.iam_sk}
    model = ChatQianfan(base_url=desk.url, api_version=protocol, **creds, **kwargs)
    return model, record_sleeps(model)


ODD_ANSWERS = {
    "v1": b'{"access_token": "24.SECRET", "expires_in": "abc"}',
    "v2": b'{"token": {"value": "bce-v3/SECRET"}, "status": "enable"}',
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_odd_token_answer_is_retried(desk, protocol, mode) -> None:
    desk.script = [ODD_ANSWERS[protocol]]
    model, waits = desk_model(desk, protocol)
    message, _ = call(model, mode, "你好")
    assert "你好" in str(message.content)
    assert desk.token_requests == 2
    assert [wait > 0 for wait in waits] == [True]  # a retry after a backoff, no refresh
    # the odd answer was never used as a token: one chat request, with the good one
    assert len([r for r in desk.emu.requests if r.protocol == protocol]) == 1


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_odd_token_answers_end_in_a_typed_error(desk, protocol, mode) -> None:
    desk.script = [ODD_ANSWERS[protocol]] * 3
    model, waits = desk_model(desk, protocol, max_retries=2)
    with pytest.raises(QianfanAPIError) as info:
        call(model, mode, "你好")
    assert type(info.value) is QianfanAPIError
    assert "SECRET" not in str(info.value)
    assert desk.token_requests == 3
    assert len(waits) == 2
    # error trackers record frame locals: the odd answer (it holds a token) is not in them
    for frame in frames(info.value):
        assert not [name for name, value in frame.f_locals.items() if "SECRET" in repr(value)]


# -- 16. Token lifetimes start when the request was sent -------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_token_lifetime_counts_from_when_its_request_was_sent(kind, mode) -> None:
    now = [1_000_000.0]
    auth = token_auth(kind, TokenCache(), clock=lambda: now[0])

    def answer() -> Answer:
        now[0] += 500.0  # a slow link, a loaded machine: the answer is read 500 s later
        return granted(kind, "tok-1", lifetime=1000)

    async def asend(request: Any, timeout: Any) -> Answer:
        return answer()

    if mode == "sync":
        assert auth.cache.fetch(auth, lambda request, timeout: answer(), 5) == "tok-1"
    else:
        assert asyncio.run(auth.cache.afetch(auth, asend, 5)) == "tok-1"
    # sent at 1,000,000, valid 1,000 s: replaced 100 s (10 %) before it expires
    token = auth.cache.get(auth.key, now=0.0)
    assert token is not None
    assert token.refresh_at == 1_000_000.0 + 1000 - 100
    now[0] = 1_000_000.0 + 899
    assert cached(auth) == "tok-1"
    now[0] = 1_000_000.0 + 901
    assert cached(auth) is None


# -- 15. Token fetches, refreshes and invalidations are logged -------------------------------


def secrets_of(emu: QianfanEmulator) -> list[str]:
    found = [emu.sk, emu.iam_sk, emu.api_key, "SK-CANARY"]
    for request in emu.requests:
        found += [request.query.get("access_token", ""), request.query.get("client_secret", "")]
        auth = request.headers.get("Authorization", "")
        found.append(auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else "")
        found.append(auth.rsplit("/", 1)[-1] if auth.startswith("bce-auth-v1") else "")
    return [secret for secret in found if secret]


def iam_or_app_model(emu: QianfanEmulator, protocol: str) -> ChatQianfan:
    if protocol == "v1":
        creds: dict[str, Any] = {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
    else:
        creds = {"qianfan_access_key": emu.iam_ak, "qianfan_secret_key": emu.iam_sk}
    model = ChatQianfan(base_url=emu.url, api_version=protocol, **creds)
    record_sleeps(model)
    return model


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_token_fetches_refreshes_and_invalidations_are_logged(
    qianfan_emulator, caplog, protocol, mode
) -> None:
    emu = qianfan_emulator
    model = iam_or_app_model(emu, protocol)
    kind = "v1 access token" if protocol == "v1" else "v2 bearer token (minted from IAM keys)"
    where = f"{emu.url}/oauth/2.0/token" if protocol == "v1" else f"{emu.url}/v1/BCE-BEARER/token"
    with caplog.at_level(logging.DEBUG, logger="langchain_qianfan_free"):
        call(model, mode, "first")
        (emu.expire_tokens if protocol == "v1" else emu.expire_bearer_tokens)()
        call(model, mode, "second")  # rejected: invalidated, refreshed, re-sent
        with pytest.raises(QianfanAuthenticationError):
            call(refused_model(emu, protocol), mode, "third")
    lines = [r.getMessage() for r in caplog.records if r.name == "langchain_qianfan_free"]
    lifetime = "2592000" if protocol == "v1" else "43200"
    assert any(
        line.startswith(f"{kind} fetched from {where}: valid for {lifetime} s") for line in lines
    ), lines
    assert any(
        line.startswith(f"{kind} from {where} rejected by the server: dropped") for line in lines
    )
    assert any(line.startswith(f"{kind} refreshed from {where}") for line in lines)
    assert any(line.startswith(f"{kind} from {where}: the fetch failed: ") for line in lines)
    text = caplog.text + "\n".join(lines)
    for secret in secrets_of(emu):
        assert secret not in text


# -- 1. Tokens across os.fork() --------------------------------------------------------------


def run_in_child(child: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Fork; run ``child`` in the child and return what it returned (JSON through a pipe).

    The child gets :data:`WAIT` seconds; then it is killed and the test fails.
    """
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report, and never return into pytest
        try:
            os.close(read_end)
            try:
                report = child()
            except BaseException as error:  # noqa: BLE001
                report = {"error": repr(error)}
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + WAIT
    data = b""
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, 9)
                pytest.fail(f"the forked child did not answer within {WAIT} s (it hangs)")
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
@pytest.mark.timeout(3 * WAIT)
@pytest.mark.parametrize("kind", KINDS)
def test_a_forked_child_fetches_at_once_and_keeps_cached_tokens(kind) -> None:
    cache = TokenCache()
    busy = token_auth(kind, cache)  # parent threads are fetching these two
    busy_too = token_auth(kind, cache, host="other.test")
    warm = token_auth(kind, cache, host="warm.test")  # cached before the fork
    accept(warm, *granted(kind, "tok-WARM", lifetime=3600)[::2])
    release = threading.Event()
    started = [threading.Event(), threading.Event()]

    def parent_fetch(auth: Any, started: threading.Event) -> None:
        def send(request: Any, timeout: Any) -> Answer:
            started.set()
            release.wait(3 * WAIT)
            return granted(kind, "tok-PARENT")

        auth.cache.fetch(auth, send, 3 * WAIT)

    held = threading.Event()

    def hold_the_cache_lock() -> None:  # another parent thread inside the cache at fork time
        with cache._guard:
            held.set()
            release.wait(3 * WAIT)

    workers = [
        threading.Thread(target=parent_fetch, args=(busy, started[0])),
        threading.Thread(target=parent_fetch, args=(busy_too, started[1])),
    ]
    for worker in workers:
        worker.start()
    assert all(event.wait(WAIT) for event in started)
    workers.append(threading.Thread(target=hold_the_cache_lock))
    workers[-1].start()
    assert held.wait(WAIT)

    def child() -> dict[str, Any]:
        sent: list[str] = []

        def send(request: Any, timeout: Any) -> Answer:
            sent.append(request.url.split("?")[0])
            return granted(kind, "tok-CHILD")

        async def asend(request: Any, timeout: Any) -> Answer:
            return send(request, timeout)

        return {
            "sync": busy.cache.fetch(busy, send, None),
            "async": asyncio.run(busy_too.cache.afetch(busy_too, asend, None)),
            "warm": warm.cache.fetch(warm, send, None),
            "sent": len(sent),
        }

    try:
        report = run_in_child(child)
    finally:
        release.set()
        for worker in workers:
            worker.join(WAIT)
    assert report == {"sync": "tok-CHILD", "async": "tok-CHILD", "warm": "tok-WARM", "sent": 2}
    assert cached(busy) == "tok-PARENT"  # the parent's own fetches were not disturbed
    assert cached(busy_too) == "tok-PARENT"


# A token endpoint in trouble: rate-limited, or a 5xx whose body looks like a refusal.
TROUBLE = {
    ("v1", 429): b'{"error": "rate_limited", "error_description": "too many requests"}',
    ("v1", 503): b'{"error": "invalid_client", "error_description": "unknown client id"}',
    ("v2", 429): b'{"code": "RequestLimitExceeded", "message": "slow down"}',
    ("v2", 503): b'{"code": "AccessDenied", "message": "service unavailable"}',
}


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream"])
@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_token_endpoint_trouble_is_retried_after_the_servers_wait(
    desk, protocol, status, mode
) -> None:
    headers = {"Content-Type": "application/json", "Retry-After": "7"}
    desk.script = [(status, headers, TROUBLE[(protocol, status)])]
    model, waits = desk_model(desk, protocol)
    message, _ = call(model, mode, "你好")
    assert "你好" in str(message.content)
    assert desk.token_requests == 2
    assert waits == [7.0]  # the server's wait, not a shorter backoff


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_token_endpoint_asking_a_long_wait_raises_at_once_with_it(desk, protocol) -> None:
    headers = {"Content-Type": "application/json", "Retry-After": "600"}
    desk.script = [(429, headers, TROUBLE[(protocol, 429)])]
    model, waits = desk_model(desk, protocol)
    with pytest.raises(QianfanRateLimitError) as info:
        model.invoke("你好")
    assert info.value.retry_after == 600.0
    assert waits == []
    assert desk.token_requests == 1
