"""Text-to-speech engines: gTTS (online) and espeak-ng (offline), and the fallback between them.

An engine writes speech for a text to a file in whatever format it makes
(MP3 for gTTS, WAV for espeak-ng); `fastagi.prompts.audio` turns that into
telephony audio. `Synthesiser` tries the configured engines in order: when
the online one fails (no network, Google refusing, a timeout) the offline
one speaks instead, and the result says which engine did. After a network
failure the online engine is skipped for `retry_after` seconds, so a build
of a hundred prompts on a machine without internet waits for one timeout,
not a hundred.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from fastagi.prompts.audio import AudioError, require_tool, to_telephony

__all__ = [
    "EngineChoice",
    "EspeakNg",
    "Gtts",
    "SpeechEngine",
    "Synthesis",
    "SynthesisError",
    "Synthesiser",
    "engines_for",
]

EngineChoice = Literal["auto", "gtts", "espeak-ng"]

ESPEAK_TIMEOUT: Final = 30.0
#: Words per minute: espeak-ng's default (175) is hard to follow on a phone line.
ESPEAK_SPEED: Final = 150


class SynthesisError(Exception):
    """An engine could not speak a text; the message says why."""


class SpeechEngine(Protocol):
    name: str
    #: Suffix of the files the engine writes (what sox reads them as).
    suffix: str
    #: Whether a failure may be the network's (then the engine is rested a while).
    online: bool

    def speak(self, text: str, voice: str, target: Path) -> None:
        """Write speech for `text` in `voice` to `target`; SynthesisError on failure."""
        ...


class EspeakNg:
    """espeak-ng, installed from Debian: offline, fast, robotic but always there."""

    name = "espeak-ng"
    suffix = ".wav"
    online = False

    def speak(self, text: str, voice: str, target: Path) -> None:
        try:
            binary = require_tool("espeak-ng")
        except AudioError as exc:
            raise SynthesisError(str(exc)) from None
        # The text goes on stdin: never an argument that could read as an option.
        command = [binary, "-v", voice, "-s", str(ESPEAK_SPEED), "-b", "1", "-w", str(target)]
        try:
            done = subprocess.run(
                command, input=text.encode("utf-8"), capture_output=True,
                timeout=ESPEAK_TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise SynthesisError(f"espeak-ng took over {ESPEAK_TIMEOUT:.0f} s") from None
        reason = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not target.is_file() or target.stat().st_size <= 44:
            if "voice" in reason.lower() or not reason:
                reason = reason or f"exit {done.returncode}"
                reason += f" (is voice {voice!r} installed? `espeak-ng --voices` lists them)"
            raise SynthesisError(f"espeak-ng failed: {reason}")


class Gtts:
    """Google Translate's text-to-speech through the gTTS library: online, natural voices."""

    name = "gtts"
    suffix = ".mp3"
    online = True

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def speak(self, text: str, voice: str, target: Path) -> None:
        from gtts import gTTS, gTTSError

        try:
            # timeout bounds every HTTP request gTTS makes (connect and read)
            gTTS(text, lang=voice, timeout=self.timeout).save(str(target))
        except (gTTSError, ValueError, AssertionError) as exc:
            raise SynthesisError(f"gTTS failed: {exc}") from None
        except OSError as exc:  # requests' errors, a full disk
            raise SynthesisError(f"gTTS failed: {type(exc).__name__}: {exc}") from None


def engines_for(choice: EngineChoice, gtts_timeout: float = 10.0) -> list[SpeechEngine]:
    """The engines to try, in order, for a config's `tts_engine`."""
    offline = EspeakNg()
    if choice == "espeak-ng":
        return [offline]
    if choice == "gtts":
        return [Gtts(gtts_timeout)]
    return [Gtts(gtts_timeout), offline]


@dataclass(frozen=True)
class Synthesis:
    """What made a prompt: the engine, and the failures of the engines tried before it."""

    engine: str
    duration: float
    fell_back_from: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """`espeak-ng`, or `espeak-ng (gtts failed)` after a fallback."""
        if not self.fell_back_from:
            return self.engine
        return f"{self.engine} ({', '.join(self.fell_back_from)} failed)"


class Synthesiser:
    """Speaks texts to telephony audio with the first engine that works.

    Thread-safe: builds and dynamic prompts call it from worker threads.
    """

    def __init__(
        self,
        engines: Sequence[SpeechEngine],
        *,
        retry_after: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not engines:
            raise ValueError("at least one engine is needed")
        self.engines = list(engines)
        self.retry_after = retry_after
        self._clock = clock
        self._resting: dict[str, float] = {}
        self._lock = threading.Lock()
        #: Why each engine last failed (for "gtts failed: ..." once, not per prompt).
        self.last_failure: dict[str, str] = {}

    def _rested(self, engine: SpeechEngine) -> bool:
        with self._lock:
            until = self._resting.get(engine.name)
            return until is not None and self._clock() < until

    def _rest(self, engine: SpeechEngine) -> None:
        with self._lock:
            self._resting[engine.name] = self._clock() + self.retry_after

    def synthesise(
        self, text: str, voice_of: Callable[[str], str], target: Path, *, wideband: bool = False
    ) -> Synthesis:
        """Speak `text` into `target` (8 kHz WAV); `voice_of(engine_name)` gives the voice.

        Raises SynthesisError naming every engine's failure (speech or its
        conversion) when none worked.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        failures: list[str] = []
        failed_names: list[str] = []
        for index, engine in enumerate(self.engines):
            last = index == len(self.engines) - 1
            if engine.online and not last and self._rested(engine):
                failed_names.append(engine.name)
                failures.append(f"{engine.name}: skipped after a recent network failure")
                continue
            speech = target.with_name(f".{target.stem}.{engine.name}{engine.suffix}")
            try:
                engine.speak(text, voice_of(engine.name), speech)
                duration = to_telephony(speech, target, wideband=wideband)
            except (SynthesisError, AudioError) as exc:
                failures.append(str(exc))
                failed_names.append(engine.name)
                self.last_failure[engine.name] = str(exc)
                if engine.online:
                    self._rest(engine)
                continue
            finally:
                speech.unlink(missing_ok=True)
            return Synthesis(engine.name, duration, tuple(failed_names))
        raise SynthesisError("; ".join(failures))
