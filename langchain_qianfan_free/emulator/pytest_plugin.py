"""The pytest plugin's former home, kept for installs that still name it.

The plugin is :mod:`langchain_qianfan_free.pytest_plugin` (the ``pytest11`` entry point);
an environment installed before it moved, or a ``-p`` option naming this path, still
gets the same fixtures and marker from here.
"""

from __future__ import annotations

from langchain_qianfan_free.pytest_plugin import (
    pytest_configure,
    qianfan_emulator,
    qianfan_emulator_session,
)

__all__ = ["pytest_configure", "qianfan_emulator", "qianfan_emulator_session"]
