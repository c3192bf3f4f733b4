"""``python -m benchmarks``: ChatQianfan side by side with the raw HTTP floor.

Measures, in one run, against the emulator in its own process on loopback: a raw
``requests.Session`` and a raw ``aiohttp.ClientSession`` doing the same POST (v2 and
v1), LangChain's own fake chat model (no I/O), ``ChatQianfan`` on v2 and v1, and — when
installed from the ``bench`` extra — langchain-community's ``QianfanChatEndpoint`` and
``ChatOpenAI`` on the same emulator. Writes ``report.md`` (the tables and the targets),
``results.json`` (every sample) and ``chart.png`` to ``--out``, and prints the report.

Options:
  --quick      a smoke run (seconds, numbers meaningless): what CI runs
  --no-peers   skip the peers even when they are installed
  --out DIR    where to write (default: benchmarks/results)
  --check      exit with status 1 when a target is missed
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.clients import OURS
from benchmarks.procs import ROOT, Server, pin_client, two_cpus
from benchmarks.report import all_met, chart, markdown
from benchmarks.run import (
    QUICK,
    Plan,
    Results,
    measure_bursts,
    measure_imports,
    measure_latency,
)


def _peers(enabled: bool) -> tuple[list[str], dict[str, str], list[str]]:
    """Names and import statements of the installed peers, and notes on missing ones."""
    if not enabled:
        return [], {}, ["peers skipped (--no-peers)"]
    from benchmarks.peers import available  # noqa: PLC0415

    return available()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else Plan()
    pin_client()  # children inherit it; the server pins itself to the other CPU
    peer_names, peer_imports, notes = _peers(not args.no_peers)
    names = [*OURS, *peer_names]
    results = Results(plan=plan, clients=names, notes=notes, two_cpus=two_cpus())
    if args.quick:
        results.notes.append("--quick: a smoke run; the figures mean nothing")

    print("imports…", file=sys.stderr, flush=True)
    measure_imports(plan, results, peer_imports)
    with Server() as server:
        if server.endpoint is None:
            raise RuntimeError("server not started")
        print("latency and streams…", file=sys.stderr, flush=True)
        measure_latency(server.endpoint, names, plan, results)
    with Server(delay=plan.burst_delay) as server:
        print("concurrent bursts…", file=sys.stderr, flush=True)
        burst_names = [name for name in names if "requests" not in name]
        measure_bursts(server, burst_names, plan, results)

    args.out.mkdir(parents=True, exist_ok=True)
    why_not = chart(results, args.out / "chart.png")
    if why_not:
        results.notes.append(why_not)
    report = markdown(results)
    (args.out / "report.md").write_text(report, encoding="utf-8")
    (args.out / "results.json").write_text(results.as_json(), encoding="utf-8")
    print(report)
    print(f"written to {args.out}", file=sys.stderr)
    return 1 if args.check and not all_met(results) else 0


if __name__ == "__main__":
    sys.exit(main())
