"""One concurrent burst in a fresh process: ``python -m benchmarks.burst CLIENT HELLO N``.

Builds the client named CLIENT against the server described by HELLO (the server's
JSON hello line), then sends N ``ainvoke`` calls at once with ``asyncio.gather`` and
prints one JSON line: wall time, client CPU time (user + system) over the burst, the
process's peak RSS afterwards, and how many calls failed.

A fresh process per burst: the peak RSS is the client's own, and ChatQianfan starts
cold (no access token cached), so the burst also shows how many token requests N
simultaneous first calls make. aiohttp is imported before the clock starts for every
client alike.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import aiohttp  # noqa: F401  - imported up front for every client alike

from benchmarks.clients import Endpoint, build


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MiB.

    ``VmHWM`` where Linux has it: ``ru_maxrss`` survives ``exec`` on Linux, so a child of
    a large process would report its parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _burst(client_name: str, endpoint: Endpoint, n: int) -> dict[str, float]:
    client = build(client_name, endpoint)
    if client.ainvoke is None:
        raise SystemExit(f"{client_name} has no ainvoke")
    prompt = "你好"
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(
        *(client.ainvoke(prompt) for _ in range(n)), return_exceptions=True
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    failed = [result for result in results if isinstance(result, BaseException)]
    if client.aclose is not None:
        await client.aclose()
    client.close()
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_mb": peak_rss_mb(),
        "failed": len(failed),
        "first_error": repr(failed[0])[:300] if failed else "",
    }


def main() -> None:
    client_name, hello, n = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    answer = asyncio.run(_burst(client_name, Endpoint.from_hello(hello), n))
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
