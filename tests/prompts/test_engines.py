"""The speech engines for real: espeak-ng on this machine, gTTS against a network that fails.

gTTS goes through its real API (requests, with the proxy taken from the
environment). There is no internet here, so the proxy is a local server that
either accepts connections and never answers (a black hole: the request must
time out) or refuses them; the tests prove gTTS really tried by counting the
connections the proxy saw.
"""

from __future__ import annotations

import socket
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastagi.prompts.audio import RATE
from fastagi.prompts.engines import (
    EspeakNg,
    Gtts,
    Synthesiser,
    SynthesisError,
    engines_for,
)

VOICES = {"gtts": "en", "espeak-ng": "en-us"}
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


def voice_of(engine: str) -> str:
    return VOICES[engine]


def wav_seconds(path: Path) -> tuple[float, int]:
    """(duration, sample rate) of a WAV file."""
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate(), reader.getframerate()


class BlackHole:
    """A TCP server that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)  # so that the thread sees close() at once
        self._closed = threading.Event()
        self.port = self._listener.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._accepted)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            with self._lock:
                self._accepted.append(conn)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2.0)
        self._listener.close()
        with self._lock:
            for conn in self._accepted:
                conn.close()


def _use_proxy(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for name in NO_PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")


@pytest.fixture
def black_hole(monkeypatch: pytest.MonkeyPatch) -> Iterator[BlackHole]:
    """All HTTP(S) goes through a proxy that accepts and never answers."""
    server = BlackHole()
    _use_proxy(monkeypatch, server.port)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def refusing_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """All HTTP(S) goes through a proxy port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # closed: connecting now is refused (nothing else binds it during a test)
    _use_proxy(monkeypatch, port)


# ---------------------------------------------------------------- gTTS, network failing


def test_gtts_timing_out_falls_back_to_espeak_within_its_timeout(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    synthesiser = Synthesiser([Gtts(timeout=1.0), EspeakNg()])
    target = tmp_path / "hello.wav"
    started = time.monotonic()
    made = synthesiser.synthesise("Hello, and welcome.", voice_of, target)
    elapsed = time.monotonic() - started
    assert elapsed < 8.0, f"gTTS hung for {elapsed:.1f} s despite its 1 s timeout"
    assert black_hole.connections >= 1, "gTTS never tried the network"
    assert (made.engine, made.fell_back_from) == ("espeak-ng", ("gtts",))
    assert made.source == "espeak-ng (gtts failed)"
    seconds, rate = wav_seconds(target)
    assert rate == RATE and seconds > 0.3
    assert made.duration == pytest.approx(seconds, abs=0.01)
    # the engine's own speech files are cleaned up: only the prompt is left
    assert [p.name for p in tmp_path.iterdir()] == ["hello.wav"]


def test_gtts_refused_falls_back_at_once(refusing_proxy: None, tmp_path: Path) -> None:
    synthesiser = Synthesiser([Gtts(timeout=5.0), EspeakNg()])
    started = time.monotonic()
    made = synthesiser.synthesise("Hello.", voice_of, tmp_path / "hello.wav")
    elapsed = time.monotonic() - started
    assert made.source == "espeak-ng (gtts failed)"
    # a refused connection is not waited for: far below the 5 s timeout
    assert elapsed < 3.0
    assert (tmp_path / "hello.wav").is_file()


def test_after_a_network_failure_gtts_rests_for_retry_after(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    now = [1000.0]
    synthesiser = Synthesiser(
        [Gtts(timeout=1.0), EspeakNg()], retry_after=60.0, clock=lambda: now[0]
    )
    synthesiser.synthesise("One.", voice_of, tmp_path / "one.wav")
    assert black_hole.connections == 1

    started = time.monotonic()
    second = synthesiser.synthesise("Two.", voice_of, tmp_path / "two.wav")
    assert black_hole.connections == 1, "a resting gTTS was tried again"
    assert time.monotonic() - started < 0.9, "the second prompt waited for gTTS's timeout"
    assert second.source == "espeak-ng (gtts failed)"
    assert (tmp_path / "two.wav").is_file()

    now[0] += 61.0  # the rest is over: the network is tried again
    third = synthesiser.synthesise("Three.", voice_of, tmp_path / "three.wav")
    assert black_hole.connections == 2
    assert third.source == "espeak-ng (gtts failed)"


def test_a_resting_gtts_is_reported_as_skipped_when_nothing_works(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    synthesiser = Synthesiser([Gtts(timeout=1.0), EspeakNg()])
    synthesiser.synthesise("One.", voice_of, tmp_path / "one.wav")
    with pytest.raises(SynthesisError) as raised:
        synthesiser.synthesise(
            "Two.", {"gtts": "en", "espeak-ng": "nosuchvoice"}.__getitem__, tmp_path / "two.wav"
        )
    message = str(raised.value)
    assert "gtts: skipped after a recent network failure" in message
    assert "espeak-ng failed" in message
    assert black_hole.connections == 1
    assert not (tmp_path / "two.wav").exists()


def test_with_retry_after_zero_gtts_is_tried_every_time(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    synthesiser = Synthesiser([Gtts(timeout=1.0), EspeakNg()], retry_after=0.0)
    for n in range(2):
        made = synthesiser.synthesise("Hello.", voice_of, tmp_path / f"{n}.wav")
        assert made.source == "espeak-ng (gtts failed)"
    assert black_hole.connections == 2


def test_gtts_alone_fails_with_its_reason(black_hole: BlackHole, tmp_path: Path) -> None:
    synthesiser = Synthesiser(engines_for("gtts", gtts_timeout=1.0))
    target = tmp_path / "hello.wav"
    started = time.monotonic()
    with pytest.raises(SynthesisError, match="gTTS failed"):
        synthesiser.synthesise("Hello.", voice_of, target)
    assert time.monotonic() - started < 8.0
    assert black_hole.connections == 1
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no partial MP3 left behind
    # the only engine is never skipped: the next prompt tries the network again
    with pytest.raises(SynthesisError, match="gTTS failed"):
        synthesiser.synthesise("Hello.", voice_of, target)
    assert black_hole.connections == 2


def test_gtts_refuses_an_unknown_language_without_the_network(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    with pytest.raises(SynthesisError, match=r"gTTS failed.*not supported"):
        Gtts(timeout=1.0).speak("Hello.", "xx-nonsense", tmp_path / "hello.mp3")
    assert black_hole.connections == 0


def test_auto_tries_gtts_first_then_espeak() -> None:
    assert [engine.name for engine in engines_for("auto")] == ["gtts", "espeak-ng"]
    assert [engine.name for engine in engines_for("espeak-ng")] == ["espeak-ng"]
    (gtts,) = engines_for("gtts", gtts_timeout=2.5)
    assert isinstance(gtts, Gtts) and gtts.timeout == 2.5


# ---------------------------------------------------------------- espeak-ng


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("en-us", "Thank you for calling. Goodbye!"),
        ("ru", "Спасибо за звонок. До свидания!"),
    ],
)
def test_espeak_speaks_english_and_russian(tmp_path: Path, voice: str, text: str) -> None:
    speech = tmp_path / "speech.wav"
    EspeakNg().speak(text, voice, speech)
    seconds, _ = wav_seconds(speech)
    assert seconds > 1.0  # a sentence, not a click

    target = tmp_path / "prompt.wav"
    made = Synthesiser([EspeakNg()]).synthesise(text, lambda _: voice, target)
    assert (made.engine, made.fell_back_from) == ("espeak-ng", ())
    seconds, rate = wav_seconds(target)
    assert rate == RATE and seconds > 1.0


def test_espeak_unknown_voice_says_how_to_list_voices(tmp_path: Path) -> None:
    target = tmp_path / "speech.wav"
    with pytest.raises(SynthesisError) as raised:
        EspeakNg().speak("Hello.", "nosuchvoice", target)
    message = str(raised.value)
    assert "nosuchvoice" in message
    assert "espeak-ng --voices" in message


@pytest.mark.parametrize("text", ["--help", "-v", "-w elsewhere.wav --version"])
def test_espeak_speaks_a_text_that_looks_like_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "speech.wav"
    EspeakNg().speak(text, "en-us", target)
    seconds, _ = wav_seconds(target)
    assert seconds > 0.3, "the text was not spoken"
    assert not (tmp_path / "elsewhere.wav").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["speech.wav"]
