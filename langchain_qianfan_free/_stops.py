"""Client-side stop sequences: cut the output at the first stop, also while streaming.

Qianfan honours ``stop`` only within its limits (4 sequences of 20 characters), so
ChatQianfan always enforces the user's full list itself as well. The stop text is
never returned. While streaming, text that could be the start of a stop sequence is
held back until the next piece shows whether it is one.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["StopScanner", "cut_at_stop"]


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop sequence.

    Args:
        text: The model's output.
        stops: Stop sequences (non-empty strings).

    Returns:
        The text up to the first stop, and whether a stop was found.
    """
    found = [i for i in (text.find(stop) for stop in stops) if i >= 0]
    if not found:
        return text, False
    return text[: min(found)], True


class StopScanner:
    """Incremental :func:`cut_at_stop` for streamed text."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stops)
        self._held = ""
        self.stopped = False
        """True once a stop sequence was seen; later text is discarded."""

    def feed(self, piece: str) -> str:
        """Take the next piece of output and return what can be shown now.

        Args:
            piece: Newly received text.

        Returns:
            Text that is certainly before any stop sequence (possibly empty).
        """
        if self.stopped:
            return ""
        if not self._stops:
            return piece
        text = self._held + piece
        cut, hit = cut_at_stop(text, self._stops)
        if hit:
            self.stopped = True
            self._held = ""
            return cut
        keep = self._partial_suffix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """Return the text held back when the stream ends without a stop."""
        held, self._held = self._held, ""
        return held

    def _partial_suffix(self, text: str) -> int:
        """Length of the longest end of ``text`` that begins some stop sequence."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if stop.startswith(text[-size:]):
                    longest = size
                    break
        return longest
