"""``qianfan-chat``: ask an ERNIE model one question from the terminal.

With Qianfan credentials in the environment (``QIANFAN_API_KEY``, Baidu Cloud IAM keys
``QIANFAN_ACCESS_KEY`` + ``QIANFAN_SECRET_KEY``, or ``QIANFAN_AK`` + ``QIANFAN_SK``; see
docs/credentials.md) it calls Qianfan; without, it starts the
embedded emulator, says so on stderr, and answers from there. The answer streams to
stdout; errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from langchain_qianfan_free.chat_models import ChatQianfan
from langchain_qianfan_free.errors import QianfanError, redact

__all__ = ["main"]

_KEY_VARS = (
    "QIANFAN_API_KEY",
    "QIANFAN_BEARER_TOKEN",
    "QIANFAN_AK",
    "QIANFAN_SK",
    "QIANFAN_ACCESS_KEY",
    "QIANFAN_SECRET_KEY",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qianfan-chat",
        description="Ask a Baidu Qianfan ERNIE model a question (streams the answer). "
        "Without QIANFAN_API_KEY, QIANFAN_ACCESS_KEY/QIANFAN_SECRET_KEY or "
        "QIANFAN_AK/QIANFAN_SK in the environment it answers "
        "from the embedded offline emulator.",
    )
    parser.add_argument("question", help="what to ask, e.g. '1加1为什么等于2？'")
    parser.add_argument(
        "-m", "--model", default="ernie-speed-8k", help="model name (default: ernie-speed-8k)"
    )
    parser.add_argument("-s", "--system", help="system prompt")
    parser.add_argument(
        "-p",
        "--protocol",
        choices=("auto", "v1", "v2"),
        default="auto",
        help="Qianfan API version (default: auto)",
    )
    parser.add_argument(
        "--no-stream",
        action="store_true",
        help="print the whole answer at once instead of streaming",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 on an error, 130 when interrupted.
    """
    args = _parser().parse_args(argv)
    messages: list[tuple[str, str]] = [("human", args.question)]
    if args.system:
        messages.insert(0, ("system", args.system))
    try:
        with contextlib.ExitStack() as stack:
            settings = _settings(args.protocol, stack)
            llm = ChatQianfan(model=args.model, api_version=args.protocol, **settings)
            if args.no_stream:
                sys.stdout.write(llm.invoke(messages).text)
            else:
                for chunk in llm.stream(messages):
                    sys.stdout.write(chunk.text)
                    sys.stdout.flush()
            sys.stdout.write("\n")
    except KeyboardInterrupt:
        sys.stderr.write("\nqianfan-chat: interrupted\n")
        return 130
    except (QianfanError, ValueError) as error:
        return _fail(str(error))
    except Exception as error:  # noqa: BLE001 (a CLI shows one line, never a traceback)
        return _fail(f"{type(error).__name__}: {error}")
    return 0


def _fail(message: str) -> int:
    sys.stdout.flush()
    sys.stderr.write(f"qianfan-chat: error: {redact(' '.join(message.split()))}\n")
    return 1


def _settings(protocol: str, stack: contextlib.ExitStack) -> dict[str, Any]:
    """Credentials from the environment, or the embedded emulator's."""
    if any(os.environ.get(name) for name in _KEY_VARS):
        return {}
    from langchain_qianfan_free.emulator import QianfanEmulator  # noqa: PLC0415 (on demand)

    emulator = stack.enter_context(QianfanEmulator())
    sys.stderr.write(
        "qianfan-chat: no Qianfan credentials in the environment (set QIANFAN_API_KEY, "
        "QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY, or QIANFAN_AK and QIANFAN_SK); using "
        f"the embedded emulator at {emulator.url}: the "
        "answer is canned, not from ERNIE.\n"
    )
    if protocol == "v1":
        return {"qianfan_ak": emulator.ak, "qianfan_sk": emulator.sk, "base_url": emulator.url}
    # The emulator's own app id: an unrelated QIANFAN_APP_ID must not reach it.
    return {"api_key": emulator.api_key, "app_id": emulator.app_id, "base_url": emulator.url}
