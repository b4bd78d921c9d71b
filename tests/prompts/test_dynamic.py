"""Dynamic prompts: caller data into a catalogue text, synthesised for real (espeak-ng, sox).

The engines here are espeak-ng, sometimes wrapped to be slow, to fail or to
count what it was asked: every prompt that comes out is a real WAV file.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import wave
from collections.abc import Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from fastagi.prompts.audio import RATE
from fastagi.prompts.catalogue import Catalogue, parse_catalogue
from fastagi.prompts.dynamic import DynamicPrompts, GenericOnly, fill_text
from fastagi.prompts.engines import (
    EspeakNg,
    SpeechEngine,
    Synthesiser,
    SynthesisError,
    engines_for,
)
from fastagi.server.reactor import run_on_reactor_loop

T = TypeVar("T")

CATALOGUE = """\
folder: ivr
languages: [en, ru]
prompts:
  hello:
    en: "Hello, {caller.first_name}."
    ru: "Здравствуйте, {caller.first_name}."
  welcome:
    en: "Welcome."
    ru: "Добро пожаловать."
  balance:
    en: "Your balance is {caller.balance:amount}."
  british:
    en: {text: "Good day, {caller.first_name}.", voice: en-gb}
"""

IVAN = {"caller.first_name": "Ivan"}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return run_on_reactor_loop(coro)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return parse_catalogue(CATALOGUE)


class Recording:
    """espeak-ng, recording what it is asked to say; optionally late or failing."""

    name = "espeak-ng"  # the catalogue's voices are by engine name
    suffix = ".wav"
    online = False

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._real = EspeakNg()

    def speak(self, text: str, voice: str, target: Path) -> None:
        with self._lock:
            self.calls.append((text, voice))
        time.sleep(self.delay)
        if self.fail:
            raise SynthesisError("espeak-ng failed: the test says no")
        self._real.speak(text, voice, target)


@pytest.fixture
def made(tmp_path: Path) -> Path:
    """The sounds directory prompts are made in."""
    return tmp_path / "sounds"


@pytest.fixture
def open_prompts() -> Iterator[list[DynamicPrompts]]:
    """Closes every DynamicPrompts a test makes."""
    opened: list[DynamicPrompts] = []
    yield opened
    for prompts in opened:
        prompts.close()


def _dynamic(
    opened: list[DynamicPrompts],
    catalogue: Catalogue,
    sounds: Path,
    engine: SpeechEngine | None = None,
    **options: Any,
) -> DynamicPrompts:
    engines = [engine] if engine is not None else engines_for("espeak-ng")
    prompts = DynamicPrompts(catalogue, Synthesiser(engines), sounds, **options)
    opened.append(prompts)
    return prompts


def _file(sounds: Path, language: str, sound: str) -> Path:
    return sounds / language / f"{sound}.wav"


def _wav(path: Path) -> tuple[float, int, int]:
    """(seconds, rate, channels) of a WAV file."""
    with wave.open(str(path), "rb") as reader:
        return (
            reader.getnframes() / reader.getframerate(),
            reader.getframerate(),
            reader.getnchannels(),
        )


def _wait_for_any(folder: Path, seconds: float = 8.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p for p in folder.glob("*.wav") if not p.name.startswith(".")):
            return True
        time.sleep(0.05)
    return False


async def _timed(
    prompts: DynamicPrompts, name: str, language: str, variables: Mapping[str, str]
) -> tuple[str | None, float]:
    started = time.monotonic()
    sound = await prompts.sound_for(name, language, variables)
    return sound, time.monotonic() - started


# ---------------------------------------------------------------- fill_text


def test_a_first_name_is_filled_in_any_script() -> None:
    assert fill_text("Hello, {caller.first_name}!", IVAN, "en") == "Hello, Ivan!"
    ru = {"caller.first_name": "  Анна-Мария "}
    assert fill_text("Здравствуйте, {caller.first_name}!", ru, "ru") == "Здравствуйте, Анна-Мария!"


@pytest.mark.parametrize("variables", [{}, {"caller.first_name": ""}, {"caller.first_name": "  "}])
def test_a_missing_value_gives_no_text(variables: dict[str, str]) -> None:
    assert fill_text("Hello, {caller.first_name}!", variables, "en") is None


@pytest.mark.parametrize(
    "value",
    [
        "{caller.balance}",
        "Ivan\nPress 9 to transfer all your money",
        "I" * 200,
        "<speak>Ivan</speak>",
        'Ivan"; rm -rf',
    ],
)
def test_an_unsafe_value_gives_no_text(value: str) -> None:
    assert fill_text("Hello, {caller.first_name}!", {"caller.first_name": value}, "en") is None


def test_a_value_is_only_used_when_every_placeholder_is_filled() -> None:
    text = "{caller.first_name}, your balance is {caller.balance:amount}."
    assert fill_text(text, IVAN, "en") is None
    full = {**IVAN, "caller.balance": "12.50"}
    assert fill_text(text, full, "en") == "Ivan, your balance is twelve rubles and fifty kopecks."


def test_an_amount_is_spoken_with_russian_grammar() -> None:
    said = fill_text("Ваш баланс: {caller.balance:amount}.", {"caller.balance": "1 234,52"}, "ru")
    assert said == "Ваш баланс: одна тысяча двести тридцать четыре рубля пятьдесят две копейки."
    usd = fill_text("{caller.balance:amount}", {"caller.balance": "21"}, "ru", currency="USD")
    assert usd == "двадцать один доллар"


def test_a_date_is_spoken_in_english() -> None:
    said = fill_text(
        "You last called on {caller.last_call:date}.", {"caller.last_call": "2026-11-27"}, "en"
    )
    assert said == "You last called on November twenty-seventh, twenty twenty-six."


@pytest.mark.parametrize(
    ("placeholder", "value"),
    [
        ("{caller.balance:amount}", "a lot"),
        ("{caller.balance:amount}", "12.345"),
        ("{caller.last_call:date}", "yesterday"),
        ("{caller.last_call:date}", "2026-02-30"),
        ("{caller.phone:digits}", "call me"),
    ],
)
def test_a_value_that_is_not_of_its_kind_gives_no_text(placeholder: str, value: str) -> None:
    variable = placeholder[1:].split(":")[0]
    assert fill_text(f"Hello {placeholder}.", {variable: value}, "en") is None


def test_the_segment_is_filled() -> None:
    assert fill_text("Dear {segment} caller.", {"segment": "vip"}, "en") == "Dear vip caller."


# ---------------------------------------------------------------- DynamicPrompts


def test_only_texts_with_caller_data_are_dynamic(catalogue: Catalogue, made: Path) -> None:
    expected = {"ivr/hello", "ivr/balance", "ivr/british"}
    assert GenericOnly(catalogue).names == expected
    prompts = DynamicPrompts(catalogue, Synthesiser(engines_for("espeak-ng")), made)
    try:
        assert prompts.names == expected
    finally:
        prompts.close()


def test_first_call_makes_the_file_and_the_next_hits_the_cache(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    prompts = _dynamic(open_prompts, catalogue, made, budget=5.0)

    async def scenario() -> list[tuple[str | None, float]]:
        return [
            await _timed(prompts, "ivr/hello", "en", IVAN),
            await _timed(prompts, "ivr/hello", "en", IVAN),
            await _timed(prompts, "ivr/hello", "en", {"caller.first_name": "Olga"}),
        ]

    (first, _), (again, hit_time), (olga, _) = run(scenario())
    assert first is not None and first.startswith("ivr/dynamic/")
    path = _file(made, "en", first)
    seconds, rate, channels = _wav(path)
    assert (rate, channels) == (RATE, 1)
    assert seconds > 0.5
    assert again == first
    assert hit_time < 0.1, "a cached prompt was made again"
    assert (prompts.hits, prompts.misses, prompts.late, prompts.failures) == (1, 2, 0, 0)
    assert olga is not None and olga != first
    assert _file(made, "en", olga).is_file()
    # nothing else is left in the cache folder: no engine output, no temporary file
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [Path(first).name + ".wav", Path(olga).name + ".wav"]
    )


def test_the_cache_outlives_the_server(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording()
    first = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)
    sound = run(first.sound_for("ivr/hello", "en", IVAN))
    restarted = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)
    assert run(restarted.sound_for("ivr/hello", "en", IVAN)) == sound
    assert (restarted.hits, restarted.misses) == (1, 0)
    assert len(engine.calls) == 1


def test_the_callers_language_picks_the_text_and_the_folder(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording()
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)

    async def scenario() -> tuple[str | None, str | None]:
        return (
            await prompts.sound_for("ivr/hello", "ru", {"caller.first_name": "Иван"}),
            await prompts.sound_for("ivr/hello", "en", {"caller.first_name": "Иван"}),
        )

    ru, en = run(scenario())
    assert engine.calls == [("Здравствуйте, Иван.", "ru"), ("Hello, Иван.", "en-us")]
    assert ru is not None and en is not None and ru != en
    assert _file(made, "ru", ru).is_file()
    assert not _file(made, "en", ru).exists()
    assert _file(made, "en", en).is_file()


def test_a_text_with_its_own_voice_is_spoken_in_it(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording()
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)
    sound = run(prompts.sound_for("ivr/british", "en", IVAN))
    assert sound is not None
    assert engine.calls == [("Good day, Ivan.", "en-gb")]


def test_no_text_or_no_value_means_the_generic_prompt(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording()
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)

    async def scenario() -> list[str | None]:
        return [
            await prompts.sound_for("ivr/balance", "ru", {"caller.balance": "10"}),  # no ru text
            await prompts.sound_for("ivr/balance", "en", {"caller.balance": "ten"}),
            await prompts.sound_for("ivr/hello", "en", {}),
            await prompts.sound_for("ivr/unknown", "en", IVAN),
            await prompts.sound_for("other/hello", "en", IVAN),
        ]

    assert run(scenario()) == [None] * 5
    assert engine.calls == []
    assert not made.exists()


def test_a_late_synthesis_plays_the_generic_and_is_ready_for_the_next_call(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording(delay=1.0)
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=0.2)
    sound, elapsed = run(_timed(prompts, "ivr/hello", "en", IVAN))
    assert sound is None
    assert elapsed < 0.8, f"the call waited {elapsed:.2f} s past its 0.2 s budget"
    assert prompts.late == 1

    folder = made / "en" / "ivr" / "dynamic"
    assert _wait_for_any(folder), "the synthesis stopped when the call moved on"
    (path,) = [p for p in folder.glob("*.wav") if not p.name.startswith(".")]
    assert _wav(path)[1] == RATE

    again, hit_time = run(_timed(prompts, "ivr/hello", "en", IVAN))
    assert again == f"ivr/dynamic/{path.stem}"
    assert hit_time < 0.1
    assert prompts.hits == 1
    assert len(engine.calls) == 1  # the first call's synthesis was not thrown away


def test_concurrent_calls_for_the_same_text_share_one_synthesis(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording(delay=0.3)
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)

    async def scenario() -> list[str | None]:
        calls = [prompts.sound_for("ivr/hello", "en", IVAN) for _ in range(3)]
        return list(await asyncio.gather(*calls))

    sounds = run(scenario())
    assert len(engine.calls) == 1
    assert sounds[0] is not None and sounds == [sounds[0]] * 3
    assert _file(made, "en", sounds[0]).is_file()


def test_concurrent_late_calls_share_one_synthesis(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording(delay=1.0)
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=0.2)

    async def scenario() -> list[str | None]:
        first = await asyncio.gather(
            prompts.sound_for("ivr/hello", "en", IVAN), prompts.sound_for("ivr/hello", "en", IVAN)
        )
        # a third caller while the synthesis still runs joins it, and is late too
        third = await prompts.sound_for("ivr/hello", "en", IVAN)
        return [*first, third]

    assert run(scenario()) == [None, None, None]
    assert prompts.late == 3
    assert _wait_for_any(made / "en" / "ivr" / "dynamic")
    assert len(engine.calls) == 1


def test_a_failing_engine_means_the_generic_prompt(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    engine = Recording(fail=True)
    prompts = _dynamic(open_prompts, catalogue, made, engine, budget=5.0)

    async def scenario() -> list[str | None]:
        return [await prompts.sound_for("ivr/hello", "en", IVAN) for _ in range(2)]

    assert run(scenario()) == [None, None]
    assert prompts.failures == 2
    assert len(engine.calls) == 2  # a failure is not cached: the next caller tries again
    assert not list((made / "en" / "ivr" / "dynamic").glob("*.wav"))


def test_a_sounds_directory_that_cannot_be_written_means_the_generic_prompt(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    # a file where the cache folder should be: making the folder fails (as on a full or
    # read-only disk); the call must still go on with the generic prompt
    (made / "en" / "ivr").mkdir(parents=True)
    (made / "en" / "ivr" / "dynamic").write_text("not a folder")
    prompts = _dynamic(open_prompts, catalogue, made, budget=5.0)
    assert run(prompts.sound_for("ivr/hello", "en", IVAN)) is None
    assert prompts.failures == 1


def test_the_cache_keeps_at_most_max_cached_files(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    prompts = _dynamic(open_prompts, catalogue, made, budget=5.0, max_cached=2)
    names = ["Ann", "Bob", "Cid"]

    async def scenario() -> list[str | None]:
        return [
            await prompts.sound_for("ivr/hello", "en", {"caller.first_name": name})
            for name in names
        ]

    ann, bob, cid = run(scenario())
    assert ann is not None and bob is not None and cid is not None
    folder = made / "en" / "ivr" / "dynamic"
    kept = sorted(p.stem for p in folder.glob("*.wav"))
    assert len(kept) == 2
    # the oldest goes first
    assert kept == sorted([Path(bob).name, Path(cid).name])
    assert not _file(made, "en", ann).exists()


def test_eviction_leaves_a_synthesis_in_progress_alone(
    catalogue: Catalogue, made: Path, open_prompts: list[DynamicPrompts]
) -> None:
    # Another worker's engine output (`.<hash>.espeak-ng.wav`) sits in the cache folder
    # while it is converted: it is not a cached prompt, neither counted nor removed.
    folder = made / "en" / "ivr" / "dynamic"
    folder.mkdir(parents=True)
    in_progress = folder / ".0123456789abcdef.espeak-ng.wav"
    in_progress.write_bytes(b"RIFF....WAVE")
    now = time.time()
    os.utime(in_progress, (now + 60, now + 60))  # being written: the newest file there
    prompts = _dynamic(open_prompts, catalogue, made, budget=5.0, max_cached=2)

    async def scenario() -> list[str | None]:
        return [
            await prompts.sound_for("ivr/hello", "en", {"caller.first_name": name})
            for name in ("Ann", "Bob")
        ]

    ann, bob = run(scenario())
    assert ann is not None and bob is not None
    assert _file(made, "en", ann).is_file(), "a cached prompt was evicted below max_cached"
    assert _file(made, "en", bob).is_file()
    assert in_progress.is_file()


def test_with_a_sounds_url_catalogue_prompts_are_located_as_urls(tmp_path: Path) -> None:
    catalogue = parse_catalogue(
        "folder: ivr\nlanguages: [en, ru]\nprompts:\n  hello: {en: Hello, ru: Привет}\n"
    )
    served = DynamicPrompts(
        catalogue, Synthesiser(engines_for("espeak-ng")), tmp_path,
        sounds_url="http://10.0.0.2:8089/",
    )  # fmt: skip
    local = DynamicPrompts(catalogue, Synthesiser(engines_for("espeak-ng")), tmp_path)
    try:
        assert served.locate("ivr/hello", "ru") == "http://10.0.0.2:8089/ru/ivr/hello.wav"
        assert (
            served.locate("ivr/dynamic/abc", "en") == "http://10.0.0.2:8089/en/ivr/dynamic/abc.wav"
        )
        # Asterisk's own sounds stay names: they are on the Asterisk machine
        assert served.locate("beep", "en") == "beep"
        assert local.locate("ivr/hello", "en") == "ivr/hello"
    finally:
        served.close()
        local.close()
