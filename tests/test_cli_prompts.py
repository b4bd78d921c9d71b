"""`ivr prompts build` and `ivr prompts list` with a config of their own and the real espeak-ng."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fastagi.cli import main

CATALOGUE = """\
languages: [en, ru]
prompts:
  hello:
    en: Hello.
    ru: Привет.
  bye:
    en: Goodbye.
    ru: До свидания.
  hello-name:
    en: "Hello, {caller.first_name}."
    ru: "Привет, {caller.first_name}."
"""

CONFIG = """\
menus_dir: menus
prompts_dir: prompts
sounds_dir: sounds
tts_engine: espeak-ng
gtts_timeout: 1
"""

BUILT = ["en/ivr/bye", "en/ivr/hello", "ru/ivr/bye", "ru/ivr/hello"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the working directory, with a catalogue and server.yaml; the config path."""
    for variable in ("IVR_CONFIG", "IVR_PROMPTS_DIR", "IVR_SOUNDS_DIR", "IVR_TTS_ENGINE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts/catalogue.yaml").write_text(CATALOGUE, encoding="utf-8")
    config = tmp_path / "server.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def ivr(config: Path, *args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [*args, "--config", str(config)])


def edit_catalogue(old: str, new: str) -> None:
    path = Path("prompts/catalogue.yaml")
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def rows(config: Path) -> dict[tuple[str, str], dict[str, object]]:
    result = ivr(config, "prompts", "list", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {(row["prompt_id"], row["language"]): row for row in lines}


def test_build_prints_each_file_made_and_a_summary(project: Path) -> None:
    result = ivr(project, "prompts", "build")
    assert result.exit_code == 0, result.output + result.stderr
    built = [line for line in result.stdout.splitlines() if line.startswith("built ")]
    assert built[:-1] == [f"built {key}.wav  [espeak-ng]" for key in BUILT]
    assert built[-1] == "built 4 (espeak-ng 4), unchanged 0, failed 0 -> sounds"
    assert "FAILED" not in result.stderr
    assert Path("sounds/ru/ivr/hello.wav").is_file()
    assert not Path("sounds/en/ivr/hello-name.wav").exists()  # made during calls


def test_a_second_build_builds_nothing(project: Path) -> None:
    assert ivr(project, "prompts", "build").exit_code == 0
    result = ivr(project, "prompts", "build")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["built 0, unchanged 4, failed 0 -> sounds"]


def test_force_rebuilds_every_prompt(project: Path) -> None:
    assert ivr(project, "prompts", "build").exit_code == 0
    result = ivr(project, "prompts", "build", "--force")
    assert result.exit_code == 0
    assert "built 4 (espeak-ng 4), unchanged 0, failed 0" in result.stdout


def test_a_failing_prompt_exits_1_and_names_it_while_the_rest_are_built(project: Path) -> None:
    edit_catalogue("en: Goodbye.", "en: {text: Goodbye., voice: zz-nonexistent}")
    result = ivr(project, "prompts", "build")
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith("FAILED bye [en]: espeak-ng failed")
    assert "zz-nonexistent" in failed[0]
    assert "built 3 (espeak-ng 3), unchanged 0, failed 1" in result.stdout
    assert Path("sounds/ru/ivr/bye.wav").is_file()


def test_the_engine_option_overrides_the_config(project: Path) -> None:
    project.write_text(CONFIG.replace("tts_engine: espeak-ng", "tts_engine: gtts"), "utf-8")
    result = ivr(project, "prompts", "build", "--engine", "espeak-ng")
    assert result.exit_code == 0, result.output + result.stderr
    assert "built 4 (espeak-ng 4)" in result.stdout


def test_list_shows_missing_then_ok_then_stale(project: Path) -> None:
    before = rows(project)
    assert {key: row["state"] for key, row in before.items()} == {
        ("bye", "en"): "missing", ("bye", "ru"): "missing",
        ("hello", "en"): "missing", ("hello", "ru"): "missing",
        ("hello-name", "en"): "dynamic", ("hello-name", "ru"): "dynamic",
    }  # fmt: skip

    assert ivr(project, "prompts", "build").exit_code == 0
    built = rows(project)
    for key in [("bye", "en"), ("bye", "ru"), ("hello", "en"), ("hello", "ru")]:
        assert built[key]["state"] == "ok"
        assert built[key]["source"] == "espeak-ng"
        assert 0.2 < float(built[key]["duration"]) < 3.0  # type: ignore[arg-type]

    edit_catalogue("ru: Привет.", "ru: Добрый день.")
    edited = rows(project)
    assert edited[("hello", "ru")]["state"] == "stale"
    assert [key for key, row in edited.items() if row["state"] == "stale"] == [("hello", "ru")]


def test_list_shows_a_recording_as_recorded(project: Path) -> None:
    Path("prompts/en").mkdir()
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "44100",
            "-c",
            "2",
            "prompts/en/bye.wav",
            "synth",
            "1.5",
            "sine",
            "440",
        ],
        check=True,
    )
    stale = rows(project)
    assert stale[("bye", "en")]["state"] == "missing"
    assert ivr(project, "prompts", "build").exit_code == 0
    row = rows(project)[("bye", "en")]
    assert (row["source"], row["state"]) == ("recorded", "ok")
    assert float(row["duration"]) == pytest.approx(1.65, abs=0.03)  # type: ignore[arg-type]


def test_list_as_a_table(project: Path) -> None:
    assert ivr(project, "prompts", "build").exit_code == 0
    Path("sounds/en/ivr/bye.wav").unlink()
    edit_catalogue("en: Hello.", "en: Hello there.")
    result = ivr(project, "prompts", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "LANG", "SOURCE", "SECONDS", "STATE"]
    table = {tuple(line.split()[:2]): line.split() for line in lines[1:]}
    assert table[("bye", "en")][-1] == "missing"
    assert table[("bye", "ru")][2] == "espeak-ng"
    assert table[("bye", "ru")][-1] == "ok"
    assert float(table[("bye", "ru")][3]) > 0.2
    assert table[("hello", "en")][-1] == "stale"
    assert table[("hello-name", "ru")][-1] == "dynamic"
    assert "2 prompt file(s) to build: ivr prompts build" in result.stderr


def test_a_broken_catalogue_is_a_clear_error_with_file_and_line(project: Path) -> None:
    edit_catalogue("languages: [en, ru]", "languages: [en, ru")
    for command in ("build", "list"):
        result = ivr(project, "prompts", command)
        assert result.exit_code != 0
        assert "the prompt catalogue has errors" in result.stderr
        assert "prompts/catalogue.yaml:2" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_an_invalid_catalogue_names_the_line_of_the_mistake(project: Path) -> None:
    edit_catalogue("en: Goodbye.", "en: 'Goodbye {name}'")
    result = ivr(project, "prompts", "build")
    assert result.exit_code != 0
    assert "prompts/catalogue.yaml:7:" in result.stderr
    assert "braces are only for caller data" in result.stderr
    assert not Path("sounds").exists()  # nothing is built from a catalogue with errors


def test_no_catalogue_is_a_clear_error(project: Path) -> None:
    Path("prompts/catalogue.yaml").unlink()
    result = ivr(project, "prompts", "build")
    assert result.exit_code != 0
    assert "no prompt catalogue at prompts/catalogue.yaml" in result.stderr


def test_build_without_a_sounds_dir_is_a_clear_error(project: Path) -> None:
    project.write_text(CONFIG.replace("sounds_dir: sounds", "sounds_dir: null"), "utf-8")
    result = ivr(project, "prompts", "build")
    assert result.exit_code != 0
    assert "sounds_dir is not set" in result.stderr
