"""The lenient JSON reader: JSON as small models write it, never completed by guessing."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._tools.lenient_json import (
    balanced_close,
    extract_json,
    load,
    load_all,
    segments,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('答案是 {"a": 1} 。', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ("｛“a”：1，｝", {"a": 1}),
        ('{"a": 1,}', {"a": 1}),
        ("{'a': 'b'}", {"a": "b"}),
        ('{"a": {"b": 1}', {"a": {"b": 1}}),
        ("[1, 2]", [1, 2]),
    ],
)
def test_extract_json_repairs_what_loses_nothing(text, expected) -> None:
    assert extract_json(text) == expected


def test_cut_json_is_never_completed_by_guessing() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json('{"a": {"b": 1}', complete=False)
    assert load('{"city": "北', partial=True) is None  # cut inside a string
    assert load('{"a": 1', partial=False) is None
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json("no json here")


def test_segments_and_balanced_close() -> None:
    text = 'x {"a": "}"} y [1] ｛"b"：2｝ {"c": '
    assert [text[s:e] for s, e in segments(text)] == [
        '{"a": "}"}',
        "[1]",
        '｛"b"：2｝',
        '{"c": ',
    ]
    assert balanced_close(text, 2) == 12
    assert balanced_close(text, text.rindex("{")) is None


def test_load_all_reads_values_written_one_after_another() -> None:
    assert load_all('{"a": 1} {"b": 2}', partial=True) == [{"a": 1}, {"b": 2}]
    assert load_all('{"a": 1}', partial=False) == [{"a": 1}]
    assert load_all("nothing", partial=True) == []
