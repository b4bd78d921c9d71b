"""Fixtures for the menu tests: the demo directory (`write` is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_dir() -> Path:
    return REPO / "ivr_menus"
