"""The benchmark's phases: imports, per-call latency and streams, concurrent bursts.

Every phase measures every client in each round, in an order that rotates and reverses
from round to round, so a slow moment of the machine lands on all clients alike and
differences are taken round by round (see :class:`benchmarks.stats.Samples`).
"""

from __future__ import annotations

import asyncio
import compileall
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from benchmarks.clients import Client, Endpoint, build, fake_model
from benchmarks.procs import ROOT, Server, run_python
from benchmarks.stats import Samples

T = TypeVar("T")

FAKE = "LangChain fake model (no I/O)"
INVOKE_PROMPT = "你好"


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    rounds: int = 7  # latency rounds
    calls: int = 200  # sequential (a)invokes per client per round
    streams: int = 40  # (a)streams per client per round
    warmup: int = 20  # untimed calls per client before the first round
    stream_events: int = 50  # text events per stream
    burst: int = 500  # concurrent ainvoke calls
    burst_delay: float = 0.05  # server delay per answer in the burst, seconds
    burst_rounds: int = 3
    import_rounds: int = 7


QUICK = Plan(rounds=2, calls=10, streams=3, warmup=2, burst=50, burst_rounds=1, import_rounds=1)


@dataclass
class Results:
    """Everything one run measured."""

    plan: Plan
    clients: list[str]
    samples: Samples = field(default_factory=Samples)
    bursts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    imports: dict[str, list[float]] = field(default_factory=dict)
    stream_event_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    two_cpus: bool = False

    def as_json(self) -> str:
        return json.dumps(
            {
                "plan": asdict(self.plan),
                "clients": self.clients,
                "samples": self.samples.as_dict(),
                "bursts": self.bursts,
                "imports": self.imports,
                "stream_event_counts": self.stream_event_counts,
                "notes": self.notes,
                "two_cpus": self.two_cpus,
            },
            ensure_ascii=False,
            indent=1,
        )


def alternate(items: Sequence[T], round_index: int) -> list[T]:
    """Rotate by the round number, and reverse every other round."""
    shift = round_index % len(items)
    order = list(items[shift:]) + list(items[:shift])
    return order[::-1] if round_index % 2 else order


# -- imports ------------------------------------------------------------------------------

#: What each import row times, in a fresh interpreter.
IMPORTS = {
    "langchain-core BaseChatModel": "from langchain_core.language_models import BaseChatModel",
    "ChatQianfan": "from langchain_qianfan_free import ChatQianfan",
    "langchain_qianfan_free (package only)": "import langchain_qianfan_free",
    "a module that only imports BaseChatModel": "import benchmarks._floor_import",
}

_TIMER = (
    "import time, json; t = time.perf_counter(); {statement}; "
    "print(json.dumps({{'seconds': time.perf_counter() - t}}))"
)


def measure_imports(plan: Plan, results: Results, extra: dict[str, str]) -> None:
    """Time each import statement in fresh interpreters, rounds in alternating order.

    The package's bytecode is compiled first, as installing a wheel does, so the
    figure does not depend on ``PYTHONDONTWRITEBYTECODE`` or a first run.
    """
    compileall.compile_dir(ROOT / "langchain_qianfan_free", quiet=1)
    statements = {**IMPORTS, **extra}
    for round_index in range(plan.import_rounds):
        for name in alternate(list(statements), round_index):
            code = _TIMER.format(statement=statements[name])
            seconds = float(run_python(["-c", code])["seconds"])
            results.imports.setdefault(name, []).append(seconds)


# -- latency ------------------------------------------------------------------------------


def _time_calls(call: Callable[[str], object], prompt: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call(prompt)
        times.append(time.perf_counter() - start)
    return times


async def _atime_calls(call: Callable[[str], Any], prompt: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await call(prompt)
        times.append(time.perf_counter() - start)
    return times


def _time_streams(
    stream: Callable[[str], Iterator[str]], prompt: str, n: int
) -> tuple[list[float], list[float], int]:
    firsts, totals, pieces = [], [], 0
    for _ in range(n):
        start = time.perf_counter()
        first, pieces = None, 0
        for _piece in stream(prompt):
            if first is None:
                first = time.perf_counter() - start
            pieces += 1
        totals.append(time.perf_counter() - start)
        firsts.append(first if first is not None else totals[-1])
    return firsts, totals, pieces


async def _atime_streams(
    stream: Callable[[str], AsyncIterator[str]], prompt: str, n: int
) -> tuple[list[float], list[float], int]:
    firsts, totals, pieces = [], [], 0
    for _ in range(n):
        start = time.perf_counter()
        first, pieces = None, 0
        async for _piece in stream(prompt):
            if first is None:
                first = time.perf_counter() - start
            pieces += 1
        totals.append(time.perf_counter() - start)
        firsts.append(first if first is not None else totals[-1])
    return firsts, totals, pieces


def stream_prompts(clients: list[Client], events: int) -> dict[str, str]:
    """A prompt per protocol whose echoed reply streams exactly ``events`` text pieces.

    The emulator streams one character per event and echoes the prompt after a fixed
    prefix, so the prefix's length is read off one probe stream.
    """
    prompts = {"": "x"}
    for client in clients:
        if client.floor and client.stream is not None and client.protocol not in prompts:
            probe = sum(1 for _ in client.stream("x"))
            prompt = "x" * (events - (probe - 1))
            got = sum(1 for _ in client.stream(prompt))
            if got != events:
                raise RuntimeError(f"{client.name}: asked for {events} events, got {got}")
            prompts[client.protocol] = prompt
    return prompts


def _sync_round(order: list[Client], plan: Plan, prompts: dict[str, str], results: Results) -> None:
    samples = results.samples
    for client in order:
        if client.invoke is not None:
            times = _time_calls(client.invoke, INVOKE_PROMPT, plan.calls)
            samples.add("invoke", client.name, times)
    for client in order:
        if client.stream is not None:
            prompt = prompts[client.protocol]
            first, total, pieces = _time_streams(client.stream, prompt, plan.streams)
            samples.add("stream_first", client.name, first)
            samples.add("stream_total", client.name, total)
            results.stream_event_counts[client.name] = pieces


async def _async_round(
    order: list[Client], plan: Plan, prompts: dict[str, str], results: Results
) -> None:
    samples = results.samples
    for client in order:
        if client.ainvoke is not None:
            times = await _atime_calls(client.ainvoke, INVOKE_PROMPT, plan.calls)
            samples.add("ainvoke", client.name, times)
    for client in order:
        if client.astream is not None:
            prompt = prompts[client.protocol]
            first, total, _ = await _atime_streams(client.astream, prompt, plan.streams)
            samples.add("astream_first", client.name, first)
            samples.add("astream_total", client.name, total)


async def _warm_async(clients: list[Client], plan: Plan, prompts: dict[str, str]) -> None:
    for client in clients:
        if client.ainvoke is not None:
            await _atime_calls(client.ainvoke, INVOKE_PROMPT, plan.warmup)
        if client.astream is not None:
            await _atime_streams(client.astream, prompts[client.protocol], 2)


def measure_latency(endpoint: Endpoint, names: list[str], plan: Plan, results: Results) -> None:
    """Sequential invoke/ainvoke and 50-event streams, every client in every round."""
    clients = [build(name, endpoint) for name in names]
    clients.append(fake_model(plan.stream_events))
    prompts = stream_prompts(clients, plan.stream_events)
    loop = asyncio.new_event_loop()
    try:
        for client in clients:  # connections, tokens, first-use imports: not timed
            if client.invoke is not None:
                _time_calls(client.invoke, INVOKE_PROMPT, plan.warmup)
            if client.stream is not None:
                _time_streams(client.stream, prompts[client.protocol], 2)
        loop.run_until_complete(_warm_async(clients, plan, prompts))
        for round_index in range(plan.rounds):
            order = alternate(clients, round_index)
            _sync_round(order, plan, prompts, results)
            loop.run_until_complete(_async_round(order, plan, prompts, results))
    finally:
        for client in clients:
            client.close()
            if client.aclose is not None:
                loop.run_until_complete(client.aclose())
        loop.close()


# -- concurrent bursts --------------------------------------------------------------------


def measure_bursts(server: Server, names: list[str], plan: Plan, results: Results) -> None:
    """``plan.burst`` concurrent ainvoke per client, each burst in a fresh process."""
    if server.endpoint is None:
        raise RuntimeError("server not started")
    hello = json.dumps(asdict(server.endpoint))
    for round_index in range(plan.burst_rounds):
        for name in alternate(names, round_index):
            before = server.count()
            answer = run_python(["-m", "benchmarks.burst", name, hello, str(plan.burst)])
            after = server.count()
            answer["token_requests"] = after["token"] - before["token"]
            answer["iam_requests"] = after["iam"] - before["iam"]
            results.bursts.setdefault(name, []).append(answer)
