"""Server logs: one line per record in both formats, JSON that parses, bursts summarised."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from fastagi.logs import BurstWarning, configure_logging

HOSTILE = 'caller "x"\r\nERROR forged line\x1b[31m\x00 end'


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_root_logger")
def test_a_text_log_line_cannot_be_forged_by_a_value_in_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("text", "INFO")
    logging.getLogger("fastagi.test").warning("lookup of %s failed", HOSTILE)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "WARNING fastagi.test [-] lookup of caller" in lines[0]
    assert "\\r\\nERROR forged line\\x1b[31m\\x00 end" in lines[0]


@pytest.mark.usefixtures("restored_root_logger")
def test_json_logs_are_one_object_per_line_with_the_call_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "INFO")
    log = logging.getLogger("fastagi.test")
    log.warning("lookup of %s failed", HOSTILE, extra={"uniqueid": "1700000000.42"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("script failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "fastagi.test"
    assert first["uniqueid"] == "1700000000.42"
    assert first["message"] == f"lookup of {HOSTILE} failed"
    assert first["ts"].endswith("Z")
    assert second["uniqueid"] == "-"
    assert "RuntimeError: boom" in second["exception"]


def test_a_burst_of_warnings_is_one_line_then_a_count_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    warning = BurstWarning(logging.getLogger("fastagi.test"), every=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="fastagi.test"):
        for _ in range(500):  # a spike: 500 refusals within a second
            warning.warn("rejected call: %s", "call limit reached")
            now[0] += 0.002
        now[0] = 111.0
        warning.warn("rejected call: %s", "call limit reached")
        now[0] = 200.0
        warning.warn("rejected call: %s", "call limit reached")
    assert [record.getMessage() for record in caplog.records] == [
        "rejected call: call limit reached",
        "rejected call: call limit reached (499 more like it in the last 10 s not logged)",
        "rejected call: call limit reached",
    ]
