"""The sync and async transports are twins: their public methods keep the same signatures.

After openai-python's ``assert_signatures_in_sync`` (``_utils/_reflection.py``): the
two loops are written by hand, so this test is what keeps a parameter, a default or a
return type added on one side from being forgotten on the other. Apart from
async-ness, a pair differs only where the I/O library does: the async ``stream``
returns an ``AsyncIterator`` where the sync one returns an ``Iterator``, and the
async ``close`` is spelt ``aclose``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._auth.token_cache import TokenCache
from langchain_qianfan_free._transport.aio import AsyncTransport
from langchain_qianfan_free._transport.sync import SyncTransport

TWINS = {"close": "aclose"}  # sync name -> async name, where they differ
# Public members whose shapes differ by design: the session (a property on the sync
# side, a coroutine of the running loop on the async side).
UNPAIRED = {"session"}


def public(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


def assert_signatures_in_sync(
    sync_fn: Callable[..., Any],
    async_fn: Callable[..., Any],
    renames: dict[str, str] | None = None,
) -> None:
    """``async_fn`` has ``sync_fn``'s parameters and return type, apart from async-ness.

    ``renames`` maps sync type names to their async twins' (``Send`` -> ``AsyncSend``),
    applied to the sync side's annotations before they are compared.
    """
    renames = renames or {}

    def renamed(annotation: Any) -> Any:
        if not isinstance(annotation, str):
            return annotation
        for sync_name, async_name in renames.items():
            annotation = annotation.replace(sync_name, async_name)
        return annotation

    assert not inspect.iscoroutinefunction(sync_fn)
    assert not inspect.isasyncgenfunction(sync_fn)
    assert inspect.iscoroutinefunction(async_fn) or inspect.isasyncgenfunction(async_fn)
    sync_sig, async_sig = inspect.signature(sync_fn), inspect.signature(async_fn)
    problems = []
    sync_params, async_params = sync_sig.parameters, async_sig.parameters
    for name in sync_params.keys() | async_params.keys():
        ours, theirs = sync_params.get(name), async_params.get(name)
        if ours is None or theirs is None:
            problems.append(f"{name!r} only on the {'async' if ours is None else 'sync'} side")
            continue
        for what in ("kind", "default"):
            if getattr(ours, what) != getattr(theirs, what):
                problems.append(
                    f"{name!r}: {what} {getattr(ours, what)!r} != {getattr(theirs, what)!r}"
                )
        if renamed(ours.annotation) != theirs.annotation:
            problems.append(f"{name!r}: annotation {ours.annotation!r} != {theirs.annotation!r}")
    if list(sync_params) != [name for name in async_params if name in sync_params]:
        problems.append(f"parameter order {list(sync_params)} != {list(async_params)}")
    expected = str(renamed(sync_sig.return_annotation))
    if inspect.isasyncgenfunction(async_fn):
        expected = expected.replace("Iterator[", "AsyncIterator[", 1)
    if str(async_sig.return_annotation) != expected:
        problems.append(f"returns {async_sig.return_annotation!r}, expected {expected!r}")
    assert problems == [], f"{sync_fn.__qualname__} / {async_fn.__qualname__}: {problems}"


def test_every_public_method_has_its_twin() -> None:
    paired = {TWINS.get(name, name) for name in public(SyncTransport) - UNPAIRED}
    assert paired == public(AsyncTransport) - UNPAIRED


@pytest.mark.parametrize("name", sorted(public(SyncTransport) - UNPAIRED - {"reset_after_fork"}))
def test_the_twins_keep_the_same_signatures(name) -> None:
    assert_signatures_in_sync(
        getattr(SyncTransport, name), getattr(AsyncTransport, TWINS.get(name, name))
    )


RUN_MANAGER = {"CallbackManagerForLLMRun": "AsyncCallbackManagerForLLMRun"}


@pytest.mark.parametrize(
    ("sync_fn", "async_fn", "renames"),
    [
        (ChatQianfan._generate, ChatQianfan._agenerate, RUN_MANAGER),
        (ChatQianfan._stream, ChatQianfan._astream, RUN_MANAGER),
        (ChatQianfan._correct, ChatQianfan._acorrect, {}),
        (ChatQianfan.close, ChatQianfan.aclose, {}),
        (TokenCache.fetch, TokenCache.afetch, {"SyncSend": "AsyncSend"}),
    ],
    ids=["generate", "stream", "correct", "close", "token-fetch"],
)
def test_the_other_twins_keep_the_same_signatures(sync_fn, async_fn, renames) -> None:
    # The chat model's entry points and the token fetch are hand-written twins too.
    assert_signatures_in_sync(sync_fn, async_fn, renames)


def test_the_fork_reset_is_synchronous_on_both_sides() -> None:
    # It runs in os.register_at_fork's hook, where nothing can be awaited.
    for cls in (SyncTransport, AsyncTransport):
        reset = cls.reset_after_fork
        assert not inspect.iscoroutinefunction(reset)
        assert list(inspect.signature(reset).parameters) == ["self"]


def test_a_drifted_twin_is_caught() -> None:
    """The check itself: a parameter, a default or a return type out of step fails."""

    class Sync:
        def stream(self, call: int, *, timeout: float = 1.0) -> Iterator[str]:
            raise NotImplementedError

    class Extra:
        async def stream(
            self, call: int, *, timeout: float = 1.0, more: int = 0
        ) -> AsyncIterator[str]:
            yield ""

    class Default:
        async def stream(self, call: int, *, timeout: float = 2.0) -> AsyncIterator[str]:
            yield ""

    class Returns:
        async def stream(self, call: int, *, timeout: float = 1.0) -> AsyncIterator[bytes]:
            yield ""

    class Same:
        async def stream(self, call: int, *, timeout: float = 1.0) -> AsyncIterator[str]:
            yield ""

    assert_signatures_in_sync(Sync.stream, Same.stream)
    for drifted in (Extra, Default, Returns):
        with pytest.raises(AssertionError):
            assert_signatures_in_sync(Sync.stream, drifted.stream)
