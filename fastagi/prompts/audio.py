"""Telephony audio: any sound file to what Asterisk plays without transcoding.

sox resamples to 8 kHz mono 16-bit (and 16 kHz for the optional `.sln16`
wideband file), trims leading and trailing silence and keeps a short
margin; the loudness is then set here, so every prompt of a menu sounds
equally loud: the speech's RMS is brought to `TARGET_RMS_DBFS`, limited so
that no peak goes above `PEAK_LIMIT_DBFS`.

Files are written to a temporary name in the target folder and renamed, so
a failure never leaves half a file where a good one was.
"""

from __future__ import annotations

import array
import math
import operator
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

__all__ = [
    "RATE",
    "WIDEBAND_RATE",
    "AudioError",
    "atomic_path",
    "require_tool",
    "to_telephony",
    "wav_duration",
]

RATE: Final = 8000
WIDEBAND_RATE: Final = 16000
TARGET_RMS_DBFS: Final = -20.0
PEAK_LIMIT_DBFS: Final = -1.0
SOX_TIMEOUT: Final = 60.0
#: Below this level (dBFS) is silence to trim; 40 ms above it starts the speech.
_SILENCE = ("1", "0.04", "-45d")
#: Kept before and after the speech so the first syllable is not clipped.
_MARGIN = ("pad", "0.05", "0.10")
_FULL_SCALE = 32767.0

_PACKAGES: Final = {"sox": "sox", "espeak-ng": "espeak-ng"}


class AudioError(Exception):
    """Audio could not be made; the message says why and how to fix it."""


def require_tool(name: str) -> str:
    """The path of command-line tool `name`, or AudioError naming the package to install."""
    found = shutil.which(name)
    if found is None:
        package = _PACKAGES.get(name, name)
        raise AudioError(f"{name} is not installed: apt-get install {package}")
    return found


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` that replaces it when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; Asterisk runs as its own user
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _sox(source: Path, target: Path, rate: int, raw: bool) -> None:
    sox = require_tool("sox")
    kind = ["-t", "raw"] if raw else ["-t", "wav"]
    command = [
        sox, "-q", "-V1", str(source),
        *kind, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(target),
        "silence", *_SILENCE, "reverse", "silence", *_SILENCE, "reverse",
        "highpass", "100", *_MARGIN, "rate", "-h", str(rate),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=SOX_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise AudioError(f"sox took over {SOX_TIMEOUT:.0f} s converting {source.name}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        if source.suffix == ".mp3" and "mp3" in reason.lower():
            reason += " (sox reads MP3 with: apt-get install libsox-fmt-mp3)"
        raise AudioError(f"sox could not convert {source.name}: {reason}")


def _samples(data: bytes) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(data)
    if sys.byteorder == "big":  # WAV and sln are little-endian
        samples.byteswap()
    return samples


def _gain(samples: array.array[int]) -> float:
    """The factor that brings the speech to the target loudness without clipping.

    The peak limit keeps every scaled sample inside 16 bits, so scaling
    needs no clipping.
    """
    if not samples:
        return 1.0
    rms = math.sqrt(math.fsum(map(operator.mul, samples, samples)) / len(samples))
    if rms < 1.0:
        return 1.0
    wanted = 10 ** (TARGET_RMS_DBFS / 20) * _FULL_SCALE / rms
    return min(wanted, _gain_ceiling(samples))


def _gain_ceiling(samples: array.array[int]) -> float:
    """The largest factor that keeps every sample's peak under PEAK_LIMIT_DBFS."""
    peak = max(abs(min(samples, default=0)), max(samples, default=0), 1)
    return 10 ** (PEAK_LIMIT_DBFS / 20) * _FULL_SCALE / peak


def _scaled(samples: array.array[int], gain: float) -> bytes:
    # map() keeps the per-sample loop in C: a Python loop costs more than sox itself
    out = array.array("h", map(int, map(gain.__mul__, samples)))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def _read_wav(path: Path) -> array.array[int]:
    with wave.open(str(path), "rb") as reader:
        return _samples(reader.readframes(reader.getnframes()))


def to_telephony(source: Path, target: Path, *, wideband: bool = False) -> float:
    """Convert `source` to `target` (8 kHz mono 16-bit WAV); return its duration in seconds.

    With `wideband`, also writes `target` with the `.sln16` suffix (16 kHz raw
    signed linear, which Asterisk prefers for wideband calls).
    """
    with tempfile.TemporaryDirectory(prefix="ivr-audio-") as work:
        narrow = Path(work) / "narrow.wav"
        _sox(source, narrow, RATE, raw=False)
        samples = _read_wav(narrow)
        if not samples:
            raise AudioError(f"{source.name} is silent: nothing is left after trimming")
        gain = _gain(samples)
        with atomic_path(target) as temporary, wave.open(str(temporary), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(RATE)
            writer.writeframes(_scaled(samples, gain))
        if wideband:
            wide = Path(work) / "wide.raw"
            _sox(source, wide, WIDEBAND_RATE, raw=True)
            wide_samples = _samples(wide.read_bytes())
            # The same loudness; the wider band may peak higher, so limit again.
            wide_gain = min(gain, _gain_ceiling(wide_samples))
            with atomic_path(target.with_suffix(".sln16")) as temporary:
                temporary.write_bytes(_scaled(wide_samples, wide_gain))
    return len(samples) / RATE


def wav_duration(path: Path) -> float:
    """Seconds of audio in a WAV file (0.0 when it cannot be read)."""
    try:
        with wave.open(str(path), "rb") as reader:
            return reader.getnframes() / max(reader.getframerate(), 1)
    except (OSError, EOFError, wave.Error):
        return 0.0
