"""config/callbacks.yaml: the shipped file, the defaults, and every problem at file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastagi.callbacks import CallbackRules, load_callback_rules, parse_callback_rules
from fastagi.callbacks.rules import parse_duration
from fastagi.hours import HoursConfig
from fastagi.menus.problems import MenuError

REPO = Path(__file__).resolve().parents[2]


def problems(text: str, hours: HoursConfig | None = None) -> list[str]:
    with pytest.raises(MenuError) as caught:
        parse_callback_rules(textwrap.dedent(text).lstrip("\n"), "callbacks.yaml", hours=hours)
    return [str(problem) for problem in caught.value.problems]


def test_the_shipped_file_is_the_defaults(office_hours: HoursConfig) -> None:
    shipped = load_callback_rules(REPO / "config" / "callbacks.yaml", hours=office_hours)
    assert shipped == CallbackRules()


def test_defaults_follow_the_centre_rules() -> None:
    rules = CallbackRules()
    assert rules.enabled
    assert rules.first_attempt_within == 3600
    assert rules.attempts_per_day == 1
    assert rules.max_attempts == 3
    assert rules.dial.queue == "support"
    assert set(rules.email.subject) == set(rules.email.body) == {"en", "ru"}
    assert "requested" in rules.lost_calls and "after_hours" in rules.lost_calls


def test_an_empty_file_means_the_defaults() -> None:
    assert parse_callback_rules("# nothing set here\n") == CallbackRules()


def test_values_are_read_from_text() -> None:
    rules = parse_callback_rules(
        """
        calendar: support_24x7
        first_attempt_within: 45m
        first_attempt_after: 2m
        opening_spread: 10m
        min_gap: 1h30m
        max_attempts: 5
        lost_calls: [queue_abandon, requested]
        dial: {connect: client_first, max_concurrent: 4, calls_per_second: 0.5}
        email:
          enabled: false
        smtp: {host: mail.example.com, starttls: yes, username: ivr, password_env: SMTP_PASS}
        """
    )
    assert rules.calendar == "support_24x7"
    assert (rules.first_attempt_within, rules.first_attempt_after) == (2700, 120)
    assert rules.min_gap == 5400
    assert rules.max_attempts == 5
    assert rules.lost_calls == ("queue_abandon", "requested")
    assert rules.dial.connect == "client_first"
    assert rules.dial.calls_per_second == 0.5
    assert not rules.email.enabled
    assert rules.smtp.starttls and rules.smtp.effective_port == 587


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "max_attempts: 0\n",
            "callbacks.yaml:1:15: max_attempts: must be greater than or equal to 1, got '0'",
            id="too-few-attempts",
        ),
        pytest.param(
            "enabled: true\nmax_atempts: 3\n",
            "callbacks.yaml:2:1: unknown key 'max_atempts' (did you mean 'max_attempts'?)",
            id="typo",
        ),
        pytest.param(
            "min_gap: soon\n",
            "callbacks.yaml:1:10: min_gap: a duration is seconds or text such as 90s, 15m,"
            " 4h, 1d; got 'soon'",
            id="bad-duration",
        ),
        pytest.param(
            "lost_calls: [queue_abandon, queue_abandonn]\n",
            "callbacks.yaml:1:13: lost_calls: unknown reason 'queue_abandonn';"
            " did you mean 'queue_abandon'?",
            id="unknown-reason",
        ),
        pytest.param(
            "first_attempt_within: 10m\nfirst_attempt_after: 20m\n",
            "callbacks.yaml:2:1: first_attempt_after: first_attempt_after (1200 s) must be"
            " shorter than first_attempt_within (600 s)",
            id="first-attempt-after-too-late",
        ),
        pytest.param(
            "dial:\n  connect: agent-first\n",
            "callbacks.yaml:2:12: dial.connect: must be 'client_first' or 'agent_first',"
            " got 'agent-first'",
            id="bad-connect",
        ),
        pytest.param(
            "dial:\n  channel: PJSIP/trunk-main\n",
            "callbacks.yaml:2:12: dial.channel: the channel names the number to call as"
            " {number} (E.164) or {digits} (without the +), e.g. PJSIP/{number}@trunk-main",
            id="channel-without-number",
        ),
        pytest.param(
            "email:\n  subject:\n    en: Hello {firstname}\n",
            "callbacks.yaml:3:9: email.subject.en: unknown placeholder {firstname};"
            " did you mean 'first_name'?",
            id="unknown-placeholder",
        ),
        pytest.param(
            "email:\n  subject:\n    ru: Звонок\n  body:\n    ru: Текст\n",
            "callbacks.yaml:3:5: email.subject: give an 'en' text: callers in other"
            " languages get it",
            id="no-english",
        ),
        pytest.param(
            "smtp:\n  ssl: true\n  starttls: true\n",
            "callbacks.yaml:2:3: smtp: ssl and starttls exclude each other: pick one",
            id="ssl-and-starttls",
        ),
        pytest.param(
            "smtp:\n  password: secret\n",
            "callbacks.yaml:2:3: smtp: a password needs a username",
            id="password-without-user",
        ),
    ],
)
def test_problems_have_file_line_and_plain_words(text: str, expected: str) -> None:
    assert expected in problems(text)


def test_every_problem_is_reported_at_once() -> None:
    found = problems("max_attempts: 0\nattempts_per_day: many\nsmtp: {port: 0}\n")
    assert [line.split(": ", 1)[0] for line in found] == [
        "callbacks.yaml:1:15",
        "callbacks.yaml:2:19",
        "callbacks.yaml:3:14",
    ]


def test_an_unknown_calendar_is_found_against_the_hours_file(office_hours: HoursConfig) -> None:
    assert problems("calendar: ofice\n", office_hours) == [
        "callbacks.yaml:1:11: calendar: unknown calendar 'ofice' (config/hours.yaml)"
        " (did you mean 'office'?)"
    ]


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match=r"callbacks\.yaml: cannot read the file"):
        load_callback_rules(tmp_path / "callbacks.yaml", display="callbacks.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), ("90s", 90), ("15m", 900), ("4h", 14400), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_caller_id_falls_back_to_the_centre_number() -> None:
    assert CallbackRules(centre_number="+74951234567").caller_id == "+74951234567"
    rules = parse_callback_rules("centre_number: '+74951234567'\ndial: {caller_id: '100'}\n")
    assert rules.caller_id == "100"


def test_templates_with_stray_braces_are_refused() -> None:
    assert problems("email:\n  body:\n    en: 'Call {centre_number'\n") == [
        "callbacks.yaml:3:9: email.body.en: a brace is not closed;"
        " write {{ and }} for literal braces"
    ]
    assert (
        "email.body.en: placeholders are plain names"
        in problems("email:\n  body:\n    en: 'Call {centre_number!r}'\n")[0]
    )
    assert "unknown placeholder {0}" in problems("email:\n  body:\n    en: 'Call {0}'\n")[0]
