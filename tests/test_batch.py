"""Batch jobs against the emulator's rate limits: every answer arrives once, in order.

"300 RPM" is scaled in time (the emulator's ``rate_window``), not in size, so the
batch meets the same limit a free-tier key has, only faster. The models here sleep
their real backoff (these tests are about what a batch user gets).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

PREFIX = "【千帆模拟器】ernie-speed-8k 收到："
DOCS = Path(__file__).parent.parent / "docs" / "batch.md"


def chat_requests(emu: QianfanEmulator) -> int:
    return sum(r.protocol == "v2" for r in emu.requests)


@pytest.mark.timeout(300)
def test_10000_requests_through_abatch_survive_the_rate_limit() -> None:
    prompts: list[LanguageModelInput] = [f"第{i}题" for i in range(10_000)]
    # 300 requests per second: a 60-times faster "300 RPM", well below what one client
    # process sends even on a slow, busy machine (600-800 a second here), so the limit
    # is hit again and again; the batch takes about 34 s.
    with QianfanEmulator(rpm=300, rate_window=1.0) as emu:
        model = ChatQianfan(base_url=emu.url, api_key=emu.api_key, max_retries=30)
        results = asyncio.run(model.abatch(prompts, config={"max_concurrency": 64}))
        refused, sent = emu.rate_limited, chat_requests(emu)

    assert len(results) == len(prompts)
    wrong = [
        (prompt, result.content)
        for prompt, result in zip(prompts, results, strict=True)
        if result.content != f"{PREFIX}{prompt}"
    ]
    assert wrong == []  # nothing lost, nothing swapped, nothing answered twice
    assert refused > 0  # the limit really was in the way
    assert sent - refused == len(prompts)  # each prompt was answered by the server once


def test_the_documented_setup_paces_a_batch_below_the_limit() -> None:
    # docs/batch.md: one InMemoryRateLimiter at the RPM, max_retries as the safety net,
    # max_concurrency for the connection count. Scaled: 100 requests per 1.5 s window.
    rpm, window = 100, 1.5
    prompts: list[LanguageModelInput] = [f"问题{i}" for i in range(150)]  # > one window
    with QianfanEmulator(rpm=rpm, rate_window=window) as emu:
        model = ChatQianfan(
            base_url=emu.url,
            api_key=emu.api_key,
            max_retries=10,
            rate_limiter=InMemoryRateLimiter(
                requests_per_second=0.9 * rpm / window,
                check_every_n_seconds=0.1 * window / 60,
                max_bucket_size=2,
            ),
        )
        results = asyncio.run(model.abatch(prompts, config={"max_concurrency": 8}))
        refused = emu.rate_limited

    assert [r.content for r in results] == [f"{PREFIX}{p}" for p in prompts]
    # The same batch without the limiter is refused 50 times (150 requests, 100 per
    # window); paced at 90 % of the limit it is not refused at all.
    assert refused == 0


def test_without_the_limiter_the_same_batch_is_refused() -> None:
    # The counterpart of the test above: its zero is not an accident of speed.
    with QianfanEmulator(rpm=100, rate_window=1.5) as emu:
        model = ChatQianfan(base_url=emu.url, api_key=emu.api_key, max_retries=10)
        prompts: list[LanguageModelInput] = [f"问题{i}" for i in range(150)]
        results = asyncio.run(model.abatch(prompts, config={"max_concurrency": 8}))
        assert [r.content for r in results] == [f"{PREFIX}{p}" for p in prompts]
        assert emu.rate_limited > 0


def test_default_max_retries_loses_answers_in_a_large_batch() -> None:
    # Why docs/batch.md raises max_retries: with the default 2, a batch well over the
    # limit gets errors back (return_exceptions=True shows them in place).
    with QianfanEmulator(rpm=100, rate_window=60) as emu:
        model = ChatQianfan(base_url=emu.url, api_key=emu.api_key)
        prompts: list[LanguageModelInput] = [f"问题{i}" for i in range(110)]

        async def run() -> list[object]:
            return list(
                await model.abatch(prompts, config={"max_concurrency": 8}, return_exceptions=True)
            )

        results = asyncio.run(run())
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 10
    assert all("336501" in str(f) or "rpm_rate_limit" in str(f) for f in failures)


def test_the_example_in_the_docs_runs(
    qianfan_emulator: QianfanEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The recommendation's code, unchanged, with the key and host from the environment.
    example = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)[0]
    monkeypatch.setenv("QIANFAN_API_KEY", qianfan_emulator.api_key)
    monkeypatch.setenv("QIANFAN_BASE_URL", qianfan_emulator.url)
    exec(compile(example, str(DOCS), "exec"), {"__name__": "__main__"})  # noqa: S102
    lines = capsys.readouterr().out.splitlines()
    words = ("千帆", "文心", "向量", "检索")
    assert lines == [f"用一句话解释：{w} → {PREFIX}用一句话解释：{w}" for w in words]
