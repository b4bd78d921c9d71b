"""A real sounds directory for the emulator: which files Asterisk would find, how long they play.

Give an emulator ``SoundsDirectory(path)`` so that calls hear the prompts the
build really made, missing ones are reported as Asterisk would report them, and
timing (when a caller's digit lands, when a timeout fires) follows real
prompt lengths::

    sounds = SoundsDirectory(Path("prompts/sounds"), base_url="http://ivr:8088/")
    emulator = AsteriskEmulator(prompt_duration=sounds.duration, existing_files=sounds.exists)

The lookup follows main/file.c (``fileexists_core`` / ``fileexists_test``,
with the default ``languageprefix=yes``): a name is tried in the channel's
language, then that language with each ``_dialect`` suffix removed, then with
no language, then in ``en`` if not tried yet; in each place under every
extension Asterisk can play here (`EXTENSIONS`). A relative name is looked up
as ``<dir>/<language>/<name>.<ext>`` (no language: ``<dir>/<name>.<ext>``); an
absolute one gets the language inserted before its last part
(``/x/fr/greeting.<ext>``), then is tried as it is. A name with ``://`` is a URL
for Asterisk's media cache, which ignores the language: one under ``base_url``
is the file the sounds HTTP endpoint (fastagi.prompts.http) would serve for it,
any other is missing (the emulator fetches nothing).
"""

from __future__ import annotations

import os
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from fastagi.testing._emulator import _three_seconds

__all__ = ["EXTENSIONS", "SoundsDirectory"]

#: Extensions tried for a name, in the order `SoundsDirectory.duration` prefers them.
EXTENSIONS: Final = ("wav", "sln16", "sln", "ulaw", "alaw", "gsm", "g722")
#: Bytes per second of the raw formats (sln16: 16 kHz x 2 bytes; gsm: 33 bytes per 20 ms).
_RAW_RATES: Final = {
    "sln16": 32000,
    "sln": 16000,
    "ulaw": 8000,
    "alaw": 8000,
    "g722": 8000,
    "gsm": 1650,
}
#: Asterisk's DEFAULT_LANGUAGE, the last language fileexists_core tries.
_DEFAULT_LANGUAGE: Final = "en"
#: What the HTTP endpoint accepts in a URL path: up to 4 plain names, no leading dot.
_URL_PART: Final = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_URL_DEPTH: Final = 4


def _languages(preferred: str) -> list[str | None]:
    """fileexists_core's order: ``en_GB_x``, ``en_GB``, ``en``, no language, then ``en``."""
    order: list[str | None] = []
    language = preferred
    while language:
        order.append(language)
        language, _, _ = language.rpartition("_")
    order.append(None)
    if _DEFAULT_LANGUAGE not in order:
        order.append(_DEFAULT_LANGUAGE)
    return order


def _file_seconds(path: Path) -> float | None:
    """Seconds of audio in ``path`` by its extension; None if it cannot be told."""
    extension = path.suffix[1:]
    if extension == "wav":
        try:
            with wave.open(str(path), "rb") as reader:
                return reader.getnframes() / max(reader.getframerate(), 1)
        except (OSError, EOFError, wave.Error):
            return None  # not PCM (Asterisk's format_wav would not play it either)
    rate = _RAW_RATES.get(extension)
    if rate is None:
        return None
    try:
        return path.stat().st_size / rate
    except OSError:
        return None


class SoundsDirectory:
    """Asterisk's view of one sounds directory, for `AsteriskEmulator`.

    `exists` is the emulator's ``existing_files`` callable, `duration` its
    ``prompt_duration``. Files are looked up on every call, so prompts built
    during a test (dynamic prompts) are found.
    """

    def __init__(self, root: Path, base_url: str | None = None) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/") + "/" if base_url is not None else None

    def exists(self, name: str, language: str) -> bool:
        """Whether Asterisk would find sound file ``name`` for a channel in ``language``."""
        return self.find(name, language) is not None

    def find(self, name: str, language: str) -> Path | None:
        """The file Asterisk would play for ``name`` in ``language``, or None."""
        if "://" in name:
            return self._url_file(name)
        return self._first(name, _languages(language))

    def duration(self, name: str) -> float:
        """Seconds ``name`` plays: from the WAV header, or the size of a raw file.

        The emulator asks without a language, so a relative name is looked up
        in each language folder in sorted order, then with no language: the
        first file found counts. SAY pseudo-files (``say-digits:123``), names
        not found and unreadable files last the emulator's default 3 s.
        """
        if "://" in name:
            found = self._url_file(name)
        elif ":" in name:
            found = None  # a SAY pseudo-file, not a file
        else:
            found = self._first(name, self._folders())
        seconds = _file_seconds(found) if found is not None else None
        return _three_seconds(name) if seconds is None else seconds

    def _folders(self) -> list[str | None]:
        """Every subfolder of the root (sorted), then no language."""
        try:
            names = sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())
        except OSError:
            names = []
        return [*names, None]

    def _bases(self, name: str, languages: list[str | None]) -> Iterator[Path]:
        """Where ``name`` is looked for, extension not included, language by language."""
        absolute = name.startswith("/")
        for language in languages:
            if language is None:
                yield Path(name) if absolute else self.root / name
            elif absolute:  # the old layout: the language goes before the last part
                head, _, tail = name.rpartition("/")
                yield Path(f"{head}/{language}/{tail}")
            else:
                yield self.root / language / name

    def _first(self, name: str, languages: list[str | None]) -> Path | None:
        """The first file for ``name`` under any extension, language by language."""
        if not name:
            return None
        for base in self._bases(name, languages):
            for extension in EXTENSIONS:
                candidate = Path(f"{base}.{extension}")  # as build_filename: "%s.%s"
                if candidate.is_file():
                    return candidate
        return None

    def _url_file(self, url: str) -> Path | None:
        """The file behind a URL under base_url, as the HTTP endpoint maps it, or None.

        The base must match exactly (scheme, host and port as written); the
        query and fragment are ignored. What the endpoint refuses (more than
        4 parts, empty, dot-led or percent-escaped ones, ``..``, another
        extension, a path leaving the directory) is None.
        """
        if self.base_url is None or not url.startswith(self.base_url):
            return None
        rest = url[len(self.base_url) :].partition("?")[0].partition("#")[0]
        parts = rest.split("/")
        if len(parts) > _URL_DEPTH or not all(
            _URL_PART.fullmatch(part) and ".." not in part for part in parts
        ):
            return None
        path = self.root.joinpath(*parts)
        if path.suffix[1:] not in EXTENSIONS or not path.is_file():
            return None
        real = path.resolve()
        if not real.is_relative_to(self.root.resolve()) or real.suffix != path.suffix:
            return None
        return path
