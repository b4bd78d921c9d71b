"""`ivr graph MENU`: a menu drawn as an SVG file, or printed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastagi.cli_graph import graph
from fastagi.menus import load_menus
from fastagi.menus.drawing import menu_svg

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "ivr_menus"
SVG = "{http://www.w3.org/2000/svg}"

BROKEN = """\
menu: broken
start: a
nodes:
  a: {type: play, prompts: [x], next: nowhere}
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("IVR_CONFIG", "IVR_MENUS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))


def test_writes_the_svg_file(tmp_path: Path) -> None:
    out = tmp_path / "menu.svg"
    result = CliRunner().invoke(graph, ["main", "-o", str(out), "--menus", str(DEMO)])
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert svg == menu_svg(load_menus(DEMO), "main")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("data-menu") == "main"
    nodes = len(load_menus(DEMO)["main"].nodes)
    assert f"{out}: menu main, {nodes} node(s)" in result.output
    assert "<svg" not in result.output


def test_prints_the_svg_without_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(graph, ["vip", "--menus", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert result.output == menu_svg(load_menus(DEMO), "vip")
    nodes = [
        e.get("data-node", "") for e in ET.fromstring(result.output).iter() if e.get("data-node")
    ]
    assert sorted(nodes) == sorted(load_menus(DEMO)["vip"].nodes)
    assert list(tmp_path.glob("*.svg")) == []


def test_an_unknown_menu_fails_and_lists_the_menus() -> None:
    result = CliRunner().invoke(graph, ["mian", "--menus", str(DEMO)])
    assert result.exit_code == 1
    assert "no menu 'mian'" in result.output
    assert "did you mean 'main'?" in result.output
    assert "menus: appointment, blocked, main, main_ru, personal_ivanov, vip" in result.output
    assert "<svg" not in result.output


def test_the_menus_directory_comes_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "tiny.yaml").write_text(
        "menu: tiny\nstart: bye\nnodes:\n  bye: {type: hangup}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IVR_MENUS_DIR", str(menus))
    result = CliRunner().invoke(graph, ["tiny"])
    assert result.exit_code == 0, result.output
    assert 'data-node="bye"' in result.output
    result = CliRunner().invoke(graph, ["main"])
    assert result.exit_code == 1
    assert "no menu 'main'" in result.output and "menus: tiny" in result.output


def test_menus_with_errors_fail_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = CliRunner().invoke(graph, ["broken", "--menus", str(tmp_path)])
    assert result.exit_code == 1
    assert "have errors" in result.output
    assert "broken.yaml:4" in result.output and "nowhere" in result.output
