"""AmiParser properties: chunking never changes the result, garbage never raises,
and what encode-like framing writes comes back field for field."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fastagi.ami import AmiMessage, AmiParser

BANNER = b"Asterisk Call Manager/9.0.0\r\n"

keys = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
    min_size=1,
    max_size=12,
)
values = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"),
    max_size=30,
).filter(lambda v: not v.endswith("--END COMMAND--"))
fields = st.lists(st.tuples(keys, values), min_size=1, max_size=8)
first = st.sampled_from(["Event", "Response"]).flatmap(
    lambda k: st.tuples(st.just(k), keys.filter(lambda v: v.lower() != "follows"))
)
messages = st.lists(st.tuples(first, fields), max_size=6)
line_ends = st.sampled_from([b"\r\n", b"\n"])


def frame(stream: list[tuple[tuple[str, str], list[tuple[str, str]]]], end: bytes) -> bytes:
    out = [BANNER]
    for head, rest in stream:
        for key, value in [head, *rest]:
            out.append(f"{key}: {value}".encode() + end)
        out.append(end)
    return b"".join(out)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, last = [], 0
    for point in points:
        chunks.append(data[last:point])
        last = point
    chunks.append(data[last:])
    return chunks


def parse_chunks(chunks: list[bytes], **options: int) -> tuple[list[AmiMessage], tuple[int, ...]]:
    parser = AmiParser(**options)  # type: ignore[arg-type]
    out: list[AmiMessage] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    counters = (parser.malformed_lines, parser.oversized_messages)
    return out, (*counters, hash(parser.banner))


@given(messages, line_ends, st.lists(st.integers(min_value=0), max_size=20))
def test_well_formed_stream_parses_back_field_for_field(
    stream: list[tuple[tuple[str, str], list[tuple[str, str]]]], end: bytes, cuts: list[int]
) -> None:
    data = frame(stream, end)
    parsed, _ = parse_chunks(split(data, cuts))
    assert [m.items() for m in parsed] == [tuple([head, *rest]) for head, rest in stream]


TOKENS = [
    b"Event: X\r\n",
    b"Response: Success\r\n",
    b"Response: Follows\r\n",
    b"Privilege: Command\r\n",
    b"Output: x\r\n",
    b"Message: m\r\n",
    b"--END COMMAND--\r\n",
    b"ActionID: 1\r\n",
    b"garbage line\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b": ",
    b"\xff",
    b"\x00",
    b"Asterisk Call Manager/9.0.0\r\n",
]

streams = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=40)), max_size=60)


@settings(max_examples=300)
@given(streams, st.lists(st.integers(min_value=0), max_size=30))
def test_any_split_of_any_stream_parses_the_same(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    small = {"max_line_length": 48, "max_message_size": 160}
    whole = parse_chunks([data], **small)
    assert parse_chunks(split(data, cuts), **small) == whole
    bytewise = parse_chunks([data[i : i + 1] for i in range(len(data))], **small)
    assert bytewise == whole


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_garbage_never_raises(data: bytes) -> None:
    parser = AmiParser(max_line_length=64, max_message_size=256)
    for message in parser.feed(data):
        assert len(message) > 0
        assert message.kind in ("response", "event", "unknown")
    # ... and the stream recovers: a clean message after the garbage is parsed.
    tail = parser.feed(b"\r\n\r\n--END COMMAND--\r\n\r\nEvent: Clean\r\nKey: 1\r\n\r\n")
    assert tail and tail[-1].name == "Clean" and tail[-1]["Key"] == "1"
