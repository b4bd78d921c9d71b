"""`build_prompts` with the real espeak-ng and sox: telephony WAV, rebuilt only when changed."""

from __future__ import annotations

import array
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import pytest

from fastagi.prompts.build import MANIFEST_NAME, BuildResult, build_prompts
from fastagi.prompts.catalogue import Catalogue, parse_catalogue
from fastagi.prompts.engines import Synthesiser, engines_for

HELLO = """
languages: [en, ru]
prompts:
  hello:
    en: Hello.
    ru: Привет.
  bye:
    en: Goodbye.
    ru: До свидания.
"""


def catalogue(text: str) -> Catalogue:
    return parse_catalogue(textwrap.dedent(text).lstrip("\n"))


def build(text: str, root: Path, **options: bool) -> BuildResult:
    """Build a catalogue's text into root/sounds (recordings in root/prompts) with espeak-ng."""
    return build_prompts(
        catalogue(text),
        root / "prompts",
        root / "sounds",
        Synthesiser(engines_for("espeak-ng")),
        **options,
    )


def keys(jobs: list[object]) -> list[str]:
    return sorted(
        (item[0] if isinstance(item, tuple) else item).key  # type: ignore[attr-defined]
        for item in jobs
    )


def params(path: Path) -> tuple[int, int, int, int]:
    """(channels, bytes per sample, rate, frames) of a WAV file."""
    with wave.open(str(path), "rb") as reader:
        return (
            reader.getnchannels(),
            reader.getsampwidth(),
            reader.getframerate(),
            reader.getnframes(),
        )


def seconds(path: Path) -> float:
    _, _, rate, frames = params(path)
    return frames / rate


def samples(path: Path) -> array.array[int]:
    with wave.open(str(path), "rb") as reader:
        data = array.array("h", reader.readframes(reader.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return data


def rms_dbfs(data: array.array[int]) -> float:
    return 20 * math.log10(math.sqrt(sum(s * s for s in data) / len(data)) / 32768)


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def record(path: Path, *effects: str) -> Path:
    """A studio recording: 44.1 kHz stereo, made by sox from `effects` (synth ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sox("-n", "-r", "44100", "-c", "2", "-b", "16", str(path), *effects)
    return path


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files a build left in the sounds directory."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file()
        and path.name != MANIFEST_NAME
        and (path.name.startswith(".") or path.suffix == ".tmp")
    )


def test_built_files_are_8khz_mono_16bit_wav(tmp_path: Path) -> None:
    result = build(HELLO, tmp_path)
    assert result.failed == []
    assert keys(result.built) == ["en/ivr/bye", "en/ivr/hello", "ru/ivr/bye", "ru/ivr/hello"]
    assert {source for _, source in result.built} == {"espeak-ng"}
    for language in ("en", "ru"):
        for prompt in ("hello", "bye"):
            path = tmp_path / "sounds" / language / "ivr" / f"{prompt}.wav"
            channels, width, rate, frames = params(path)
            assert (channels, width, rate) == (1, 2, 8000)
            assert frames > 0.2 * 8000  # a word is more than a click
            assert not path.with_suffix(".sln16").exists()  # only asked for with wideband
    assert leftovers(tmp_path / "sounds") == []


def test_a_longer_text_lasts_longer(tmp_path: Path) -> None:
    build(
        """
        prompts:
          short: {en: Hello.}
          long: {en: "Thank you for calling. Please stay on the line while we connect you."}
        """,
        tmp_path,
    )
    short = seconds(tmp_path / "sounds/en/ivr/short.wav")
    long = seconds(tmp_path / "sounds/en/ivr/long.wav")
    assert long > short + 1.5


def test_a_second_build_rebuilds_nothing(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "sounds").rglob("*.wav")}
    again = build(HELLO, tmp_path)
    assert again.built == []
    assert again.failed == []
    assert again.removed == []
    assert keys(again.unchanged) == ["en/ivr/bye", "en/ivr/hello", "ru/ivr/bye", "ru/ivr/hello"]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "sounds").rglob("*.wav")} == before


def test_force_rebuilds_everything(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    forced = build(HELLO, tmp_path, force=True)
    assert len(forced.built) == 4
    assert forced.unchanged == []


def test_changing_one_text_rebuilds_that_prompt_in_that_language_only(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    path = tmp_path / "sounds/ru/ivr/hello.wav"
    old = path.read_bytes()
    changed = HELLO.replace("ru: Привет.", "ru: Здравствуйте, вы позвонили в Демо Телеком.")
    result = build(changed, tmp_path)
    assert keys(result.built) == ["ru/ivr/hello"]
    assert keys(result.unchanged) == ["en/ivr/bye", "en/ivr/hello", "ru/ivr/bye"]
    assert path.read_bytes() != old
    assert seconds(path) > len(old) / 2 / 8000 + 1.0


def test_changing_a_language_voice_rebuilds_that_language(tmp_path: Path) -> None:
    with_voices = HELLO.replace("prompts:", "voices:\n  en: {espeak-ng: en-us, gtts: en}\nprompts:")
    build(with_voices, tmp_path)
    result = build(with_voices.replace("espeak-ng: en-us", "espeak-ng: en-gb"), tmp_path)
    assert keys(result.built) == ["en/ivr/bye", "en/ivr/hello"]
    assert keys(result.unchanged) == ["ru/ivr/bye", "ru/ivr/hello"]


def test_changing_a_texts_own_voice_rebuilds_that_text(tmp_path: Path) -> None:
    text = HELLO.replace("en: Hello.", "en: {text: Hello., voice: en-us}")
    build(text, tmp_path)
    result = build(text.replace("voice: en-us}", "voice: en-us+f3}"), tmp_path)
    assert keys(result.built) == ["en/ivr/hello"]
    assert result.failed == []


def test_the_gtts_voice_does_not_matter_to_an_espeak_build(tmp_path: Path) -> None:
    with_voices = HELLO.replace("prompts:", "voices:\n  en: {espeak-ng: en-us, gtts: en}\nprompts:")
    build(with_voices, tmp_path)
    result = build(with_voices.replace("gtts: en}", "gtts: en-GB}"), tmp_path)
    assert result.built == []


def test_a_recording_replaces_text_to_speech(tmp_path: Path) -> None:
    # half a second of silence on each side of one second of tone: trimmed off
    record(
        tmp_path / "prompts/en/hello.wav",
        "synth", "0.5", "sine", "440", "vol", "0",
        ":", "synth", "1.0", "sine", "440", "vol", "0.5",
        ":", "synth", "0.5", "sine", "440", "vol", "0",
    )  # fmt: skip
    result = build(HELLO, tmp_path)
    sources = {job.key: source for job, source in result.built}
    assert sources["en/ivr/hello"] == "recorded"
    assert sources["ru/ivr/hello"] == "espeak-ng"  # only English was recorded
    path = tmp_path / "sounds/en/ivr/hello.wav"
    channels, width, rate, _ = params(path)
    assert (channels, width, rate) == (1, 2, 8000)
    # the tone, plus the 0.05 s and 0.10 s margins kept around the speech
    assert seconds(path) == pytest.approx(1.15, abs=0.03)


def test_replacing_a_recording_rebuilds_it_and_removing_it_goes_back_to_tts(
    tmp_path: Path,
) -> None:
    recording = record(tmp_path / "prompts/en/hello.wav", "synth", "1.0", "sine", "440")
    build(HELLO, tmp_path)
    path = tmp_path / "sounds/en/ivr/hello.wav"
    assert seconds(path) == pytest.approx(1.15, abs=0.03)

    record(recording, "synth", "2.0", "sine", "330")
    result = build(HELLO, tmp_path)
    assert [(job.key, source) for job, source in result.built] == [("en/ivr/hello", "recorded")]
    assert seconds(path) == pytest.approx(2.15, abs=0.03)

    recording.unlink()
    result = build(HELLO, tmp_path)
    assert [(job.key, source) for job, source in result.built] == [("en/ivr/hello", "espeak-ng")]
    assert seconds(path) < 1.5


def test_a_recording_in_another_format_is_used(tmp_path: Path) -> None:
    record(tmp_path / "prompts/ru/bye.flac", "synth", "0.8", "sine", "500")
    result = build(HELLO, tmp_path)
    sources = {job.key: source for job, source in result.built}
    assert sources["ru/ivr/bye"] == "recorded"
    assert seconds(tmp_path / "sounds/ru/ivr/bye.wav") == pytest.approx(0.95, abs=0.03)


def test_a_removed_prompt_loses_its_file_and_other_files_stay(tmp_path: Path) -> None:
    build(HELLO, tmp_path, wideband=True)
    sounds = tmp_path / "sounds"
    own = [sounds / "en/ivr/custom.wav", sounds / "en/beep.gsm", sounds / "ru/ivr/notes.txt"]
    for path in own:
        path.write_bytes(b"not made by the build")
    without_bye = HELLO.replace("  bye:\n    en: Goodbye.\n    ru: До свидания.\n", "")
    result = build(without_bye, tmp_path, wideband=True)
    assert sorted(result.removed) == ["en/ivr/bye", "ru/ivr/bye"]
    for language in ("en", "ru"):
        assert not (sounds / language / "ivr/bye.wav").exists()
        assert not (sounds / language / "ivr/bye.sln16").exists()
        assert (sounds / language / "ivr/hello.wav").is_file()
    assert all(path.read_bytes() == b"not made by the build" for path in own)
    manifest = json.loads((sounds / MANIFEST_NAME).read_text("utf-8"))
    assert sorted(manifest["prompts"]) == ["en/ivr/hello", "ru/ivr/hello"]


def test_a_language_dropped_from_a_prompt_loses_its_file(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    result = build(HELLO.replace("    ru: Привет.\n", ""), tmp_path)
    assert result.removed == ["ru/ivr/hello"]
    assert not (tmp_path / "sounds/ru/ivr/hello.wav").exists()
    assert (tmp_path / "sounds/en/ivr/hello.wav").is_file()


def test_dynamic_texts_are_not_built_unless_recorded(tmp_path: Path) -> None:
    text = """
    languages: [en, ru]
    prompts:
      hello-name:
        en: "Hello, {caller.first_name}."
        ru: "Здравствуйте, {caller.first_name}."
    """
    assert build(text, tmp_path).built == []
    assert not (tmp_path / "sounds/en/ivr/hello-name.wav").exists()
    record(tmp_path / "prompts/ru/hello-name.wav", "synth", "1.0", "sine", "440")
    result = build(text, tmp_path)
    assert [(job.key, source) for job, source in result.built] == [
        ("ru/ivr/hello-name", "recorded")
    ]


def test_a_failed_prompt_is_reported_and_leaves_the_old_file_alone(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    sounds = tmp_path / "sounds"
    good = (sounds / "en/ivr/hello.wav").read_bytes()
    broken = HELLO.replace("en: Hello.", "en: {text: Hello again., voice: zz-nonexistent}")
    broken = broken.replace("ru: До свидания.", "ru: До скорой встречи.")
    result = build(broken, tmp_path)
    assert [(job.prompt_id, job.language) for job, _ in result.failed] == [("hello", "en")]
    reason = result.failed[0][1]
    assert "espeak-ng" in reason and "zz-nonexistent" in reason
    assert keys(result.built) == ["ru/ivr/bye"]  # the other changed prompt is still built
    assert (sounds / "en/ivr/hello.wav").read_bytes() == good
    assert leftovers(sounds) == []
    # it is tried again next time, not taken for built
    assert [job.key for job, _ in build(broken, tmp_path).failed] == ["en/ivr/hello"]


def test_a_prompt_that_never_built_leaves_no_file(tmp_path: Path) -> None:
    result = build("prompts:\n  bad: {en: {text: Hi., voice: zz-nonexistent}}\n", tmp_path)
    assert [job.key for job, _ in result.failed] == ["en/ivr/bad"]
    assert not (tmp_path / "sounds/en/ivr/bad.wav").exists()
    assert leftovers(tmp_path / "sounds") == []


def only(tools: list[str], folder: Path) -> str:
    """A PATH with nothing but `tools` (symlinks to the real ones)."""
    folder.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed for these tests"
        os.symlink(found, folder / tool)
    return str(folder)


def test_without_sox_every_prompt_fails_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(tmp_path / "prompts/en/bye.wav", "synth", "1.0", "sine", "440")
    monkeypatch.setenv("PATH", only(["espeak-ng"], tmp_path / "bin"))
    result = build(HELLO, tmp_path)
    assert result.built == []
    assert len(result.failed) == 4  # text-to-speech and the recording alike
    for job, reason in result.failed:
        assert "sox is not installed: apt-get install sox" in reason, job.key
    assert not list((tmp_path / "sounds").rglob("*.wav"))
    assert leftovers(tmp_path / "sounds") == []


def test_without_espeak_ng_the_reason_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", only(["sox"], tmp_path / "bin"))
    result = build(HELLO, tmp_path)
    assert result.built == []
    assert len(result.failed) == 4
    for _, reason in result.failed:
        assert "espeak-ng is not installed: apt-get install espeak-ng" in reason


def test_wideband_also_writes_16khz_sln16(tmp_path: Path) -> None:
    result = build(HELLO, tmp_path, wideband=True)
    assert result.failed == []
    for language in ("en", "ru"):
        wav = tmp_path / "sounds" / language / "ivr/hello.wav"
        sln16 = wav.with_suffix(".sln16")
        _, _, _, frames = params(wav)
        # raw 16-bit samples at 16 kHz: 32000 bytes a second, twice the 8 kHz samples
        assert sln16.stat().st_size % 2 == 0
        assert sln16.stat().st_size / 32000 == pytest.approx(seconds(wav), abs=0.01)
        assert sln16.stat().st_size / 2 == pytest.approx(2 * frames, rel=0.01)
    assert leftovers(tmp_path / "sounds") == []


def test_turning_wideband_on_and_off_rebuilds(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    wide = build(HELLO, tmp_path, wideband=True)
    assert len(wide.built) == 4
    assert (tmp_path / "sounds/en/ivr/hello.sln16").is_file()
    # A later change without wideband must not leave the old words in the .sln16
    # (Asterisk prefers it on wideband calls).
    changed = HELLO.replace("en: Hello.", "en: Hello and welcome.")
    narrow = build(changed, tmp_path)
    assert len(narrow.built) == 4
    assert not list((tmp_path / "sounds").rglob("*.sln16"))


def test_a_missing_sln16_is_rebuilt_in_wideband(tmp_path: Path) -> None:
    build(HELLO, tmp_path, wideband=True)
    (tmp_path / "sounds/ru/ivr/bye.sln16").unlink()
    result = build(HELLO, tmp_path, wideband=True)
    assert keys(result.built) == ["ru/ivr/bye"]
    assert (tmp_path / "sounds/ru/ivr/bye.sln16").is_file()


def test_a_deleted_file_is_rebuilt(tmp_path: Path) -> None:
    build(HELLO, tmp_path)
    (tmp_path / "sounds/en/ivr/bye.wav").unlink()
    result = build(HELLO, tmp_path)
    assert keys(result.built) == ["en/ivr/bye"]


@pytest.mark.parametrize(
    "content",
    [
        b'{"prompts": {"en/ivr/hel',
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"prompts": ["en/ivr/hello"]}',
        b'{"prompts": {"en/ivr/hello": "ok", "en/ivr/bye": 7, "ru/ivr/hello": null}}',
    ],
)
def test_a_corrupt_manifest_rebuilds_everything(tmp_path: Path, content: bytes) -> None:
    build(HELLO, tmp_path)
    manifest = tmp_path / "sounds" / MANIFEST_NAME
    manifest.write_bytes(content)
    result = build(HELLO, tmp_path)
    assert result.failed == []
    assert len(result.built) == 4
    assert sorted(json.loads(manifest.read_text("utf-8"))["prompts"]) == [
        "en/ivr/bye", "en/ivr/hello", "ru/ivr/bye", "ru/ivr/hello",
    ]  # fmt: skip
    assert build(HELLO, tmp_path).built == []


def test_a_folder_of_several_parts_keeps_languages_apart(tmp_path: Path) -> None:
    text = "folder: acme/ivr\n" + textwrap.dedent(HELLO).lstrip("\n")
    first = build(text, tmp_path)
    assert keys(first.built) == [
        "en/acme/ivr/bye", "en/acme/ivr/hello", "ru/acme/ivr/bye", "ru/acme/ivr/hello",
    ]  # fmt: skip
    assert (tmp_path / "sounds/ru/acme/ivr/hello.wav").is_file()
    again = build(text, tmp_path)
    assert again.built == []
    assert len(again.unchanged) == 4
    changed = build(text.replace("ru: Привет.", "ru: Добрый день."), tmp_path)
    assert keys(changed.built) == ["ru/acme/ivr/hello"]


def test_prompts_come_out_equally_loud_and_never_clipped(tmp_path: Path) -> None:
    # a whisper and a shout as recordings, and espeak-ng's own level
    record(tmp_path / "prompts/en/quiet.wav", "synth", "1.0", "sine", "440", "vol", "0.02")
    record(tmp_path / "prompts/en/loud.wav", "synth", "1.0", "square", "440", "vol", "1.0")
    result = build(
        """
        prompts:
          quiet: {en: Placeholder.}
          loud: {en: Placeholder.}
          speech: {en: "Thank you for calling Demo Telecom."}
          greeting: {en: "Welcome! For sales press 1, for support press 2."}
        """,
        tmp_path,
    )
    assert result.failed == []
    levels = {}
    for prompt in ("quiet", "loud", "speech", "greeting"):
        data = samples(tmp_path / "sounds/en/ivr" / f"{prompt}.wav")
        peak = max(abs(min(data)), max(data))
        assert peak < 32767 * 10 ** (-0.9 / 20), prompt  # at most about -1 dBFS
        levels[prompt] = rms_dbfs(data)
    assert max(levels.values()) - min(levels.values()) < 4, levels
    assert all(-26 < level < -17 for level in levels.values()), levels
