"""The benchmark (``python -m benchmarks``): CI runs its smoke version, untimed.

The figures of a smoke run mean nothing; what is checked is that the whole benchmark
runs from a clean tree and writes its table, its samples and its chart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from benchmarks.clients import MINIMAL, MODEL, _body
from benchmarks.report import markdown, targets
from benchmarks.run import FAKE, Plan, Results, alternate
from benchmarks.stats import Samples
from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._request import build_call

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-peers", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


def test_smoke_run_prints_and_writes_the_report(smoke: tuple[Path, str]) -> None:
    out, printed = smoke
    report = (out / "report.md").read_text(encoding="utf-8")
    assert printed.strip() == report.strip()
    for heading in (
        "## Targets",
        "## Sync `invoke`",
        "## Sequential `ainvoke`",
        "## 50-event stream",
        "## Concurrent `ainvoke`",
        "## Import time",
    ):
        assert heading in report
    for client in (
        "raw requests (v2)",
        "raw aiohttp (v1)",
        "ChatQianfan (v2)",
        "ChatQianfan (v1)",
        "LangChain fake model (no I/O)",
    ):
        assert f"| {client} |" in report


def test_smoke_run_measures_every_client_and_the_token_guarantee(
    smoke: tuple[Path, str],
) -> None:
    out, _ = smoke
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    invoked = set(results["samples"]["invoke"])
    assert {
        "raw requests (v2)",
        "raw requests (v1)",
        "ChatQianfan (v2)",
        "ChatQianfan (v1)",
    } <= invoked
    assert set(results["stream_event_counts"].values()) == {50}
    v1_bursts = results["bursts"]["ChatQianfan (v1)"]
    assert [burst["token_requests"] for burst in v1_bursts] == [1] * len(v1_bursts)
    assert all(burst["failed"] == 0 for bursts in results["bursts"].values() for burst in bursts)


def test_smoke_run_draws_the_chart(smoke: tuple[Path, str]) -> None:
    out, _ = smoke
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rounds_alternate_the_order_of_clients() -> None:
    clients = ["a", "b", "c"]
    orders = [alternate(clients, r) for r in range(4)]
    assert orders == [["a", "b", "c"], ["a", "c", "b"], ["c", "a", "b"], ["c", "b", "a"]]
    assert all(sorted(order) == clients for order in orders)


def test_overheads_pair_rounds_so_a_slow_round_hits_both_sides() -> None:
    samples = Samples()
    for ours, floor in (([2.0, 2.2], [1.0, 1.2]), ([9.0, 9.2], [8.0, 8.2])):  # round 2 slow
        samples.add("invoke", "ours", ours)
        samples.add("invoke", "floor", floor)
    assert samples.overhead("invoke", "ours", "floor") == pytest.approx(1.0)
    assert samples.ratio("invoke", "ours", "floor") == pytest.approx((2.1 / 1.1 + 9.1 / 8.1) / 2)


@pytest.mark.parametrize("protocol", ["v2", "v1"])
@pytest.mark.parametrize("stream", [False, True])
def test_the_floors_send_the_same_body_as_chat_qianfan(protocol: str, stream: bool) -> None:
    keys = {"api_key": "k"} if protocol == "v2" else {"qianfan_ak": "a", "qianfan_sk": "s"}
    model = ChatQianfan(model=MODEL, base_url="http://127.0.0.1:9", **keys)  # type: ignore[arg-type]
    call, _ = build_call(model, [HumanMessage("你好")], None, {}, stream=stream)
    floor = _body("你好", v2=protocol == "v2", stream=stream)
    assert json.loads(floor) == json.loads(call.request.body)


def _stream_run(minimal_ms: float) -> Results:
    """A run where the raw floors take 2 ms per stream, the fake model 1 ms, ChatQianfan 3 ms."""
    results = Results(plan=Plan(), clients=["ChatQianfan (v2)", MINIMAL])
    results.imports = {"langchain-core BaseChatModel": [0.5], "ChatQianfan": [0.52]}
    for client, ms in (
        ("raw requests (v2)", 2.0),
        (FAKE, 1.0),
        ("ChatQianfan (v2)", 3.0),
        (MINIMAL, minimal_ms),
    ):
        results.samples.add("stream_total", client, [ms / 1e3])
        results.samples.add("stream_first", client, [ms / 2e3])
    return results


@pytest.mark.parametrize(
    ("minimal_ms", "cell"), [(3.5, "3.50 ms (**over**)"), (3.2, "3.20 ms (within)")]
)
def test_each_target_shows_the_minimal_provider_on_the_same_measure(
    minimal_ms: float, cell: str
) -> None:
    # The budget is 1.1 × (2 + 1) = 3.3 ms for both: the report says where LangChain's own
    # floor around real I/O stands next to ChatQianfan's figure.
    results = _stream_run(minimal_ms)
    stream, imported = targets(results)
    assert imported.minimal == "—"  # no minimal-provider figure for the import
    assert (stream.measured, stream.ok, stream.minimal) == ("3.00 ms", True, cell)
    assert f"| 3.00 ms | ≤ 3.30 ms (floor + fake + 10 %) | yes | {cell} |" in markdown(results)
