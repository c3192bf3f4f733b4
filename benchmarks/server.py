"""The emulator in its own process, for the benchmark (``python -m benchmarks.server``).

The benchmark runs the server in a separate process pinned to its own CPU, so the
client under test and the server never share a core or a GIL. The process prints one
JSON line with its URL and credentials, then answers commands on stdin, one per line:

* ``count`` — prints ``{"token": N, "iam": N, "v1": N, "v2": N}``, requests received so
  far by route (token requests are how the benchmark checks the one-fetch guarantee);
* ``quit`` (or end of input) — stops the emulator and exits.

Options: ``--delay S`` makes every chat answer wait S seconds (a model that takes time
to answer); ``--cpu N`` pins the process to CPU N.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

from langchain_qianfan_free.emulator import QianfanEmulator

#: Large enough never to limit a benchmark (the emulator's RPM/TPM windows stay on).
UNLIMITED = 10**9


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    # One character per streamed piece: a reply of N characters is an N-event stream.
    emu = QianfanEmulator(rpm=UNLIMITED, tpm=UNLIMITED, stream_chunk_chars=1, seed=1)
    with emu:
        if args.delay > 0:
            emu.queue_slow(args.delay, times=UNLIMITED)
        hello = {"url": emu.url, "api_key": emu.api_key, "ak": emu.ak, "sk": emu.sk}
        print(json.dumps(hello), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "count":
                seen = Counter(record.protocol for record in emu.requests)
                counts = {name: seen.get(name, 0) for name in ("token", "iam", "v1", "v2")}
                print(json.dumps(counts), flush=True)
            elif command == "quit":
                break
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)


if __name__ == "__main__":
    main()
