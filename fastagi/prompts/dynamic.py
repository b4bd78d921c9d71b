"""Personalised prompts made during the call: "Hello, Ivan!" in the caller's language.

A catalogue text with caller data (`Hello, {caller.first_name}!`) is filled
from the caller's profile - numbers, amounts, dates and times spoken with
the language's grammar (fastagi.prompts.spoken) - and synthesised in a worker
thread, never on the reactor. The file is named by a hash of what shapes the
sound, so the second caller called Ivan hears the cached file at once. When
synthesis is not done within the budget (1.5 s by default) the menu plays its
generic alternative instead; the synthesis goes on, and later calls hit the
cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from fastagi.prompts.catalogue import PLACEHOLDER, Catalogue, PromptText
from fastagi.prompts.engines import Synthesiser, SynthesisError
from fastagi.prompts.spoken import spoken

__all__ = ["DynamicPrompts", "GenericOnly", "fill_text"]

log = logging.getLogger("fastagi.prompts")

DEFAULT_BUDGET: Final = 1.5
DYNAMIC_FOLDER: Final = "dynamic"
#: Caller data allowed into a text as it is: letters (any script), digits, a little punctuation.
_TEXT_SAFE = re.compile(r"[\w .,'-]{1,80}")


def fill_text(
    template: str, variables: Mapping[str, str], language: str, currency: str = "RUB"
) -> str | None:
    """The text with caller data filled in; None when a value is missing or unsayable."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = variables.get(match.group(1), "").strip()
        kind = match.group(2)
        if kind:
            said = spoken(value, kind, language, currency=currency) if value else None
        else:  # the value itself goes to the engine: only plain words
            said = value if _TEXT_SAFE.fullmatch(value) else None
        if not said:
            missing = True
            return ""
        return said

    text = PLACEHOLDER.sub(fill, template)
    return None if missing else text


class DynamicPrompts:
    """Synthesises the catalogue's dynamic prompts for calls, with a cache and a time budget."""

    def __init__(
        self,
        catalogue: Catalogue,
        synthesiser: Synthesiser,
        sounds_dir: Path,
        *,
        budget: float = DEFAULT_BUDGET,
        workers: int = 2,
        max_cached: int = 5000,
        sounds_url: str | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.sounds_url = sounds_url.rstrip("/") if sounds_url else None
        self.synthesiser = synthesiser
        self.sounds_dir = sounds_dir
        self.budget = budget
        self.max_cached = max_cached
        #: Sound names (`ivr/hello-caller`) whose text holds caller data.
        self.names = catalogue.dynamic_names()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ivr-tts")
        self._running: dict[str, asyncio.Future[bool]] = {}
        self._prefix = f"{catalogue.folder}/"
        self.hits = 0
        self.misses = 0
        self.late = 0
        self.failures = 0

    def use(self, catalogue: Catalogue) -> None:
        """Speak the texts of `catalogue` from now on (`ivr reload`); cached files stay valid."""
        self.catalogue = catalogue
        self.names = catalogue.dynamic_names()
        self._prefix = f"{catalogue.folder}/"

    def locate(self, name: str, language: str) -> str:
        """`name` itself, or with `sounds_url` the URL of a catalogue prompt's file.

        A URL names the language (Asterisk does not add it to URLs) and the
        `.wav` extension (Asterisk's media cache picks the format from it).
        """
        if self.sounds_url is None or not name.startswith(self._prefix):
            return name
        return f"{self.sounds_url}/{language}/{name}.wav"

    def close(self) -> None:
        """Stop the workers (syntheses already running finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _key(self, text: str, language: str, source: PromptText) -> str:
        voices = [
            (engine.name, self.catalogue.voice(language, engine.name, source))
            for engine in self.synthesiser.engines
        ]
        material = repr((text, language, voices)).encode("utf-8")
        return hashlib.sha256(material).hexdigest()[:32]

    def _synthesise(self, text: str, language: str, source: PromptText, target: Path) -> bool:
        """Worker thread: make the file; False (logged) when no engine could."""
        try:
            self.synthesiser.synthesise(
                text, lambda engine: self.catalogue.voice(language, engine, source), target
            )
        except (SynthesisError, OSError) as exc:  # OSError: the cache folder cannot be written
            log.warning("dynamic prompt %r (%s) failed: %s", text[:60], language, exc)
            return False
        self._evict(target.parent)
        return True

    def _evict(self, folder: Path) -> None:
        """Keep at most `max_cached` files a folder: the least recently made go first."""
        try:
            # a dot file is a synthesis in progress: the engine output of another worker
            files = [
                entry
                for entry in os.scandir(folder)
                if entry.name.endswith(".wav") and not entry.name.startswith(".")
            ]
            if len(files) <= self.max_cached:
                return
            files.sort(key=lambda entry: entry.stat().st_mtime)
            for entry in files[: len(files) - self.max_cached]:
                os.unlink(entry.path)
        except OSError as exc:
            log.warning("dynamic prompt cache %s: %s", folder, exc)

    async def sound_for(self, name: str, language: str, variables: Mapping[str, str]) -> str | None:
        """The sound file to play for dynamic prompt `name`, or None (play the generic one).

        None when the catalogue has no text in `language`, a caller value is
        missing, or the file is not ready within the budget.
        """
        prompt_id = self.catalogue.prompt_id(name)
        text = None if prompt_id is None else self.catalogue.text(prompt_id, language)
        if text is None:
            return None
        filled = fill_text(text.text, variables, language, self.catalogue.currency)
        if filled is None:
            return None
        key = self._key(filled, language, text)
        sound = f"{self.catalogue.folder}/{DYNAMIC_FOLDER}/{key}"
        target = self.sounds_dir / language / f"{sound}.wav"
        if target.is_file():
            self.hits += 1
            return sound
        self.misses += 1
        running = self._running.get(key)
        if running is None:
            loop = asyncio.get_running_loop()
            running = asyncio.ensure_future(
                loop.run_in_executor(self._pool, self._synthesise, filled, language, text, target)
            )
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        try:
            # shield: a caller who cannot wait does not cancel the file for the next one
            made = await asyncio.wait_for(asyncio.shield(running), self.budget)
        except TimeoutError:
            self.late += 1
            log.info("dynamic prompt %s not ready within %.1f s: generic prompt", name, self.budget)
            return None
        if not made:
            self.failures += 1
            return None
        return sound


class GenericOnly:
    """Knows which prompts are dynamic but never synthesises: the generic alternative plays.

    For scenario runs (`ivr test`), whose expectations must not depend on how
    fast an engine is.
    """

    def __init__(self, catalogue: Catalogue) -> None:
        self.names = catalogue.dynamic_names()

    def locate(self, name: str, language: str) -> str:
        return name

    async def sound_for(self, name: str, language: str, variables: Mapping[str, str]) -> str | None:
        return None
