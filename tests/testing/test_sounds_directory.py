"""SoundsDirectory: Asterisk's sound file lookup and real prompt lengths, on files in tmp_path."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fastagi.testing import AsteriskEmulator, SoundsDirectory

if TYPE_CHECKING:
    from conftest import CallRunner, Conversation

BASE = "http://ivr.example:8088"


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * round(seconds * rate))
    return path


def write_raw(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * size)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """en/ and ru/ prompts, one wideband-only prompt, one prompt with no language."""
    sounds = tmp_path / "sounds"
    write_wav(sounds / "en" / "ivr" / "main-greeting.wav", 1.5)
    write_wav(sounds / "ru" / "ivr" / "main-greeting.wav", 2.0)
    write_wav(sounds / "ru" / "ivr" / "only-russian.wav", 0.5)
    write_raw(sounds / "en" / "ivr" / "wideband.sln16", 32000 * 2)
    write_wav(sounds / "beep.wav", 0.25)
    return sounds


# -- exists: Asterisk's order -----------------------------------------------------------


def test_a_name_is_found_in_the_channel_language(root: Path) -> None:
    sounds = SoundsDirectory(root)
    assert sounds.exists("ivr/main-greeting", "ru")
    assert sounds.find("ivr/main-greeting", "ru") == root / "ru" / "ivr" / "main-greeting.wav"
    assert sounds.find("ivr/main-greeting", "en") == root / "en" / "ivr" / "main-greeting.wav"


def test_a_dialect_falls_back_to_its_language_then_no_language_then_en(root: Path) -> None:
    sounds = SoundsDirectory(root)
    assert sounds.find("ivr/main-greeting", "ru_RU_x") == root / "ru/ivr/main-greeting.wav"
    assert sounds.find("beep", "ru") == root / "beep.wav"  # no language
    assert sounds.find("ivr/main-greeting", "fr") == root / "en/ivr/main-greeting.wav"  # en
    assert sounds.find("ivr/main-greeting", "") == root / "en/ivr/main-greeting.wav"
    assert not sounds.exists("ivr/only-russian", "en")


def test_any_playable_extension_counts(root: Path) -> None:
    sounds = SoundsDirectory(root)
    assert sounds.find("ivr/wideband", "en") == root / "en" / "ivr" / "wideband.sln16"
    write_raw(root / "en" / "ivr" / "legacy.gsm", 33)
    assert sounds.exists("ivr/legacy", "en")


def test_names_are_given_without_extension_as_in_asterisk(root: Path) -> None:
    sounds = SoundsDirectory(root)
    assert not sounds.exists("ivr/main-greeting.wav", "en")  # Asterisk adds ".wav" again
    assert not sounds.exists("ivr/missing", "en")
    assert not sounds.exists("", "en")
    (root / "en" / "ivr" / "folder.wav").mkdir()
    assert not sounds.exists("ivr/folder", "en")


def test_absolute_names_get_the_language_before_their_last_part(tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    write_wav(custom / "greeting.wav", 1.0)
    write_wav(custom / "fr" / "greeting.wav", 1.0)
    sounds = SoundsDirectory(tmp_path / "sounds")
    name = str(custom / "greeting")
    assert sounds.find(name, "fr") == custom / "fr" / "greeting.wav"
    assert sounds.find(name, "de") == custom / "greeting.wav"
    assert not sounds.exists(str(custom / "absent"), "fr")


def test_pseudo_files_and_foreign_urls_do_not_exist(root: Path) -> None:
    sounds = SoundsDirectory(root, base_url=BASE)
    assert not sounds.exists("say-digits:123", "en")
    assert not sounds.exists("http://elsewhere.example/en/ivr/main-greeting.wav", "en")
    assert not SoundsDirectory(root).exists(f"{BASE}/en/ivr/main-greeting.wav", "en")


# -- URLs under base_url ----------------------------------------------------------------


@pytest.mark.parametrize("base", [BASE, BASE + "/"])
def test_a_url_under_the_base_is_the_served_file_whatever_the_language(
    root: Path, base: str
) -> None:
    sounds = SoundsDirectory(root, base_url=base)
    url = f"{BASE}/ru/ivr/main-greeting.wav"
    assert sounds.find(url, "en") == root / "ru" / "ivr" / "main-greeting.wav"
    assert sounds.exists(url + "?v=3", "fr")
    assert sounds.duration(url) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "path",
    [
        "/en/ivr/main-greeting",  # the endpoint only serves names with an extension
        "/en/ivr/missing.wav",
        "/en/../../secret.wav",
        "/en/%2e%2e/secret.wav",
        "/en//ivr/main-greeting.wav",
        "/en/ivr/.hidden.wav",
        "/en/ivr/notes.yaml",
        "/a/b/c/d/e.wav",
    ],
)
def test_urls_the_endpoint_would_refuse_do_not_exist(root: Path, path: str) -> None:
    write_wav(root.parent / "secret.wav", 1.0)
    write_wav(root / "en" / "ivr" / ".hidden.wav", 1.0)
    write_raw(root / "en" / "ivr" / "notes.yaml", 10)
    write_wav(root / "a" / "b" / "c" / "d" / "e.wav", 1.0)
    sounds = SoundsDirectory(root, base_url=BASE)
    assert not sounds.exists(BASE + path, "en")
    assert sounds.duration(BASE + path) == 3.0


def test_a_url_through_a_symlink_out_of_the_directory_does_not_exist(root: Path) -> None:
    write_wav(root.parent / "secret.wav", 1.0)
    (root / "en" / "leak.wav").symlink_to(root.parent / "secret.wav")
    assert not SoundsDirectory(root, base_url=BASE).exists(f"{BASE}/en/leak.wav", "en")


# -- duration ---------------------------------------------------------------------------


def test_wav_duration_comes_from_its_header(root: Path) -> None:
    write_wav(root / "en" / "ivr" / "wide.wav", 0.75, rate=16000)
    sounds = SoundsDirectory(root)
    assert sounds.duration("beep") == pytest.approx(0.25)
    assert sounds.duration("ivr/wide") == pytest.approx(0.75)


def test_raw_durations_come_from_their_size(root: Path) -> None:
    write_raw(root / "en" / "ivr" / "narrow.sln", 8000)
    write_raw(root / "en" / "ivr" / "law.ulaw", 4000)
    sounds = SoundsDirectory(root)
    assert sounds.duration("ivr/wideband") == pytest.approx(2.0)  # 64000 bytes of sln16
    assert sounds.duration("ivr/narrow") == pytest.approx(0.5)
    assert sounds.duration("ivr/law") == pytest.approx(0.5)


def test_wav_is_preferred_to_its_wideband_twin(root: Path) -> None:
    write_raw(root / "en" / "ivr" / "main-greeting.sln16", 32000 * 9)
    assert SoundsDirectory(root).duration("ivr/main-greeting") == pytest.approx(1.5)


def test_duration_takes_the_first_language_folder_in_sorted_order(root: Path) -> None:
    sounds = SoundsDirectory(root)
    assert sounds.duration("ivr/main-greeting") == pytest.approx(1.5)  # en before ru
    assert sounds.duration("ivr/only-russian") == pytest.approx(0.5)


def test_what_cannot_be_timed_lasts_the_default_three_seconds(root: Path) -> None:
    (root / "en" / "ivr" / "broken.wav").write_bytes(b"RIFF\x00\x00not a wave file")
    sounds = SoundsDirectory(root, base_url=BASE)
    assert sounds.duration("say-digits:123") == 3.0
    assert sounds.duration("say-alpha:a:b") == 3.0
    assert sounds.duration("ivr/missing") == 3.0
    assert sounds.duration("ivr/broken") == 3.0
    assert SoundsDirectory(root / "nowhere").duration("beep") == 3.0


# -- in the emulator --------------------------------------------------------------------


@pytest.mark.system
def test_the_emulator_plays_real_lengths_and_reports_missing_files(
    root: Path, agi_call: CallRunner
) -> None:
    sounds = SoundsDirectory(root, base_url=BASE)
    emulator = AsteriskEmulator(prompt_duration=sounds.duration, existing_files=sounds.exists)

    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE ivr/main-greeting ""') == "200 result=0 endpos=12000"
        assert await conv.ask('STREAM FILE ivr/only-russian ""') == "200 result=-1 endpos=0"
        url = f"{BASE}/ru/ivr/only-russian.wav"
        assert await conv.ask(f'STREAM FILE {url} ""') == "200 result=0 endpos=4000"
        assert await conv.ask('SAY DIGITS 12 ""') == "200 result=0"
        conv.close()

    result, _ = agi_call(script, emulator=emulator)
    assert result.missing_files == ["ivr/only-russian"]
    assert result.prompts == [
        "ivr/main-greeting",
        f"{BASE}/ru/ivr/only-russian.wav",
        "say-digits:12",
    ]
    assert result.virtual_duration == pytest.approx(1.5 + 0.5 + 3.0)
