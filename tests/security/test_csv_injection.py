"""CSV formula injection: every CSV the project writes neutralises formula-like cells."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastagi import cli_report
from fastagi.analytics.stream import ReadResult, StoredEvent
from fastagi.csvsafe import restore_cell, safe_cell

REPO = Path(__file__).resolve().parents[2]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_safe_cell_neutralises_every_trigger_and_round_trips() -> None:
    for payload in [*PAYLOADS, "'=x", "''+1", "+79161234567"]:
        cell = safe_cell(payload)
        assert cell[:1] not in TRIGGERS
        assert restore_cell(cell) == payload
    assert safe_cell("Ivan") == "Ivan" and safe_cell(42) == "42"


def test_every_csv_writer_in_the_project_uses_the_helper() -> None:
    writers = [
        path
        for path in (REPO / "fastagi").rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers, "no CSV writer found: the check is looking in the wrong place"
    for path in writers:
        text = path.read_text(encoding="utf-8")
        assert "csvsafe" in text or "neutralize_formula" in text, path


def test_events_export_csv_neutralises_caller_data(monkeypatch: pytest.MonkeyPatch) -> None:
    events = [
        StoredEvent(
            uid=payload, kind="menu_enter", menu=payload, node="=1+1", at=1.0,
            data={"digits": "=cmd"}, id="1-0",
        )
        for payload in PAYLOADS
    ]  # fmt: skip
    monkeypatch.setattr(cli_report, "read_period_events", lambda *a: ReadResult(events=events))
    result = CliRunner().invoke(
        cli_report.events_group, ["export", "--format", "csv", "--from", "2026-01-01"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["id", "at", "uid", "kind", "menu", "node", "data"]
    for row, payload in zip(rows[1:], PAYLOADS, strict=True):
        for cell in row:
            assert cell[:1] not in TRIGGERS, row
        assert restore_cell(row[2]) == payload  # the text itself, kept
        assert row[5] == "'=1+1"
