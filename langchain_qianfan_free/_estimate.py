"""Token arithmetic: Baidu's rule of thumb for counting tokens locally.

One module, shared by the client (``ChatQianfan.get_num_tokens*``) and the emulator
(the ``usage`` it reports), so the two agree on every count. Baidu documents the rule
(tokens ≈ Chinese characters + English words × 1.3; its own SDKs estimate the same
way); the platform's real tokenizer is not public, so counts are estimates. Every CJK
character (ideographs, kana, hangul, CJK and full-width punctuation) counts 1, every
other whitespace-separated run counts 1.3, and the sum is rounded up. Integer
arithmetic (13/10) keeps the rounding exact.
"""

from __future__ import annotations

import re

__all__ = ["estimate_tokens", "truncate_to_tokens"]

_CJK = (
    "\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
_UNIT = re.compile(f"([{_CJK}])|[^\\s{_CJK}]+")
_CJK_RUN = re.compile(f"[{_CJK}]+")  # runs: far fewer matches than single characters
_WORD = re.compile(f"[^\\s{_CJK}]+")


def _cost(cjk: int, words: int) -> int:
    return cjk + (words * 13 + 9) // 10


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (CJK chars × 1 + other words × 1.3, rounded up)."""
    return _cost(sum(map(len, _CJK_RUN.findall(text))), len(_WORD.findall(text)))


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` (cut between units) whose estimate fits ``limit``."""
    cjk = words = 0
    for match in _UNIT.finditer(text):
        if match.group(1):
            cjk += 1
        else:
            words += 1
        if _cost(cjk, words) > limit:
            return text[: match.start()].rstrip()
    return text
