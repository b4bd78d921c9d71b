"""`ivr validate` for prompts: menus against the catalogue, the catalogue against the build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastagi.cli import main
from fastagi.menus import MenuSet, load_menus
from fastagi.menus.problems import Problem
from fastagi.prompts.build import build_prompts
from fastagi.prompts.catalogue import Catalogue, load_catalogue
from fastagi.prompts.checks import catalogue_problems
from fastagi.prompts.engines import Synthesiser, engines_for

#: The `write` fixture of tests/conftest.py: write("menus/main.yaml", text) -> path.
WriteFile = Callable[[str, str], Path]

CATALOGUE = """
languages: [en, ru]
prompts:
  main-greeting:
    en: Welcome to Demo Telecom.
    ru: Добро пожаловать.
  goodbye:
    en: Goodbye.
    ru: До свидания.
  hello-name:
    en: "Hello, {caller.first_name}."
    ru: "Здравствуйте, {caller.first_name}."
"""

MENU = """
menu: main
start: welcome
defaults:
  invalid_prompt: null
  timeout_prompt: null
  goodbye_prompt: ivr/goodbye
nodes:
  welcome:
    type: play
    prompts:
      - "ivr/hello-name|ivr/main-greeting"
      - beep
    next: bye
  bye:
    type: hangup
"""


def setup(
    write: WriteFile, menu: str = MENU, catalogue: str = CATALOGUE
) -> tuple[MenuSet, Catalogue]:
    menus = load_menus(write("menus/main.yaml", menu).parent)
    return menus, load_catalogue(write("prompts/catalogue.yaml", catalogue))


def check(
    write: WriteFile, tmp_path: Path, menu: str = MENU, catalogue: str = CATALOGUE,
    sounds: Path | None = None,
) -> list[Problem]:  # fmt: skip
    menus, loaded = setup(write, menu, catalogue)
    return catalogue_problems(menus, loaded, tmp_path / "prompts", sounds)


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def test_a_menu_using_the_catalogue_as_it_should_has_no_problems(
    write: WriteFile, tmp_path: Path
) -> None:
    assert check(write, tmp_path) == []


def test_a_misspelt_prompt_is_an_error_at_the_menu_line_with_a_suggestion(
    write: WriteFile, tmp_path: Path
) -> None:
    menu = MENU.replace('"ivr/hello-name|ivr/main-greeting"', "ivr/main-greting")
    problems = [p for p in check(write, tmp_path, menu=menu) if p.is_error]
    assert len(problems) == 1
    problem = problems[0]
    assert problem.code == "unknown-prompt"
    assert (problem.file, problem.line) == (str(tmp_path / "menus/main.yaml"), 11)
    assert "did you mean 'main-greeting'" in str(problem)
    assert "ivr/main-greting" in problem.message


def test_sounds_outside_the_catalogue_folder_are_not_checked_here(
    write: WriteFile, tmp_path: Path
) -> None:
    menu = MENU.replace("- beep", "- digits/1\n      - custom/main-greting")
    assert check(write, tmp_path, menu=menu) == []


def test_a_prompt_without_a_russian_text_or_recording_is_an_error(
    write: WriteFile, tmp_path: Path
) -> None:
    catalogue = CATALOGUE.replace("    ru: До свидания.\n", "")
    problems = check(write, tmp_path, catalogue=catalogue)
    assert codes(problems) == ["missing-prompt-language"]
    problem = problems[0]
    assert problem.line == 6  # defaults.goodbye_prompt in the menu
    assert "'ivr/goodbye' has no 'ru' text" in problem.message
    assert f"{tmp_path / 'prompts/catalogue.yaml'}:6" in problem.message  # the catalogue entry


def test_a_russian_recording_stands_in_for_the_missing_text(
    write: WriteFile, tmp_path: Path
) -> None:
    catalogue = CATALOGUE.replace("    ru: До свидания.\n", "")
    write("prompts/ru/goodbye.wav", "a recording")
    assert check(write, tmp_path, catalogue=catalogue) == []


def test_a_dynamic_prompt_as_the_last_alternative_is_an_error(
    write: WriteFile, tmp_path: Path
) -> None:
    menu = MENU.replace('"ivr/hello-name|ivr/main-greeting"', "ivr/hello-name")
    problems = check(write, tmp_path, menu=menu)
    errors = [p for p in problems if p.is_error]
    assert codes(errors) == ["dynamic-prompt-last"]
    assert errors[0].line == 11
    assert "generic prompt after it" in errors[0].message
    # main-greeting is now played by nobody
    assert [(p.code, p.severity) for p in problems if not p.is_error] == [
        ("unused-prompt", "warning")
    ]


def test_an_unused_prompt_is_a_warning_at_its_catalogue_line(
    write: WriteFile, tmp_path: Path
) -> None:
    catalogue = CATALOGUE + "  sales:\n    en: Sales.\n    ru: Продажи.\n"
    problems = check(write, tmp_path, catalogue=catalogue)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.code, problem.severity) == ("unused-prompt", "warning")
    assert (problem.file, problem.line) == (str(tmp_path / "prompts/catalogue.yaml"), 12)
    assert problem.key_path == "prompts.sales"


def test_a_recording_named_after_no_prompt_is_a_warning(write: WriteFile, tmp_path: Path) -> None:
    write("prompts/en/main-greting.wav", "a recording")
    write("prompts/en/goodbye.wav", "a recording")  # a real prompt's: fine
    write("prompts/en/notes.txt", "not a recording")
    problems = check(write, tmp_path)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.code, problem.severity) == ("unknown-recording", "warning")
    assert problem.file == str(tmp_path / "prompts/en/main-greting.wav")
    assert "did you mean 'main-greeting'" in problem.hint


def test_prompts_never_built_are_one_error_saying_to_build(
    write: WriteFile, tmp_path: Path
) -> None:
    problems = check(write, tmp_path, sounds=tmp_path / "sounds")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.is_error
    assert "not built" in problem.message
    assert "ivr prompts build" in str(problem)


@pytest.fixture
def built(write: WriteFile, tmp_path: Path) -> Path:
    """The catalogue built with espeak-ng into tmp_path/sounds."""
    _, catalogue = setup(write)
    sounds = tmp_path / "sounds"
    result = build_prompts(
        catalogue, tmp_path / "prompts", sounds, Synthesiser(engines_for("espeak-ng"))
    )
    assert not result.failed, result.failed
    return sounds


def test_a_built_catalogue_has_no_problems(write: WriteFile, tmp_path: Path, built: Path) -> None:
    assert check(write, tmp_path, sounds=built) == []


def test_a_deleted_built_file_is_a_missing_prompt_error(
    write: WriteFile, tmp_path: Path, built: Path
) -> None:
    (built / "ru/ivr/main-greeting.wav").unlink()
    problems = check(write, tmp_path, sounds=built)
    assert codes(problems) == ["missing-prompt"]
    problem = problems[0]
    assert problem.line == 11
    assert "'ivr/main-greeting' is not built for 'ru'" in problem.message
    assert "ivr prompts build" in problem.hint


def test_a_prompt_added_after_the_build_is_reported_unbuilt(
    write: WriteFile, tmp_path: Path, built: Path
) -> None:
    catalogue = CATALOGUE + "  sales:\n    en: Sales.\n    ru: Продажи.\n"
    menu = MENU.replace("- beep", "- ivr/sales")
    problems = check(write, tmp_path, menu=menu, catalogue=catalogue, sounds=built)
    assert [(p.code, p.line) for p in problems] == [("missing-prompt", 12)] * 2
    assert sorted("'en'" in p.message for p in problems) == [False, True]


# --- the same through `ivr validate`


@pytest.fixture
def project(write: WriteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with menus, a catalogue and a config; the working directory."""
    for variable in ("IVR_CONFIG", "IVR_MENUS_DIR", "IVR_PROMPTS_DIR", "IVR_SOUNDS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    write("menus/main.yaml", MENU)
    write("prompts/catalogue.yaml", CATALOGUE)
    write(
        "server.yaml",
        "menus_dir: menus\nprompts_dir: prompts\nsounds_dir: sounds\ntts_engine: espeak-ng\n",
    )
    return tmp_path / "server.yaml"


def test_validate_reports_a_misspelt_prompt_with_file_and_line(
    write: WriteFile, project: Path
) -> None:
    write("menus/main.yaml", MENU.replace("ivr/hello-name|ivr/main-greeting", "ivr/main-greting"))
    result = CliRunner().invoke(main, ["validate", "--config", str(project)])
    assert result.exit_code == 2
    assert "menus/main.yaml:11:" in result.output
    assert "did you mean 'main-greeting'" in result.output
    assert "the prompts are not built" in result.output  # nothing was built yet either


def test_validate_passes_once_the_prompts_are_built(project: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(main, ["prompts", "build", "--config", str(project)])
    assert built.exit_code == 0, built.output
    result = runner.invoke(main, ["validate", "--config", str(project)])
    assert result.exit_code == 0, result.output
    assert "ok: 1 menu(s) valid, 0 warning(s)" in result.output


def test_validate_counts_an_unused_prompt_as_a_warning(write: WriteFile, project: Path) -> None:
    write("prompts/catalogue.yaml", CATALOGUE + "  sales:\n    en: Sales.\n    ru: Продажи.\n")
    runner = CliRunner()
    assert runner.invoke(main, ["prompts", "build", "--config", str(project)]).exit_code == 0
    result = runner.invoke(main, ["validate", "--config", str(project)])
    assert result.exit_code == 0, result.output
    assert "prompts/catalogue.yaml:12: warning: prompts.sales: no menu plays this prompt" in (
        result.output
    )
    assert "1 warning(s)" in result.output


def test_validate_reports_a_broken_catalogue_at_its_line(write: WriteFile, project: Path) -> None:
    write("prompts/catalogue.yaml", CATALOGUE.replace("ru: До свидания.", "ru: '  '"))
    result = CliRunner().invoke(main, ["validate", "--config", str(project)])
    assert result.exit_code == 2
    assert "prompts/catalogue.yaml:8:" in result.output
    assert "the text is empty" in result.output
