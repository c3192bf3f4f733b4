"""Both paths trust the same CAs: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE.

A TLS front with a certificate from a private CA (made here with trustme) relays to the
emulator on loopback. Without the CA every call fails with a certificate error; with
the CA named by any of the three variables, sync and async calls all succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.errors import QianfanConnectionError

from .conftest import MODES, PROTOCOLS, call, record_sleeps

pytestmark = pytest.mark.usefixtures("fresh_tokens")

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


class TlsFront:
    """``https://127.0.0.1:PORT`` relaying bytes to ``target_port`` (its own thread and loop)."""

    def __init__(self, target_port: int, context: ssl.SSLContext) -> None:
        self._target = target_port
        self._context = context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.url = ""

    def __enter__(self) -> TlsFront:
        self._thread.start()
        start = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.url = f"https://127.0.0.1:{start.result(10)}"
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=self._context)
        return int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def front(ca: trustme.CA) -> Iterator[tuple[QianfanEmulator, TlsFront]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with QianfanEmulator(rpm=10**9, tpm=10**12) as emu, TlsFront(emu.port, context) as tls:
        yield emu, tls


@pytest.fixture
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _model(front: tuple[QianfanEmulator, TlsFront], protocol: str) -> ChatQianfan:
    emu, tls = front
    creds = (
        {"qianfan_ak": emu.ak, "qianfan_sk": emu.sk}
        if protocol == "v1"
        else {"api_key": emu.api_key}
    )
    return ChatQianfan(base_url=tls.url, api_version=protocol, max_retries=0, **creds)


@pytest.mark.usefixtures("no_ca_variables")
@pytest.mark.parametrize("variable", CA_VARIABLES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", MODES)
def test_a_private_ca_named_by_any_variable_is_trusted_on_both_paths(
    front: tuple[QianfanEmulator, TlsFront],
    ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    protocol: str,
    mode: str,
) -> None:
    monkeypatch.setenv(variable, str(ca_file))
    message, _ = call(_model(front, protocol), mode, "私有证书")
    assert "收到：私有证书" in str(message.content)


@pytest.mark.usefixtures("no_ca_variables")
@pytest.mark.parametrize("mode", MODES)
def test_without_the_ca_the_certificate_is_refused_on_both_paths(
    front: tuple[QianfanEmulator, TlsFront], mode: str
) -> None:
    with pytest.raises(QianfanConnectionError, match=r"(?i)certificate"):
        call(_model(front, "v2"), mode, "不信任")


@pytest.mark.usefixtures("no_ca_variables")
@pytest.mark.parametrize("mode", MODES)
def test_a_ca_variable_naming_nothing_does_not_break_plain_http(
    front: tuple[QianfanEmulator, TlsFront], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    emu, _ = front
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    model = ChatQianfan(base_url=emu.url, api_key=emu.api_key)
    message, _ = call(model, mode, "明文")
    assert "收到：明文" in str(message.content)


@pytest.mark.usefixtures("no_ca_variables")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("content", ["", "not a certificate\n"], ids=["empty", "garbage"])
def test_an_unreadable_bundle_is_the_same_typed_error_on_both_paths(
    front: tuple[QianfanEmulator, TlsFront],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mode: str,
    content: str,
) -> None:
    bundle = tmp_path / "bad.pem"
    bundle.write_text(content)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    model = _model(front, "v2").model_copy(update={"max_retries": 2})
    waits = record_sleeps(model)
    with pytest.raises(QianfanConnectionError, match="could not be read") as info:
        call(model, mode, "坏证书")
    assert not info.value.is_retryable
    assert waits == []


@pytest.mark.usefixtures("no_ca_variables")
@pytest.mark.parametrize("mode", MODES)
def test_an_upper_case_scheme_gets_the_same_trust(
    front: tuple[QianfanEmulator, TlsFront],
    ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    emu, tls = front
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    upper = tls.url.replace("https://", "HTTPS://")
    model = ChatQianfan(base_url=upper, api_key=emu.api_key, max_retries=0)
    message, _ = call(model, mode, "大写")
    assert "收到：大写" in str(message.content)


@pytest.mark.usefixtures("no_ca_variables")
def test_close_keeps_the_trusted_cas(
    front: tuple[QianfanEmulator, TlsFront], ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    model = _model(front, "v2")
    assert "收到：一" in str(model.invoke("一").content)
    model.close()  # the next call opens a new session: it must trust the same CAs
    assert "收到：二" in str(model.invoke("二").content)
    assert "收到：三" in "".join(c.text for c in model.stream("三"))


@pytest.mark.usefixtures("no_ca_variables")
@pytest.mark.parametrize("mode", MODES)
def test_an_untrusted_certificate_is_not_retried(
    front: tuple[QianfanEmulator, TlsFront], mode: str
) -> None:
    model = _model(front, "v2").model_copy(update={"max_retries": 2})
    waits = record_sleeps(model)
    with pytest.raises(QianfanConnectionError, match="not trusted") as info:
        call(model, mode, "不信任")
    assert not info.value.is_retryable
    assert "REQUESTS_CA_BUNDLE" in str(info.value)
    assert waits == []
