"""Which calls are lost, and which of those the rules call back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from fastagi.callbacks import CallbackRules, CallFacts, callback_reason, lost_reason

AT = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CALL = CallFacts(number="+79161234567", outcome="caller_hangup", at=AT, uniqueid="1.1")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({}, "ivr_hangup", id="hung-up-in-the-menu"),
        pytest.param({"queue_outcome": "abandoned"}, "queue_abandon", id="left-the-queue"),
        pytest.param({"queue_outcome": "timeout"}, "queue_timeout", id="queue-limit"),
        pytest.param(
            {"queue_outcome": "timeout", "outcome": "return"}, "queue_timeout", id="then-voicemail"
        ),
        pytest.param(
            {"queue_outcome": "unavailable"}, "queue_unavailable", id="queue-full-or-empty"
        ),
        pytest.param({"after_hours": True, "outcome": "return"}, "after_hours", id="after-hours"),
        pytest.param(
            {"after_hours": True, "requested_callback": True}, "after_hours", id="after-hours-first"
        ),
        pytest.param(
            {"requested_callback": True, "queue_outcome": "timeout", "outcome": "return"},
            "requested",
            id="asked-for-a-callback",
        ),
        pytest.param({"reached_agent": True}, None, id="reached-an-agent"),
        pytest.param({"queue_outcome": "answered"}, None, id="queue-answered"),
        pytest.param(
            {"reached_agent": True, "after_hours": True}, None, id="agent-after-hours-too"
        ),
        pytest.param({"outcome": "return"}, None, id="handed-to-the-dialplan"),
        pytest.param({"outcome": "hangup"}, None, id="self-service-done"),
        pytest.param({"outcome": "error"}, None, id="fallback-takes-it"),
        pytest.param({"number": None}, None, id="no-number"),
        pytest.param({"number": "anonymous"}, None, id="withheld"),
        pytest.param({"number": "unknown", "after_hours": True}, None, id="withheld-after-hours"),
        pytest.param({"number": "0000"}, None, id="zeros"),
    ],
)
def test_lost_reason(changes: dict[str, object], reason: str | None) -> None:
    assert lost_reason(replace(CALL, **changes)) == reason  # type: ignore[arg-type]


def test_callbacks_off_means_no_callback() -> None:
    assert callback_reason(CALL, CallbackRules(enabled=False)) is None


def test_only_the_listed_reasons_are_called_back() -> None:
    rules = CallbackRules(lost_calls=("queue_abandon", "requested"))
    assert callback_reason(CALL, rules) is None
    assert callback_reason(replace(CALL, queue_outcome="abandoned"), rules) == "queue_abandon"


def test_a_misdial_is_not_called_back_but_a_short_queue_visit_is() -> None:
    rules = CallbackRules(ignore_shorter_than=5)
    assert callback_reason(replace(CALL, duration=2.0), rules) is None
    assert callback_reason(replace(CALL, duration=2.0, after_hours=True), rules) is None
    assert callback_reason(replace(CALL, duration=6.0), rules) == "ivr_hangup"
    assert callback_reason(replace(CALL, duration=None), rules) == "ivr_hangup"
    short_queue = replace(CALL, duration=2.0, queue_outcome="abandoned")
    assert callback_reason(short_queue, rules) == "queue_abandon"
    assert callback_reason(replace(CALL, duration=2.0), CallbackRules(ignore_shorter_than=0))
