"""The `ivr` commands an admin runs: validate, simulate, test, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastagi.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))


def test_validate_passes_on_the_demo(demo_sounds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_SOUNDS_DIR", str(demo_sounds))
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "6 menu(s) valid" in result.output


def test_validate_says_to_build_the_prompts_when_they_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVR_SOUNDS_DIR", str(tmp_path / "never-built"))
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "prompts/catalogue.yaml: the prompts are not built" in result.output
    assert "ivr prompts build" in result.output


def test_validate_fails_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "main.yaml"
    bad.write_text(
        "menu: main\nstart: welcome\nnodes:\n  welcome:\n    type: menu\n"
        "    greeting: ivr/hello\n    options:\n      '1': sles\n  sales: {type: hangup}\n"
    )
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:8:" in result.output
    assert "did you mean 'sales'" in result.output


def test_simulate_json_shows_the_support_path() -> None:
    result = CliRunner().invoke(
        main,
        ["simulate", "main", "--caller", "+79161234567", "--digits", "2", "--json", "--no-callers"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"path", "prompts", "variables", "result"} <= set(data)
    assert data["path"][:2] == ["welcome", "support"]
    assert "ivr/support-greeting" in data["prompts"]


def test_simulate_two_entries_reach_a_result() -> None:
    result = CliRunner().invoke(main, ["simulate", "main", "--digits", "2,2", "--json"])
    data = json.loads(result.output)
    assert data["path"] == ["welcome", "support", "support_billing"]
    assert data["result"] == "billing"
    assert data["variables"]["IVR_RESULT"] == "billing"
    assert data["status"] == "SUCCESS"


def test_simulate_unknown_menu_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["simulate", "nosuch"])
    assert result.exit_code != 0
    assert "no menu 'nosuch'" in result.output


def test_ivr_test_runs_the_demo_scenarios_with_full_coverage() -> None:
    result = CliRunner().invoke(main, ["test", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert report["nodes_missed"] == [] and report["options_missed"] == []


def test_ivr_test_reports_a_failing_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(
        "- name: expects the wrong result\n  menu: main\n  input: ['0']\n"
        "  expect: {result: sales}\n"
    )
    result = CliRunner().invoke(main, ["test", str(scenario)])
    assert result.exit_code == 1
    assert "FAIL  expects the wrong result" in result.output
    assert "result: expected sales, got operator" in result.output


def test_schema_command_writes_the_editor_schemas(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "menu.schema.json").read_text())
    assert schema["$schema"].startswith("https://json-schema.org/")


def test_validate_reports_a_control_character_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "main.yaml"
    bad.write_bytes(b"menu: main\nstart: a\x01\nnodes: {}\n")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output


def test_validate_checks_that_segment_menus_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "segments.yaml"
    rules.write_text(
        "segments:\n  - name: vip\n    when: {has_tag: vip}\n    menu: vipp\n"
        "  - name: regular\n    when: {always: true}\n"
    )
    monkeypatch.setenv("IVR_SEGMENTS_FILE", str(rules))
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert f"{rules}:4:" in result.output
    assert "vipp" in result.output and "did you mean 'vip'" in result.output


def test_simulate_looks_the_caller_up_like_a_real_call() -> None:
    args = ["simulate", "main", "--caller", "+79161234567", "--digits", "0", "--json"]
    first = json.loads(CliRunner().invoke(main, args).output)
    second = json.loads(CliRunner().invoke(main, args).output)
    assert first["lookup"]["new"] == "1" and first["lookup"]["segment"] == "new"
    assert first["path"] == ["new_caller", "welcome", "operator"]
    assert second["lookup"]["new"] == "0" and second["lookup"]["segment"] == "regular"
    assert second["path"] == ["welcome", "operator"]
