"""A push-style decoder for Qianfan's server-sent events.

Both protocols send ``data: {json}`` lines separated by blank lines. v2 ends with
``data: [DONE]``; v1 ends with an event whose ``is_end`` is true and, when something
goes wrong mid-stream, sends a bare JSON line without the ``data:`` prefix (reference
§3.3). The decoder therefore yields every ``data`` payload and every bare line that is
not an SSE field or comment; the protocol modules interpret them.

Bytes arrive in arbitrary pieces, so a line (and a UTF-8 character) may be split
anywhere: ``feed`` keeps the unfinished tail until the rest arrives.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["SSEDecoder"]

_FIELDS = ("event:", "id:", "retry:")
# Only CR, LF and CRLF end lines (str.splitlines would also split on U+2028 etc.).
_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    r"""Turn a byte stream into event payloads.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b'data: {"a"')
        []
        >>> decoder.feed(b': 1}\n\n')
        ['{"a": 1}']
    """

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._split = False  # the incremental decoder holds part of a character
        self._buffer = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Add received bytes and return the payloads they completed.

        Args:
            chunk: The next bytes of the response body.

        Returns:
            Payloads completed by this chunk, in order (possibly none).
        """
        # This runs for every network read of every stream, so the usual case (whole
        # UTF-8 characters, "\n" line ends) takes the shortest path.
        text = self._decode(chunk)
        buffer = self._buffer + text if self._buffer else text
        out: list[str] = []
        if "\r" not in buffer:
            lines = buffer.split("\n")
            self._buffer = lines.pop()
            for line in lines:
                self._line(line, out)
            return out
        start = 0
        for match in _LINE_END.finditer(buffer):
            if match.group() == "\r" and match.end() == len(buffer):
                break  # may be the first half of "\r\n": wait for the next byte
            self._line(buffer[start : match.start()], out)
            start = match.end()
        self._buffer = buffer[start:]
        return out

    def _decode(self, chunk: bytes) -> str:
        """``chunk`` as text; a character split across reads is completed by the next."""
        if not self._split:
            try:
                return chunk.decode()
            except UnicodeDecodeError:
                pass  # a split character, or invalid bytes: the incremental decoder's job
        text = self._text.decode(chunk)
        self._split = bool(self._text.getstate()[0])
        return text

    def close(self) -> list[str]:
        """Flush at end of stream: a last line or event not followed by a blank line.

        Returns:
            Any payloads left over.
        """
        self._buffer += self._text.decode(b"", final=True)
        self._split = False
        out: list[str] = []
        if self._buffer:
            self._line(self._buffer.rstrip("\r"), out)
            self._buffer = ""
        self._dispatch(out)
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
        elif not line or line.isspace():
            self._dispatch(out)
        elif line.startswith(":") or line.startswith(_FIELDS):
            return
        else:
            # v1 sends mid-stream errors as a bare JSON line (no "data:" prefix).
            self._dispatch(out)
            out.append(line.strip())

    def _dispatch(self, out: list[str]) -> None:
        data = self._data
        if data:
            out.append(data[0] if len(data) == 1 else "\n".join(data))
            data.clear()
