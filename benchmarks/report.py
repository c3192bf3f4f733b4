"""The markdown tables, the targets and the PNG chart of one run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.clients import MINIMAL
from benchmarks.run import FAKE, Results

BASE_IMPORT = "langchain-core BaseChatModel"
OUR_IMPORT = "ChatQianfan"
OURS = ("ChatQianfan (v2)", "ChatQianfan (v1)")


def _floor(client: str, kind: str) -> str | None:
    """The raw floor a client is compared with: same protocol, same sync/async stack."""
    if client == FAKE or client.startswith("raw "):
        return None
    protocol = "v1" if "(v1" in client else "v2"
    return f"raw {kind} ({protocol})"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _signed_ms(seconds: float) -> str:
    return f"{seconds * 1e3:+.2f}"


@dataclass(frozen=True)
class Target:
    """One promise of the issue, as measured."""

    what: str
    measured: str
    limit: str
    ok: bool
    minimal: str = "—"
    """The LangChain minimal provider's figure on the same measure ("—" where none)."""


def _latency_table(results: Results, metric: str, kind: str) -> list[str]:
    samples = results.samples
    rows = [
        "| client | median ms | p99 ms | overhead over the floor, ms |",
        "|---|---:|---:|---:|",
    ]
    for client in [*results.clients, FAKE]:
        if not samples.has(metric, client):
            continue
        floor = _floor(client, kind)
        if client == FAKE:
            extra = f"{_signed_ms(samples.median(metric, client))} (LangChain alone, no I/O)"
        elif floor is None or not samples.has(metric, floor):
            extra = "floor"
        else:
            extra = _signed_ms(samples.overhead(metric, client, floor))
        rows.append(
            f"| {client} | {_ms(samples.median(metric, client))} "
            f"| {_ms(samples.p99(metric, client))} | {extra} |"
        )
    return rows


def stream_budget(results: Results, client: str, prefix: str) -> float | None:
    """Raw floor + LangChain's own cost of the same number of chunks, plus 10 %."""
    kind = "requests" if prefix == "stream" else "aiohttp"
    floor = _floor(client, kind)
    samples, metric = results.samples, f"{prefix}_total"
    if floor is None or not samples.has(metric, floor) or not samples.has(metric, FAKE):
        return None
    return 1.10 * (samples.median(metric, floor) + samples.median(metric, FAKE))


def _stream_table(results: Results) -> list[str]:
    samples = results.samples
    rows = [
        "| client | sync first token ms | sync total ms | sync budget ms "
        "| async first token ms | async total ms | async budget ms | text events |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for client in [*results.clients, FAKE]:
        cells = []
        for prefix in ("stream", "astream"):
            if samples.has(f"{prefix}_total", client):
                budget = stream_budget(results, client, prefix)
                cells += [
                    _ms(samples.median(f"{prefix}_first", client)),
                    _ms(samples.median(f"{prefix}_total", client)),
                    _ms(budget) if budget is not None else "—",
                ]
            else:
                cells += ["—", "—", "—"]
        events = results.stream_event_counts.get(client, "—")
        rows.append(f"| {client} | {' | '.join(cells)} | {events} |")
    return rows


def _burst_floor(client: str) -> str | None:
    return None if client.startswith("raw ") else _floor(client, "aiohttp")


def burst_ratio(results: Results, client: str) -> float | None:
    floor = _burst_floor(client)
    if floor is None or floor not in results.bursts:
        return None
    ours = [run["wall"] for run in results.bursts[client]]
    base = [run["wall"] for run in results.bursts[floor]]
    return statistics.median(a / b for a, b in zip(ours, base, strict=True))


def _median(results: Results, client: str, key: str) -> float:
    return statistics.median(float(run[key]) for run in results.bursts[client])


def _burst_table(results: Results) -> list[str]:
    plan = results.plan
    rows = [
        f"{plan.burst} concurrent `ainvoke`, server answering after "
        f"{plan.burst_delay * 1e3:.0f} ms, each burst in a fresh process:",
        "",
        "| client | wall s | × raw aiohttp | client CPU s | CPU / wall | peak RSS MB "
        "| token requests | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for client in results.clients:
        if client not in results.bursts:
            continue
        ratio = burst_ratio(results, client)
        wall, cpu = _median(results, client, "wall"), _median(results, client, "cpu")
        tokens = sorted(
            {
                int(run["token_requests"]) + int(run["iam_requests"])
                for run in results.bursts[client]
            }
        )
        failed = max(int(run["failed"]) for run in results.bursts[client])
        rows.append(
            f"| {client} | {wall:.3f} | {f'{ratio:.2f}' if ratio else 'floor'} | {cpu:.3f} "
            f"| {cpu / wall:.0%} | {_median(results, client, 'rss_mb'):.1f} "
            f"| {'/'.join(map(str, tokens))} | {failed} |"
        )
    return rows


def _import_table(results: Results) -> list[str]:
    base = statistics.median(results.imports[BASE_IMPORT])
    rows = [
        "| import (fresh interpreter) | median s | × BaseChatModel |",
        "|---|---:|---:|",
    ]
    for name, values in results.imports.items():
        median = statistics.median(values)
        rows.append(f"| {name} | {median:.3f} | {median / base:.2f} |")
    return rows


def _client_targets(results: Results, client: str) -> list[tuple[str, Target]]:
    """The per-client targets measured for ``client``, each under a key naming the measure."""
    samples, found = results.samples, []
    for metric, kind, limit in (("invoke", "requests", 0.30), ("ainvoke", "aiohttp", 0.45)):
        floor = _floor(client, kind)
        if floor and samples.has(metric, client) and samples.has(metric, floor):
            over = samples.overhead(metric, client, floor)
            found.append(
                (
                    metric,
                    Target(
                        f"{client} {metric} overhead over {floor}",
                        f"{over * 1e3:.3f} ms",
                        f"≤ {limit:.2f} ms",
                        over <= limit / 1e3,
                    ),
                )
            )
    for prefix in ("stream", "astream"):
        budget = stream_budget(results, client, prefix)
        if budget is not None and samples.has(f"{prefix}_total", client):
            total = samples.median(f"{prefix}_total", client)
            found.append(
                (
                    prefix,
                    Target(
                        f"{client} {prefix} of {results.plan.stream_events} events, total",
                        f"{total * 1e3:.2f} ms",
                        f"≤ {budget * 1e3:.2f} ms (floor + fake + 10 %)",
                        total <= budget,
                    ),
                )
            )
    if client in results.bursts:
        ratio = burst_ratio(results, client)
        if ratio is not None:
            found.append(
                (
                    "burst",
                    Target(
                        f"{client} {results.plan.burst} concurrent ainvoke wall time",
                        f"{ratio:.2f} × raw aiohttp",
                        "≤ 1.50 ×",
                        ratio <= 1.5,
                    ),
                )
            )
        rss = max(float(run["rss_mb"]) for run in results.bursts[client])
        found.append(
            (
                "rss",
                Target(
                    f"{client} peak RSS after the burst",
                    f"{rss:.2f} MB",
                    "≤ 80 MB",
                    rss <= 80,
                ),
            )
        )
        failed = max(int(run["failed"]) for run in results.bursts[client])
        found.append(
            (
                "failed",
                Target(
                    f"{client} burst calls failed",
                    str(failed),
                    "0",
                    failed == 0,
                ),
            )
        )
    return found


def _reference(target: Target | None) -> str:
    """The minimal provider's figure for a target's measure, and whether it keeps the limit."""
    if target is None:
        return "—"
    return f"{target.measured} ({'within' if target.ok else '**over**'})"


def targets(results: Results) -> list[Target]:
    """The issue's targets, checked against this run.

    Each per-client target also carries the LangChain minimal provider's figure on the
    same measure (against its own v2 floor and budget): LangChain's floor around real I/O.
    """
    reference = dict(_client_targets(results, MINIMAL))
    found = [
        replace(target, minimal=_reference(reference.get(key)))
        for client in OURS
        for key, target in _client_targets(results, client)
    ]
    v1 = results.bursts.get("ChatQianfan (v1)", [])
    if v1:
        counts = sorted({int(run["token_requests"]) for run in v1})
        found.append(
            Target(
                f"ChatQianfan (v1) token requests per {results.plan.burst}-way cold burst",
                "/".join(map(str, counts)),
                "exactly 1",
                counts == [1],
            )
        )
    if BASE_IMPORT in results.imports and OUR_IMPORT in results.imports:
        base = statistics.median(results.imports[BASE_IMPORT])
        ours = statistics.median(results.imports[OUR_IMPORT])
        found.append(
            Target(
                "import ChatQianfan vs langchain-core BaseChatModel",
                f"{ours / base:.2f} ×",
                "≤ 1.10 ×",
                ours <= 1.10 * base,
            )
        )
    return found


def markdown(results: Results) -> str:
    """The whole report."""
    plan = results.plan
    checks = targets(results)
    lines = [
        "# langchain-qianfan-free benchmark",
        "",
        f"{plan.rounds} rounds × {plan.calls} sequential calls and {plan.streams} streams "
        f"per client; {plan.burst_rounds} bursts per client; {plan.import_rounds} import "
        "rounds. Medians over every call; overheads and ratios are medians of per-round "
        "differences against the floor of the same protocol. "
        + (
            "Client and server on one CPU each."
            if results.two_cpus
            else "Client and server share the CPUs (fewer than two available)."
        ),
        "",
        "## Targets",
        "",
        "The last column is the LangChain minimal provider (a `BaseChatModel` around the raw "
        "v2 POST) on the same measure, against its own floor and budget: LangChain's floor "
        "around real I/O.",
        "",
        "| target | measured | limit | met | minimal provider |",
        "|---|---:|---:|:---:|---:|",
        *(
            f"| {t.what} | {t.measured} | {t.limit} | {'yes' if t.ok else '**NO**'} | {t.minimal} |"
            for t in checks
        ),
        "",
        "## Sync `invoke`",
        "",
        *_latency_table(results, "invoke", "requests"),
        "",
        "## Sequential `ainvoke`",
        "",
        *_latency_table(results, "ainvoke", "aiohttp"),
        "",
        f"## {plan.stream_events}-event stream",
        "",
        *_stream_table(results),
        "",
        "## Concurrent `ainvoke`",
        "",
        *_burst_table(results),
        "",
        "## Import time",
        "",
        *_import_table(results),
        "",
    ]
    if results.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in results.notes), ""]
    return "\n".join(lines)


def all_met(results: Results) -> bool:
    return all(target.ok for target in targets(results))


def chart(results: Results, path: Path) -> str | None:
    """Draw the PNG; returns why not when matplotlib is missing."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return "no chart: matplotlib is not installed (pip install -e '.[bench]')"
    samples = results.samples
    clients = [*results.clients, FAKE]
    panels: list[tuple[str, list[str], list[float]]] = []
    for metric, title in (
        ("invoke", "sync invoke, median ms"),
        ("ainvoke", "sequential ainvoke, median ms"),
        ("stream_total", f"{results.plan.stream_events}-event stream, total ms"),
        ("astream_total", f"{results.plan.stream_events}-event astream, total ms"),
    ):
        names = [c for c in clients if samples.has(metric, c)]
        panels.append((title, names, [samples.median(metric, c) * 1e3 for c in names]))
    burst_names = [c for c in results.clients if c in results.bursts]
    panels.append(
        (
            f"{results.plan.burst} concurrent ainvoke, wall s",
            burst_names,
            [_median(results, c, "wall") for c in burst_names],
        )
    )
    import_names = list(results.imports)
    panels.append(
        (
            "import in a fresh process, s",
            import_names,
            [statistics.median(results.imports[n]) for n in import_names],
        )
    )
    figure, axes = plt.subplots(3, 2, figsize=(13, 11))
    for axis, (title, names, values) in zip(axes.flat, panels, strict=True):
        colours = [
            "#999999"
            if n.startswith(("raw ", "LangChain", "a module")) or n in {FAKE, BASE_IMPORT}
            else "#c0392b"
            if "Qianfan" in n and "Endpoint" not in n
            else "#2e86c1"
            for n in names
        ]
        axis.barh(names, values, color=colours)
        axis.invert_yaxis()
        axis.set_title(title)
        axis.tick_params(axis="y", labelsize=8)
        for y, value in enumerate(values):
            axis.text(value, y, f" {value:.3g}", va="center", fontsize=8)
    figure.suptitle(
        "ChatQianfan (red) vs the raw HTTP and LangChain floors (grey) and peers (blue)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return None
