"""Local token estimate (reference §8): CJK chars count 1, other words 1.3, rounded up."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._estimate import estimate_tokens, truncate_to_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("你好", 2),
        ("你好，世界！", 6),  # full-width punctuation counts like CJK
        ("hello", 2),  # ceil(1.3)
        ("hello world, how are you", 7),  # 5 words × 1.3 = 6.5
        ("ten words", 3),
        ("a " * 10, 13),  # exact: no float rounding up to 14
        ("你好 world", 4),
        ("こんにちは", 5),
    ],
)
def test_estimate(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


@pytest.mark.parametrize(
    ("text", "limit", "kept"),
    [
        ("一二三四五", 3, "一二三"),
        ("one two three four", 3, "one two"),  # 2 words = 3 tokens, 3 words = 4
        ("一二 three", 10, "一二 three"),
        ("一二三", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, kept: str) -> None:
    assert truncate_to_tokens(text, limit) == kept
    assert estimate_tokens(truncate_to_tokens(text, limit)) <= limit
