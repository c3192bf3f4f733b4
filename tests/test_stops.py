"""Client-side stop sequences, whole and streamed."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._stops import StopScanner, cut_at_stop


def test_cut_at_earliest_stop() -> None:
    assert cut_at_stop("one two three", ["three", "two"]) == ("one ", True)
    assert cut_at_stop("nothing here", ["zzz"]) == ("nothing here", False)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_streamed_stop_is_found_across_piece_boundaries(size) -> None:
    text = "Hello there, how are you today?"
    scanner = StopScanner(["you"])
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    shown = "".join(scanner.feed(p) for p in pieces) + scanner.flush()
    assert shown == "Hello there, how are "
    assert scanner.stopped


def test_near_miss_is_released_not_lost() -> None:
    scanner = StopScanner(["STOP"])
    shown = scanner.feed("ST") + scanner.feed("OOP and more") + scanner.flush()
    assert shown == "STOOP and more"
    assert not scanner.stopped


def test_text_after_stop_is_discarded() -> None:
    scanner = StopScanner(["。"])
    assert scanner.feed("第一句。第二句") == "第一句"
    assert scanner.feed("第三句") == ""
    assert scanner.flush() == ""
