"""Protocol choice, token answers and the token cache (pure parts; I/O in test_transport)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from typing import Any

import pytest
from pydantic import SecretStr

from langchain_qianfan_free._auth.credentials import choose_credentials
from langchain_qianfan_free._auth.schemes import (
    BearerAuth,
    IamBearerAuth,
    IamSignAuth,
    OAuthTokenAuth,
)
from langchain_qianfan_free._auth.token_answers import TokenAnswer
from langchain_qianfan_free._auth.token_cache import AccessToken, TokenCache
from langchain_qianfan_free._protocols.common import HttpRequest
from langchain_qianfan_free.errors import QianfanAPIError, QianfanAuthenticationError

from .conftest import accept, cached


@pytest.mark.parametrize(
    ("version", "key", "aksk", "expected"),
    [
        ("auto", True, False, "v2"),
        ("auto", False, True, "v1"),
        ("auto", True, True, "v2"),
        ("v1", True, True, "v1"),
        ("v2", True, True, "v2"),
    ],
)
def test_choose_version(version, key, aksk, expected) -> None:
    assert (
        choose_credentials(version, has_api_key=key, has_ak_sk=aksk, has_iam_keys=False)[0]
        == expected
    )


@pytest.mark.parametrize(
    ("version", "key", "aksk", "match"),
    [
        ("auto", False, False, "QIANFAN_API_KEY.*QIANFAN_AK.*QIANFAN_SK"),
        ("v2", False, True, "api_version='v2' needs an API key: set QIANFAN_API_KEY"),
        ("v1", True, False, "api_version='v1' needs .* QIANFAN_AK and QIANFAN_SK"),
    ],
)
def test_missing_credentials_name_the_settings(version, key, aksk, match) -> None:
    with pytest.raises(QianfanAuthenticationError, match=match):
        choose_credentials(version, has_api_key=key, has_ak_sk=aksk, has_iam_keys=False)


def oauth(cache: TokenCache) -> OAuthTokenAuth:
    return OAuthTokenAuth("http://h", SecretStr("my-ak"), SecretStr("my-sk"), cache)


def test_token_is_cached_until_shortly_before_expiry() -> None:
    cache = TokenCache()
    auth = oauth(cache)
    body = json.dumps({"access_token": "24.tok", "expires_in": 1000}).encode()
    assert accept(auth, 200, body, sent=0.0) == "24.tok"
    assert cache.get(auth.key, now=899.0) is not None
    assert cache.get(auth.key, now=901.0) is None  # refreshed 10 % before expiry
    assert "24.tok" not in repr(cache.get(auth.key, now=1.0))


def test_invalidate_only_drops_the_rejected_token() -> None:
    cache = TokenCache()
    auth = oauth(cache)
    accept(auth, 200, b'{"access_token":"new","expires_in":2592000}')
    auth.cache.reject(auth, "old")  # another caller already replaced "old"
    assert cached(auth) == "new"
    auth.cache.reject(auth, "new")
    assert cached(auth) is None


@pytest.mark.parametrize("scheme", [OAuthTokenAuth, IamBearerAuth])
def test_the_cache_key_is_hashed_once_per_auth(monkeypatch, scheme) -> None:
    """A cold call (cache read, fetch, store) and a refresh hash the credentials once."""
    hashed = []
    sha256 = hashlib.sha256

    def counting(data: bytes = b"", **kwargs: Any) -> Any:
        if data.startswith((b"oauth\0", b"iam-bearer\0")):  # a cache key, not a signature
            hashed.append(data)
        return sha256(data, **kwargs)

    monkeypatch.setattr(hashlib, "sha256", counting)
    auth = scheme("http://h", SecretStr("my-ak"), SecretStr("my-sk"), cache=TokenCache())
    body = b'{"access_token": "24.tok", "token": "24.tok", "expires_in": 2592000}'
    assert auth.cache.fetch(auth, lambda request, timeout: (200, {}, body), None) == "24.tok"
    auth.cache.reject(auth, "24.tok")
    assert auth.cache.fetch(auth, lambda request, timeout: (200, {}, body), None) == "24.tok"
    assert len(hashed) == 1


def test_needing_a_token_is_a_value_of_the_scheme() -> None:
    """The transports and the retry policy ask ``auth.token_source``, not the type."""
    keys = SecretStr("ak"), SecretStr("sk")
    assert BearerAuth(SecretStr("bce-v3/k")).token_source is None
    assert IamSignAuth(*keys).token_source is None
    for token_auth in (OAuthTokenAuth("http://h", *keys), IamBearerAuth("http://h", *keys)):
        assert token_auth.token_source is token_auth


def test_reading_a_token_answer_stores_nothing() -> None:
    auth = oauth(TokenCache())
    body = b'{"access_token": "24.tok", "expires_in": 1000}'
    assert auth.read_answer(200, body, 0.0) == TokenAnswer("24.tok", 1000.0)
    assert "24.tok" not in repr(auth.read_answer(200, body, 0.0))
    assert auth.cache.get(auth.key, now=0.0) is None  # the fetch stores: see TokenCache.store


@pytest.mark.parametrize(
    ("lifetime", "replaced_after"), [(1000.0, 900.0), (2592000.0, 2592000.0 - 300.0), (5.0, 4.5)]
)
def test_a_token_is_replaced_10_percent_before_expiry_at_most_5_minutes(
    lifetime, replaced_after
) -> None:
    assert AccessToken.expiring("t", 100.0, lifetime).refresh_at == 100.0 + replaced_after


def test_cache_key_holds_no_secret() -> None:
    auth = oauth(TokenCache())
    assert "my-ak" not in auth.key
    assert "my-sk" not in auth.key


@pytest.mark.parametrize(
    ("description", "setting"),
    [("unknown client id", "QIANFAN_AK"), ("Client authentication failed", "QIANFAN_SK")],
)
def test_invalid_client_names_the_wrong_key(description, setting) -> None:
    body = json.dumps({"error": "invalid_client", "error_description": description}).encode()
    with pytest.raises(QianfanAuthenticationError, match=setting) as info:
        accept(oauth(TokenCache()), 401, body)
    assert "my-ak" not in str(info.value)
    assert "my-sk" not in str(info.value)


def test_other_token_failures() -> None:
    with pytest.raises(QianfanAPIError, match="rate_limit_exceeded"):
        accept(oauth(TokenCache()), 400, b'{"error":"rate_limit_exceeded"}')
    with pytest.raises(QianfanAPIError, match="HTTP 502"):
        accept(oauth(TokenCache()), 502, b"<html>")


def test_applying_credentials() -> None:
    request = HttpRequest("http://h/v2/chat/completions", b"{}")
    bearer = BearerAuth(SecretStr("bce-v3/k"), "app-1").apply(request, "bce-v3/k")
    assert bearer.headers["Authorization"] == "Bearer bce-v3/k"
    assert bearer.headers["appid"] == "app-1"
    v1 = oauth(TokenCache()).apply(HttpRequest("http://h/chat/x", b"{}"), "24.a/b")
    assert v1.url == "http://h/chat/x?access_token=24.a%2Fb"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"refresh_token": "25.SECRET", "access_token": "24.SECRET", "expires_in": 25'),
        (502, b'<html>{"access_token": "24.SECRET"}</html>'),
        (200, b'{"session_secret": "SECRET"}'),
    ],
)
def test_token_answers_are_never_quoted(status, body) -> None:
    with pytest.raises(QianfanAPIError) as info:
        accept(oauth(TokenCache()), status, body)
    assert "SECRET" not in str(info.value)
    assert info.value.is_retryable


def _token_body() -> tuple[int, dict[str, str], bytes]:
    return 200, {}, b'{"access_token": "24.tok", "expires_in": 2592000}'


def test_a_cancelled_waiter_does_not_break_the_shared_token_fetch() -> None:
    from langchain_qianfan_free._auth.token_cache import TokenCache  # noqa: PLC0415
    from langchain_qianfan_free._transport.aio import AsyncTransport  # noqa: PLC0415

    auth = OAuthTokenAuth("http://x", SecretStr("ak"), SecretStr("sk"), cache=TokenCache())
    transport = AsyncTransport()
    fetches = []

    async def main() -> None:
        gate = asyncio.Event()

        async def slow_send(request: Any, timeout: Any) -> Any:
            fetches.append(request)
            await gate.wait()
            return _token_body()

        transport._send = slow_send  # type: ignore[method-assign]
        owner = asyncio.create_task(auth.cache.afetch(auth, transport._send, 5))
        await asyncio.sleep(0)  # the owner boards the flight
        doomed = asyncio.create_task(auth.cache.afetch(auth, transport._send, 5))
        other = asyncio.create_task(auth.cache.afetch(auth, transport._send, 5))
        await asyncio.sleep(0)  # both wait on it
        doomed.cancel()
        await asyncio.sleep(0)
        gate.set()
        assert await owner == "24.tok"
        assert await other == "24.tok"
        with pytest.raises(asyncio.CancelledError):
            await doomed

    asyncio.run(main())
    assert len(fetches) == 1


@pytest.mark.timeout(20)
def test_a_sync_call_inside_the_fetching_loop_does_not_wait_for_it() -> None:
    from langchain_qianfan_free._auth.token_cache import TokenCache  # noqa: PLC0415
    from langchain_qianfan_free._transport.aio import AsyncTransport  # noqa: PLC0415
    from langchain_qianfan_free._transport.sync import SyncTransport  # noqa: PLC0415

    auth = OAuthTokenAuth("http://x", SecretStr("ak"), SecretStr("sk"), cache=TokenCache())
    async_transport, sync_transport = AsyncTransport(), SyncTransport()
    sync_transport._send = lambda request, timeout: _token_body()  # type: ignore[method-assign]

    async def main() -> str:
        gate = asyncio.Event()

        async def slow_send(request: Any, timeout: Any) -> Any:
            await gate.wait()
            return _token_body()

        async_transport._send = slow_send  # type: ignore[method-assign]
        owner = asyncio.create_task(auth.cache.afetch(auth, async_transport._send, None))
        await asyncio.sleep(0)
        # a sync call (e.g. a sync tool) on the loop's own thread, timeout=None:
        # waiting for the loop's fetch would block forever
        token = auth.cache.fetch(auth, sync_transport._send, None)
        gate.set()
        await owner
        return token

    assert asyncio.run(main()) == "24.tok"


def test_a_waiter_gives_up_on_a_stuck_fetch_and_fetches_itself() -> None:
    from langchain_qianfan_free._auth.token_cache import TokenCache  # noqa: PLC0415
    from langchain_qianfan_free._transport.aio import AsyncTransport  # noqa: PLC0415
    from langchain_qianfan_free._transport.sync import SyncTransport  # noqa: PLC0415

    auth = OAuthTokenAuth("http://x", SecretStr("ak"), SecretStr("sk"), cache=TokenCache())
    boarded: list[Any] = []
    # a fetch that never ends, started by another thread (so nobody may skip waiting)
    worker = threading.Thread(target=lambda: boarded.append(auth.cache.join_or_start(auth.key)[0]))
    worker.start()
    worker.join()
    stuck = boarded[0]
    sync_transport, async_transport = SyncTransport(), AsyncTransport()
    sync_transport._send = lambda request, timeout: _token_body()  # type: ignore[method-assign]

    async def quick_send(request: Any, timeout: Any) -> Any:
        return _token_body()

    async_transport._send = quick_send  # type: ignore[method-assign]
    assert auth.cache.fetch(auth, sync_transport._send, 0.05) == "24.tok"
    assert asyncio.run(auth.cache.afetch(auth, async_transport._send, 0.05)) == "24.tok"
    assert not stuck.done()


def test_the_waiters_of_one_loop_share_one_future_of_the_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cold burst chains one asyncio future per loop to the fetch, not one per call."""
    chained: list[object] = []
    wrap_future = asyncio.wrap_future

    def counting_wrap_future(future: Any, *, loop: Any = None) -> Any:
        chained.append(future)
        return wrap_future(future, loop=loop)

    monkeypatch.setattr(asyncio, "wrap_future", counting_wrap_future)
    from langchain_qianfan_free._auth.token_cache import Flight  # noqa: PLC0415
    from langchain_qianfan_free._transport.aio import AsyncTransport  # noqa: PLC0415

    auth = OAuthTokenAuth("http://x", SecretStr("ak"), SecretStr("sk"), cache=TokenCache())
    flight, mine = auth.cache.join_or_start(auth.key)  # a fetch in flight, owned elsewhere
    assert mine
    transport = AsyncTransport()

    async def burst() -> tuple[list[str], asyncio.Future[str]]:
        waiters = [
            asyncio.create_task(auth.cache.afetch(auth, transport._send, 5)) for _ in range(50)
        ]
        await asyncio.sleep(0)  # all of them wait now
        shared = flight.for_loop()
        assert flight.for_loop() is shared
        auth.cache.finish(auth.key, flight, "24.tok")
        return await asyncio.gather(*waiters), shared

    tokens, shared = asyncio.run(burst())
    assert tokens == ["24.tok"] * 50
    assert len(chained) == 1
    # another loop (another thread's, say) gets its own future of the same fetch
    assert asyncio.run(_for_loop_of(flight)) is not shared
    assert isinstance(flight, Flight)


async def _for_loop_of(flight: Any) -> Any:
    shared = flight.for_loop()
    assert await shared == "24.tok"
    return shared


def test_a_failed_fetch_nobody_waits_for_any_more_is_not_logged_by_asyncio() -> None:
    import gc  # noqa: PLC0415

    from langchain_qianfan_free._auth.token_cache import FetchAbandoned, Flight  # noqa: PLC0415

    reported: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        flight = Flight()
        shared = flight.for_loop()
        # the only waiter gave up (say it timed out); then the fetch fails
        await asyncio.wait((shared,), timeout=0)
        flight.set_exception(FetchAbandoned())
        await asyncio.sleep(0)  # the result reaches the loop's future
        await asyncio.sleep(0)
        del flight, shared
        gc.collect()

    asyncio.run(main())
    assert reported == []
