"""The sounds directory over real HTTP: what Asterisk's media cache gets, and what nobody gets.

Requests are written as raw bytes on a socket, so the exact request targets
(``..``, percent-escapes, double slashes) reach the server unnormalised.
"""

from __future__ import annotations

import asyncio
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest
from twisted.internet.address import IPv4Address

from fastagi.prompts.http import listen_sounds_http
from fastagi.server.reactor import run_on_reactor_loop

SECRET = b"RIFF-not-really: the secret outside the sounds directory"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _parse(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(status_line.split()[1]), headers, body)


def _request(target: str, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: pbx\r\nConnection: close\r\n{extra}\r\n".encode(
        "latin-1"
    )


def exchange(sounds_dir: Path, *requests: bytes) -> list[Response]:
    """Serve `sounds_dir` on a free port; send each raw request on its own connection."""

    async def scenario() -> list[Response]:
        port = listen_sounds_http(sounds_dir, "127.0.0.1", 0)
        address = port.getHost()
        assert isinstance(address, IPv4Address)
        try:
            responses = []
            for raw in requests:
                reader, writer = await asyncio.open_connection("127.0.0.1", address.port)
                writer.write(raw)
                responses.append(_parse(await asyncio.wait_for(reader.read(), timeout=10)))
                writer.close()
            return responses
        finally:
            await asyncio.sleep(0)
            port.stopListening()

    return run_on_reactor_loop(scenario())


def get(sounds_dir: Path, target: str, method: str = "GET", extra: str = "") -> Response:
    (response,) = exchange(sounds_dir, _request(target, method, extra))
    return response


def _write_wav(path: Path, seconds: float = 0.25, rate: int = 8000) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(range(256)) * int(seconds * rate * 2 / 256))
    return path.read_bytes()


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    """tmp_path/sounds with a greeting, a wideband twin, and a secret beside (not in) it."""
    root = tmp_path / "sounds"
    _write_wav(root / "en" / "ivr" / "main-greeting.wav")
    (root / "en" / "ivr" / "main-greeting.sln16").write_bytes(b"\x01\x00" * 800)
    (tmp_path / "secret.wav").write_bytes(SECRET)
    (tmp_path / "secret.yaml").write_bytes(SECRET)
    return root


def test_a_built_prompt_is_served_with_its_bytes_type_length_and_cache_headers(
    sounds: Path,
) -> None:
    response = get(sounds, "/en/ivr/main-greeting.wav")
    data = (sounds / "en" / "ivr" / "main-greeting.wav").read_bytes()
    assert response.status == 200
    assert response.body == data
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["cache-control"] == "max-age=60"
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith(" GMT")
    assert "transfer-encoding" not in response.headers


def test_a_wideband_raw_file_is_octet_stream(sounds: Path) -> None:
    response = get(sounds, "/en/ivr/main-greeting.sln16")
    assert (response.status, response.headers["content-type"]) == (200, "application/octet-stream")
    assert response.body == b"\x01\x00" * 800


def test_a_dynamic_prompt_four_levels_deep_is_served(sounds: Path) -> None:
    data = _write_wav(sounds / "en" / "ivr" / "dynamic" / "0f3a9c.wav")
    response = get(sounds, "/en/ivr/dynamic/0f3a9c.wav")
    assert (response.status, response.body) == (200, data)


def test_head_gives_the_headers_of_get_without_the_body(sounds: Path) -> None:
    got, head = exchange(
        sounds,
        _request("/en/ivr/main-greeting.wav"),
        _request("/en/ivr/main-greeting.wav", "HEAD"),
    )
    assert head.status == 200
    assert head.body == b""
    for name in ("content-type", "content-length", "etag", "last-modified", "cache-control"):
        assert head.headers[name] == got.headers[name]


def test_the_query_string_is_ignored(sounds: Path) -> None:
    response = get(sounds, "/en/ivr/main-greeting.wav?v=2&lang=fr")
    assert response.status == 200
    assert response.body == (sounds / "en" / "ivr" / "main-greeting.wav").read_bytes()


@pytest.mark.parametrize(
    "target",
    [
        "/en/ivr/missing.wav",
        "/fr/ivr/main-greeting.wav",
        "/en/ivr/main-greeting",  # no extension: Asterisk's name, not a file
        "/en/ivr",  # a directory: no listings
        "/en/ivr/",
        "/",
        "/en/ivr/dynamic/deeper/x.wav",  # five levels
    ],
)
def test_what_is_not_a_served_file_is_404(sounds: Path, target: str) -> None:
    (sounds / "en" / "ivr" / "dynamic" / "deeper").mkdir(parents=True)
    _write_wav(sounds / "en" / "ivr" / "dynamic" / "deeper" / "x.wav")
    assert get(sounds, target).status == 404


@pytest.mark.parametrize(
    "name",
    ["notes.yaml", "main-greeting.WAV", ".main-greeting.wav.k2j4.tmp", ".hidden.wav", "a..b.wav"],
)
def test_files_of_other_kinds_in_the_directory_are_not_served(sounds: Path, name: str) -> None:
    (sounds / "en" / "ivr" / name).write_bytes(SECRET)
    response = get(sounds, f"/en/ivr/{name}")
    assert response.status == 404
    assert SECRET not in response.body


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.wav",
        "/en/../../secret.wav",
        "/%2e%2e/secret.wav",
        "/en/%2e%2e/%2e%2e/secret.wav",
        "/en/ivr/..%2f..%2f..%2fsecret.wav",
        "/en/ivr/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.wav",
        "/..%5csecret.wav",
        "/..\\secret.wav",
        "/en/ivr/main-greeting.wav%00.yaml",
        "//etc/passwd",
        "//secret.wav",
        "/../etc/passwd",
        "http://pbx/../secret.wav",
    ],
)
def test_traversal_never_reaches_a_file_outside_the_directory(sounds: Path, target: str) -> None:
    response = get(sounds, target)
    assert response.status in (400, 404)
    assert SECRET not in response.body
    assert b"root:" not in response.body


def test_an_absolute_path_is_not_a_way_out(sounds: Path) -> None:
    secret = sounds.parent / "secret.wav"
    response = get(sounds, str(secret))  # "/tmp/.../secret.wav" read as relative to the root
    assert response.status == 404
    assert SECRET not in response.body


def test_a_symlink_out_of_the_directory_is_not_followed(sounds: Path) -> None:
    (sounds / "en" / "ivr" / "leak.wav").symlink_to(sounds.parent / "secret.wav")
    (sounds / "en" / "outside").symlink_to(sounds.parent, target_is_directory=True)
    for target in ("/en/ivr/leak.wav", "/en/outside/secret.wav"):
        response = get(sounds, target)
        assert response.status == 404
        assert SECRET not in response.body


def test_a_symlink_within_the_directory_is_served_if_it_names_a_sound(sounds: Path) -> None:
    (sounds / "en" / "ivr" / "alias.wav").symlink_to("main-greeting.wav")
    (sounds / "en" / "ivr" / "notes.yaml").write_bytes(SECRET)
    (sounds / "en" / "ivr" / "notes.wav").symlink_to("notes.yaml")
    (sounds / "en" / "ivr" / "raw.wav").symlink_to("main-greeting.sln16")
    alias = get(sounds, "/en/ivr/alias.wav")
    assert alias.status == 200
    assert alias.body == (sounds / "en" / "ivr" / "main-greeting.wav").read_bytes()
    assert get(sounds, "/en/ivr/notes.wav").status == 404
    assert get(sounds, "/en/ivr/raw.wav").status == 404  # Asterisk would read it as a WAV


def test_a_fifo_named_like_a_sound_does_not_hang_the_server(sounds: Path) -> None:
    os.mkfifo(sounds / "en" / "ivr" / "pipe.wav")
    after = exchange(sounds, _request("/en/ivr/pipe.wav"), _request("/en/ivr/main-greeting.wav"))
    assert [r.status for r in after] == [404, 200]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_only_get_and_head_are_allowed(sounds: Path, method: str) -> None:
    response = get(sounds, "/en/ivr/main-greeting.wav", method, "Content-Length: 0\r\n")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_asterisk_revalidation_gets_304_until_the_prompt_is_rebuilt(sounds: Path) -> None:
    first = get(sounds, "/en/ivr/main-greeting.wav")
    etag = first.headers["etag"]
    # what res_http_media_cache sends once its copy is stale: HEAD with If-None-Match
    same = get(sounds, "/en/ivr/main-greeting.wav", "HEAD", f"If-None-Match: {etag}\r\n")
    assert (same.status, same.body, same.headers["etag"]) == (304, b"", etag)
    assert same.headers["cache-control"] == "max-age=60"
    assert "content-length" not in same.headers

    rebuilt = sounds / "en" / "ivr" / "main-greeting.wav"
    replacement = sounds / "en" / "ivr" / "new.wav"
    data = _write_wav(replacement, seconds=0.5)
    os.replace(replacement, rebuilt)  # as the prompt builder does
    changed = get(sounds, "/en/ivr/main-greeting.wav", "GET", f"If-None-Match: {etag}\r\n")
    assert changed.status == 200
    assert changed.headers["etag"] != etag
    assert changed.body == data


@pytest.mark.parametrize("header", ['W/{etag}, "other"', '"other", {etag}', "*"])
def test_if_none_match_lists_and_weak_tags(sounds: Path, header: str) -> None:
    etag = get(sounds, "/en/ivr/main-greeting.wav", "HEAD").headers["etag"]
    value = header.format(etag=etag)
    assert (
        get(sounds, "/en/ivr/main-greeting.wav", "GET", f"If-None-Match: {value}\r\n").status == 304
    )


def test_if_modified_since(sounds: Path) -> None:
    modified = get(sounds, "/en/ivr/main-greeting.wav", "HEAD").headers["last-modified"]
    current = get(sounds, "/en/ivr/main-greeting.wav", "GET", f"If-Modified-Since: {modified}\r\n")
    old = get(
        sounds,
        "/en/ivr/main-greeting.wav",
        "GET",
        "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n",
    )
    assert (current.status, current.body) == (304, b"")
    assert old.status == 200
