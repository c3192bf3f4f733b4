"""Child processes of the benchmark: the emulator server, and fresh interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmarks.clients import Endpoint

ROOT = Path(__file__).resolve().parent.parent
CLIENT_CPU = 0
SERVER_CPU = 1


# Read once, before pin_client() narrows this process (and its children) to one CPU.
_TWO_CPUS = hasattr(os, "sched_getaffinity") and {CLIENT_CPU, SERVER_CPU} <= os.sched_getaffinity(0)


def two_cpus() -> bool:
    """Whether client and server can each have a CPU of their own."""
    return _TWO_CPUS


def pin_client() -> None:
    """Pin this process to the client's CPU (when there are two to share)."""
    if two_cpus():
        os.sched_setaffinity(0, {CLIENT_CPU})


def python_env() -> dict[str, str]:
    """The environment of child interpreters: this tree importable, no credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QIANFAN_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class Server:
    """``python -m benchmarks.server`` as a context manager, pinned to the server CPU."""

    def __init__(self, *, delay: float = 0.0) -> None:
        command = [sys.executable, "-m", "benchmarks.server", "--delay", str(delay)]
        if two_cpus():
            command += ["--cpu", str(SERVER_CPU)]
        self._command = command
        self._process: subprocess.Popen[str] | None = None
        self.endpoint: Endpoint | None = None

    def __enter__(self) -> Server:
        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=python_env(),
        )
        self.endpoint = Endpoint.from_hello(self._ask(None))
        return self

    def _ask(self, command: str | None) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the benchmark server is not running")
        if command is not None:
            process.stdin.write(command + "\n")
            process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark server exited (code {process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def count(self) -> dict[str, int]:
        """Requests received so far, by route (``token``, ``iam``, ``v1``, ``v2``)."""
        return {key: int(value) for key, value in self._ask("count").items()}

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            try:
                process.stdin.write("quit\n")
                process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._process = None


def run_python(args: list[str]) -> dict[str, Any]:
    """Run ``python ARGS`` in a fresh interpreter; return the JSON of its last output line.

    The child inherits this process's CPU affinity (the client's CPU, once pinned).
    """
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=python_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])}… failed ({done.returncode}):\n{done.stderr[-2000:]}"
        )
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{' '.join(args[:3])}… printed nothing:\n{done.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer
