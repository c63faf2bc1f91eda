"""sidecar/rpc/framing.py: frames out of any split of the byte stream, and a bad header losing only
itself (the stdio end to end cases are in tests/test_bad_input.py)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sidecar.rpc.framing import MAX_BODY_BYTES, BadFrame, FrameDecoder, answer_id, encode, shape_problem

BODIES = st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=6)


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def decode(stream: bytes, cuts: list[int]) -> list[bytes | BadFrame]:
    decoder, out, last = FrameDecoder(), [], 0
    for cut in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        out += decoder.feed(stream[last:cut])
        last = cut
    return out


@given(BODIES, st.lists(st.integers(min_value=0), max_size=20))
def test_any_split_gives_the_same_frames(bodies: list[bytes], cuts: list[int]) -> None:
    assert decode(b"".join(frame(b) for b in bodies), cuts) == bodies


@given(
    st.sampled_from([b"Content-Length: 1x", b"Content-Length: -3", b"Content-Length:", b"X-Other: 1",
                     b"garbage", b"Content-Length 5", b"\x00\xff"]),
    st.binary(max_size=50).filter(lambda b: b"content-length:" not in b.lower()),
    BODIES,
    st.lists(st.integers(min_value=0), max_size=10),
)
def test_a_bad_header_loses_only_its_own_frame(head: bytes, lost: bytes, bodies: list[bytes], cuts: list[int]) -> None:
    stream = head + b"\r\n\r\n" + lost + b"".join(frame(b) for b in bodies)
    out = decode(stream, cuts)
    assert [item for item in out if not isinstance(item, BadFrame)] == bodies
    assert any(isinstance(item, BadFrame) for item in out)


def test_a_header_without_its_end_is_dropped_and_reading_goes_on() -> None:
    decoder = FrameDecoder()
    out = decoder.feed(b"x" * 10_000)
    out += decoder.feed(frame(b"{}"))
    assert out[-1] == b"{}" and isinstance(out[0], BadFrame)


def test_encode_is_ascii_and_round_trips() -> None:
    message = {"jsonrpc": "2.0", "id": 1, "result": {"name": "é✓"}}
    data = encode(message)
    assert FrameDecoder().feed(data) == [data.split(b"\r\n\r\n", 1)[1]]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1]) == message


def test_shapes() -> None:
    assert shape_problem({"jsonrpc": "2.0", "id": 1, "method": "m"}) is None
    assert shape_problem({"jsonrpc": "2.0", "method": "m"}) is None
    assert shape_problem({"jsonrpc": "2.0", "id": 1, "result": None}) is None
    assert shape_problem({"jsonrpc": "2.0", "id": None, "error": {}}) is None
    for bad in ([], [{}], 5, None, "x", {"jsonrpc": "2.0", "id": 1, "method": 5},
                {"jsonrpc": "1.0", "id": 1, "method": "m"}, {"jsonrpc": "2.0", "id": True, "method": "m"},
                {"jsonrpc": "2.0", "id": 1}):
        assert shape_problem(bad) is not None, bad
    assert answer_id({"id": "a"}) == "a" and answer_id({"id": True}) is None and answer_id([1]) is None


@given(st.integers(min_value=MAX_BODY_BYTES + 1, max_value=10**12 - 1), BODIES, st.lists(st.integers(min_value=0), max_size=20))
def test_a_length_over_the_cap_is_a_bad_frame_and_the_next_frames_are_read(
    length: int, bodies: list[bytes], cuts: list[int]
) -> None:
    """A 12-digit ``Content-Length`` used to make the decoder wait for that many bytes, swallowing
    every later frame; now it is a bad frame, and reading resumes at the next header."""
    stream = b"Content-Length: %d\r\n\r\n" % length + b'{"jsonrpc":"2.0"}' + b"".join(frame(b) for b in bodies)
    out = decode(stream, cuts)
    assert [item for item in out if not isinstance(item, BadFrame)] == bodies
    assert [item.reason for item in out if isinstance(item, BadFrame)][0] == "a Content-Length over the cap"


def test_a_length_at_the_cap_is_still_a_frame() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"Content-Length: %d\r\n\r\n" % MAX_BODY_BYTES) == []
    assert decoder._body_length == MAX_BODY_BYTES
