"""SSE decoding: any split of the bytes gives the same events."""

from __future__ import annotations

from langchain_qianfan_free._protocols.sse import SSEDecoder

V1_STREAM = (
    'data: {"id":"as-1","sentence_id":0,"is_end":false,"result":"你好！"}\n\n'
    ": keep-alive comment\n"
    "event: message\n"
    'data: {"id":"as-1","sentence_id":1,"is_end":true,"result":""}\n\n'
).encode()
V1_EVENTS = [
    '{"id":"as-1","sentence_id":0,"is_end":false,"result":"你好！"}',
    '{"id":"as-1","sentence_id":1,"is_end":true,"result":""}',
]


def decode_in_pieces(raw: bytes, cut: int) -> list[str]:
    decoder = SSEDecoder()
    return decoder.feed(raw[:cut]) + decoder.feed(raw[cut:]) + decoder.close()


def test_every_split_offset_gives_the_same_events() -> None:
    # Includes offsets inside multi-byte UTF-8 characters and inside "\n\n".
    for cut in range(len(V1_STREAM) + 1):
        assert decode_in_pieces(V1_STREAM, cut) == V1_EVENTS, cut


def test_crlf_and_done_sentinel() -> None:
    raw = b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n'
    for cut in range(len(raw) + 1):
        assert decode_in_pieces(raw, cut) == ['{"a":1}', "[DONE]"], cut


def test_bare_json_error_line_is_an_event() -> None:
    raw = b'data: {"result":"x"}\n\n{"error_code":336003,"error_msg":"bad"}\n'
    assert decode_in_pieces(raw, 5) == ['{"result":"x"}', '{"error_code":336003,"error_msg":"bad"}']


def test_unicode_line_separators_inside_json_do_not_split_events() -> None:
    raw = 'data: {"result":"a\u2028b\u0085c"}\n\n'.encode()
    assert decode_in_pieces(raw, 3) == ['{"result":"a\u2028b\u0085c"}']


def test_event_without_trailing_blank_line_is_flushed_on_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"is_end":true}') == []
    assert decoder.close() == ['{"is_end":true}']


def test_invalid_utf8_becomes_a_replacement_character_wherever_reads_are_cut() -> None:
    # Whole reads are decoded directly and only split characters go through the
    # incremental decoder; bad bytes next to a split character must come out the same.
    raw = 'data: {"result":"好'.encode() + b"\xff" + '世"}\n\ndata: "é"\n\n'.encode()
    expected = ['{"result":"好\ufffd世"}', '"é"']
    for cut in range(len(raw) + 1):
        assert decode_in_pieces(raw, cut) == expected, cut
        for second in range(cut, len(raw) + 1):
            decoder = SSEDecoder()
            parts = [raw[:cut], raw[cut:second], raw[second:]]
            assert [p for part in parts for p in decoder.feed(part)] + decoder.close() == expected
