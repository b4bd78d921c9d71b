"""Our RESP encoder: the bytes redis-py would send, and what a real Redis stores from them."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection

from fastagi.callers.resp import Script, encode_arg, encode_args, encode_command, encode_texts
from fastagi.storage import open_async_client

_ARGS = st.one_of(
    st.text(),
    st.binary(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _packed_by_redis_py(*args: object) -> bytes:
    # The command name is bytes without spaces: redis-py splits a str name on spaces.
    return b"".join(Connection().pack_command(*args))  # type: ignore[arg-type]


@given(st.lists(_ARGS, max_size=12))
def test_commands_are_encoded_as_redis_py_packs_them(args: list[object]) -> None:
    assert encode_command(b"ECHO", *args) == _packed_by_redis_py(b"ECHO", *args)  # type: ignore[arg-type]


@given(st.lists(st.text(), max_size=12))
def test_encode_texts_equals_encode_args(texts: list[str]) -> None:
    assert encode_texts(texts) == encode_args(*texts)


def test_arguments_that_are_not_redis_values_are_refused() -> None:
    with pytest.raises(TypeError):
        encode_arg(True)
    with pytest.raises(TypeError):
        encode_arg(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        encode_command()


def test_script_head_counts_keys_and_arguments() -> None:
    script = Script("return {KEYS[1], ARGV[1], ARGV[2]}")
    command = script.command(("k",), ("a", 2))
    assert command == encode_command("EVALSHA", script.sha, 1, "k", "a", 2)
    assert script.load == encode_command("SCRIPT", "LOAD", script.source)
    # A head made once is reused; a different shape gets its own.
    assert script.head(1, 2) is script.head(1, 2)
    assert script.head(2, 1) != script.head(1, 2)


VALUES: list[str | bytes | int | float] = [
    "",
    "plain",
    "Иван Петров",  # not ASCII: lengths are bytes, not characters
    "emoji \U0001f600",
    b"\x00\r\n$3\r\n*1\r\n",  # protocol bytes inside a value stay data
    b"\xff\xfe",
    0,
    -42,
    2**63 - 1,
    1764249180.123456,
    -0.5,
    1e-300,
]


def _stored_as(value: str | bytes | int | float) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return repr(value).encode()


def test_round_trip_through_a_real_redis(redis_server_url: str, prefix: str) -> None:
    async def main() -> None:
        client = open_async_client(redis_server_url, timeout=5.0)
        connection = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            keys = [f"{prefix}resp:{n}" for n in range(len(VALUES))]
            batch = b"".join(
                encode_command("SET", key, value) for key, value in zip(keys, VALUES, strict=True)
            )
            batch += encode_command("MGET", *keys)
            batch += b"*2\r\n" + encode_texts(["ECHO", "Привет, мир"])
            await connection.send_packed_command(batch)
            for _ in keys:
                assert await connection.read_response() == "OK"
            stored = await connection.read_response(disable_decoding=True)
            assert await connection.read_response() == "Привет, мир"
        finally:
            await client.connection_pool.release(connection)
        assert stored == [_stored_as(value) for value in VALUES]
        # Floats come back as the same number.
        assert float(stored[9]) == 1764249180.123456
        await client.delete(*keys)
        await client.aclose()

    asyncio.run(main())
