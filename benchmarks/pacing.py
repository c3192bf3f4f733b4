"""Client-side pacing for batch jobs on the free tier: which setup causes fewest 429s?

Runs one ``abatch`` of distinct prompts against the emulator's RPM limit under each
setup and prints the rate-limit answers (429 / 336501, counted by the emulator; each
one cost a retry), the most retries one prompt needed, the answers lost (errors
instead of answers), the wall time and the answers per minute:

* ``default``      — no limiter, ``max_retries=2`` (ChatQianfan's default).
* ``retries``      — no limiter, ``--max-retries`` (50): the backoff (0.5 s … 8 s,
  jittered) absorbs the 429s.
* ``inmemory-0.9`` — langchain-core's ``InMemoryRateLimiter`` at 90 % of the RPM,
  otherwise its defaults (``max_bucket_size=1``, ``check_every_n_seconds=0.1``).
* ``inmemory``     — ``InMemoryRateLimiter`` at the RPM with ``max_bucket_size=2``
  (what docs/batch.md recommends).
* ``adaptive``     — a prototype pacer (below, in this script only) that mirrors the
  server's sliding window and learns the limit, and what other clients use, from
  ``response_metadata["rate_limit"]`` (the ``X-Ratelimit-*`` headers).

Time runs ``--speedup`` times faster than on Qianfan, *for both sides*: the emulator's
window is ``60 / speedup`` seconds, and every client-side time constant is divided by
the same factor (the retry backoff, the limiter's polling interval, the pacer's
window). So the runs play out as they would against the real 60-second window, only
quicker; "real" times are the measured ones times ``speedup``. Request latency is not
scaled (the emulator answers in about a millisecond), which is generous to every
setup alike.

Run: python benchmarks/pacing.py [--requests 10000] [--rpm 300] [--speedup 120]
     [--concurrency 32] [--max-retries 50] [--setups default,retries,...]
(prints a table; not part of the tests). The default ×120 takes about two minutes;
``--speedup 30`` (a 2-second window) is closer to real life, where a client can
send many times the RPM, and takes about six.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter, deque
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.language_models import LanguageModelInput
from langchain_core.outputs import LLMResult
from langchain_core.rate_limiters import BaseRateLimiter, InMemoryRateLimiter

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._transport.aio import AsyncTransport
from langchain_qianfan_free.emulator import QianfanEmulator

QIANFAN_WINDOW = 60.0  # seconds: Qianfan's limits are per minute
PREFIX = "【千帆模拟器】ernie-speed-8k 收到："


class HeaderPacer(BaseRateLimiter, AsyncCallbackHandler):
    """Prototype adaptive pacer: a client-side copy of the server's sliding window.

    Qianfan's headers say the limit and what is left of it, but not when the window
    frees up, so the pacer keeps its own log over the window (``window`` seconds, 60
    on Qianfan; the headers do not carry it). A call takes a slot when it starts and
    keeps it while in flight; once answered, its slot is dated by the answer (which
    is later than the server's own count, so our copy of the window always frees a
    slot after the server does) and leaves ``window`` seconds later. It sends while
    fewer than ``limit - others`` slots are taken, where

    * ``limit`` is ``X-Ratelimit-Limit-Requests`` (one call at a time until the first
      answer tells it);
    * ``others`` is what the server counts beyond our own answered calls
      (``limit - X-Ratelimit-Remaining-Requests - answered``): other processes or
      models on the same credential.

    It is both the model's ``rate_limiter`` (``aacquire`` before each call) and a
    callback handler (``on_llm_end`` / ``on_llm_error`` see each call finish).
    """

    def __init__(self, window: float = QIANFAN_WINDOW) -> None:
        self.window = window
        self.limit: int | None = None
        self.others = 0
        self.in_flight = 0
        self.answered: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()

    def _expire(self, now: float) -> None:
        while self.answered and self.answered[0] <= now - self.window:
            self.answered.popleft()

    def _taken(self) -> int:
        return self.in_flight + len(self.answered) + self.others

    async def aacquire(self, *, blocking: bool = True) -> bool:
        async with self._lock:  # one waiter at a time: calls start in order
            while True:
                now = time.monotonic()
                self._expire(now)
                if self._taken() < (self.limit or 1):
                    self.in_flight += 1
                    return True
                if not blocking:
                    return False
                # Wake when the oldest answered slot leaves the window, or when a
                # call finishes (which may free or date a slot, or teach the limit).
                self._changed.clear()
                timeout = self.answered[0] + self.window - now if self.answered else None
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)

    def acquire(self, *, blocking: bool = True) -> bool:
        raise NotImplementedError("the prototype paces async batches only")

    def _finished(self) -> None:
        self.in_flight -= 1
        self.answered.append(time.monotonic())
        self._changed.set()

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                limits = (message.response_metadata if message else {}).get("rate_limit", {})
                self._observe(limits)
        self._finished()

    async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self._finished()  # it may have been admitted before failing: count it

    def _observe(self, limits: dict[str, Any]) -> None:
        limit = limits.get("X-Ratelimit-Limit-Requests")
        remaining = limits.get("X-Ratelimit-Remaining-Requests")
        if not isinstance(limit, int) or not isinstance(remaining, int):
            return
        self.limit = limit
        self._expire(time.monotonic())
        # This answer is not in `answered` yet but is in the server's count.
        self.others = max(limit - remaining - len(self.answered) - 1, 0)


def scaled_backoff(model: ChatQianfan, speedup: float) -> None:
    """Divide the model's retry waits by ``speedup`` (time runs that much faster)."""

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / speedup)

    model._async = AsyncTransport(sleep=sleep)  # the transports' test seam


def make_setup(
    setup: str, args: argparse.Namespace
) -> tuple[BaseRateLimiter | None, list[Any], int]:
    """The rate limiter, callbacks and max_retries of one setup (time already scaled)."""
    window = QIANFAN_WINDOW / args.speedup
    per_second = args.rpm / window
    check_every = 0.1 / args.speedup  # InMemoryRateLimiter's default 0.1 s, scaled
    if setup == "default":  # what a user gets without thinking about it
        return None, [], 2
    if setup == "retries":
        return None, [], args.max_retries
    if setup == "inmemory-0.9":  # the obvious first try: 90 % of the RPM
        limiter = InMemoryRateLimiter(
            requests_per_second=0.9 * per_second, check_every_n_seconds=check_every
        )
        return limiter, [], args.max_retries
    if setup == "inmemory":  # the RPM itself, and a bucket of 2 (see docs/batch.md)
        limiter = InMemoryRateLimiter(
            requests_per_second=per_second, check_every_n_seconds=check_every, max_bucket_size=2
        )
        return limiter, [], args.max_retries
    if setup == "adaptive":
        pacer = HeaderPacer(window=window)
        return pacer, [pacer], args.max_retries
    raise SystemExit(f"unknown setup {setup!r}; choose from {SETUPS}")


SETUPS = "default,retries,inmemory-0.9,inmemory,adaptive"


async def run(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    limiter, callbacks, max_retries = make_setup(setup, args)
    window = QIANFAN_WINDOW / args.speedup
    async with QianfanEmulator(rpm=args.rpm, tpm=10**9, rate_window=window) as emu:
        model = ChatQianfan(
            base_url=emu.url, api_key=emu.api_key, max_retries=max_retries, rate_limiter=limiter
        )
        scaled_backoff(model, args.speedup)
        prompts: list[LanguageModelInput] = [f"第{i}题" for i in range(args.requests)]
        started = time.perf_counter()
        results = await model.abatch(
            prompts,
            config={"max_concurrency": args.concurrency, "callbacks": callbacks},
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - started
        correct = sum(
            not isinstance(result, BaseException) and result.content == f"{PREFIX}{prompt}"
            for prompt, result in zip(prompts, results, strict=True)
        )
        log = [r for r in emu.requests if r.protocol == "v2"]
        attempts = Counter(r.json["messages"][-1]["content"] for r in log)
        real_minutes = elapsed * args.speedup / 60
        return {
            "setup": setup,
            "max_retries": max_retries,
            "rate_limited": emu.rate_limited,
            "retries": len(log) - args.requests,
            "most_retries": max(attempts.values()) - 1,
            "lost": args.requests - correct,
            "seconds": elapsed,
            "real_minutes": real_minutes,
            "per_minute": correct / real_minutes,
        }


def report(args: argparse.Namespace) -> None:
    print(
        f"{args.requests} distinct prompts, RPM {args.rpm}, max_concurrency {args.concurrency}, "
        f"time x{args.speedup:g} (window {QIANFAN_WINDOW / args.speedup:.3g} s); "
        f"at exactly the RPM the batch takes {args.requests / args.rpm:.1f} real minutes"
    )
    print(
        f"{'setup':<13} {'max_retries':>11} {'429s':>7} {'most retries':>12} {'lost':>5} "
        f"{'wall s':>7} {'real min':>8} {'answers/min':>11}"
    )
    for setup in args.setups.split(","):
        row = asyncio.run(run(setup, args))  # a fresh event loop (and client) per setup
        print(
            f"{row['setup']:<13} {row['max_retries']:>11} {row['rate_limited']:>7} "
            f"{row['most_retries']:>12} {row['lost']:>5} {row['seconds']:>7.1f} "
            f"{row['real_minutes']:>8.1f} {row['per_minute']:>11.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--rpm", type=int, default=300)
    parser.add_argument("--speedup", type=float, default=120.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-retries", type=int, default=50)
    parser.add_argument("--setups", default=SETUPS, help=f"comma-separated, from {SETUPS}")
    report(parser.parse_args())


if __name__ == "__main__":
    main()
