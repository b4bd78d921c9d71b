"""Fixtures for the menu tests: the demo directory and a writer for small menu files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from menus_helpers import WriteFile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_dir() -> Path:
    return REPO / "ivr_menus"


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """write("main.yaml", text) -> path; the text is dedented, so tests can indent it."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
