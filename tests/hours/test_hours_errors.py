"""Every kind of bad hours file is refused with file:line:column and a plain message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastagi.hours import HoursConfig, load_hours
from fastagi.menus.problems import MenuError, Problem

GOOD_CALENDAR = """
default: office
calendars:
  office:
    timezone: Europe/Moscow
    week:
      mon-fri: 09:00-18:00
"""


def load(tmp_path: Path, text: str) -> HoursConfig:
    path = tmp_path / "hours.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_hours(path, display="hours.yaml")


def problems(tmp_path: Path, text: str) -> list[Problem]:
    with pytest.raises(MenuError) as caught:
        load(tmp_path, text)
    return list(caught.value.problems)


def week(*lines: str, zone: str = "UTC") -> str:
    body = "\n".join(f"      {line}" for line in lines)
    return f"default: a\ncalendars:\n  a:\n    timezone: {zone}\n    week:\n{body}\n"


def calendar(*lines: str) -> str:
    body = "\n".join(f"    {line}" for line in lines)
    return f"default: a\ncalendars:\n  a:\n    timezone: UTC\n{body}\n"


# (file text, line, column, the whole rendered problem after "hours.yaml:")
CASES = [
    pytest.param(
        "calendars: [\n",
        2,
        1,
        "2:1: YAML: while parsing a flow node expected the node content, but found"
        " '<stream end>' (check indentation, quoting and the ':' after each key around here)",
        id="yaml-syntax",
    ),
    pytest.param(
        "- office\n", 1, 1, "1:1: an hours file must be a mapping with", id="not-a-mapping"
    ),
    pytest.param("", 1, 1, "1:1: the file is empty", id="empty"),
    pytest.param("default: a\n", 1, 1, "1:1: missing required key 'calendars'", id="no-calendars"),
    pytest.param(
        GOOD_CALENDAR.replace("default: office\n", ""),
        1,
        1,
        "1:1: missing required key 'default'",
        id="no-default",
    ),
    pytest.param(
        GOOD_CALENDAR.replace("default: office", "default: ofice"),
        1,
        10,
        "1:10: default: unknown calendar 'ofice'; did you mean 'office'?",
        id="unknown-default",
    ),
    pytest.param(
        GOOD_CALENDAR + "calenders: {}\n",
        7,
        1,
        "7:1: unknown key 'calenders' (did you mean 'calendars'?)",
        id="unknown-top-key",
    ),
    pytest.param(
        GOOD_CALENDAR.replace("    week:", "    wek:"),
        5,
        5,
        "5:5: calendars.office: unknown key 'wek' (did you mean 'week'?)",
        id="unknown-calendar-key",
    ),
    pytest.param(
        GOOD_CALENDAR.replace("Europe/Moscow", "Europe/Moskow"),
        4,
        15,
        "4:15: calendars.office.timezone: unknown time zone 'Europe/Moskow';"
        " did you mean 'Europe/Moscow'?",
        id="unknown-time-zone",
    ),
    pytest.param(
        week("mon: 25:00-18:00"),
        6,
        12,
        "6:12: calendars.a.week.mon: '25:00-18:00': '25:00' is not a time of day:"
        " hours go from 00 to 23 (and 24:00)",
        id="hour-25",
    ),
    pytest.param(
        week("mon: 09:00-24:30"),
        6,
        12,
        "'24:30' is not a time of day",
        id="past-24",
    ),
    pytest.param(
        week("mon: 09:60-18:00"),
        6,
        12,
        "'09:60' is not a time of day: minutes go from 00 to 59",
        id="minute-60",
    ),
    pytest.param(
        week("mon: 9-18"),
        6,
        12,
        "'9-18': '9' is not a time of day: write it as HH:MM",
        id="no-minutes",
    ),
    pytest.param(
        week("mon: 09:00 to 18:00"),
        6,
        12,
        "'09:00 to 18:00' is not an interval: write start and end as HH:MM-HH:MM",
        id="not-an-interval",
    ),
    pytest.param(
        week("mon: 09:00-09:00"),
        6,
        12,
        "'09:00-09:00' starts and ends at the same time",
        id="empty-interval",
    ),
    pytest.param(
        week("mon: 24:00-06:00"),
        6,
        12,
        "24:00 can only end an interval",
        id="starts-at-24",
    ),
    pytest.param(
        week("mon: 18:00-00:00"),
        6,
        12,
        "an interval that ends at midnight ends at 24:00",
        id="ends-at-00",
    ),
    pytest.param(
        week("mon: [09:00-13:00, 12:00-18:00]"),
        6,
        12,
        "6:12: calendars.a.week.mon: 09:00-13:00 and 12:00-18:00 overlap; join them or move one",
        id="overlap",
    ),
    pytest.param(
        week("mon: [22:00-06:00, 23:00-01:00]"),
        6,
        12,
        "22:00-06:00 and 23:00-01:00 overlap",
        id="overlap-overnight",
    ),
    pytest.param(
        week("mon:", "  - 09:00-13:00", "  - 13:30-1800"),
        8,
        11,
        "8:11: calendars.a.week.mon[1]: '13:30-1800': '1800' is not a time of day",
        id="block-list-item",
    ),
    pytest.param(
        week("mon: 42"),
        6,
        12,
        "'42' is not an interval",
        id="number",
    ),
    pytest.param(
        week("mon: {start: 9}"),
        6,
        12,
        "6:12: calendars.a.week.mon: opening hours are an interval such as 09:00-18:00",
        id="mapping",
    ),
    pytest.param(
        week("tues: 09:00-18:00"),
        6,
        7,
        "6:7: calendars.a.week.tues: unknown day 'tues'; did you mean 'tue'?",
        id="unknown-day",
    ),
    pytest.param(
        week("mon-fri-sat: 09:00-18:00"),
        6,
        7,
        "is not a day or a range of days such as mon-fri",
        id="bad-day-range",
    ),
    pytest.param(
        week("mon-fri: 09:00-18:00", "sat: 10:00-14:00", "Monday: closed"),
        8,
        7,
        "8:7: calendars.a.week.Monday: mon is given twice: in 'mon-fri' and 'Monday'"
        " (mon-fri is on line 6)",
        id="day-twice",
    ),
    pytest.param(
        week("fri: 22:00-06:00", "sat: 05:00-12:00"),
        6,
        7,
        "6:7: calendars.a.week.fri: fri 22:00-06:00 runs past midnight into sat 05:00-12:00"
        " (sat is on line 7)",
        id="night-into-next-day",
    ),
    pytest.param(
        week("sun: 23:00-01:00", "mon: 00:30-02:00"),
        6,
        7,
        "sun 23:00-01:00 runs past midnight into mon 00:30-02:00",
        id="night-over-the-week-end",
    ),
    pytest.param(
        calendar("holidays:", "  2026-02-30: Nope"),
        6,
        7,
        "6:7: calendars.a.holidays.2026-02-30: '2026-02-30' is not a date (YYYY-MM-DD)",
        id="bad-date",
    ),
    pytest.param(
        calendar("holidays:", "  23-02: Nope"),
        6,
        7,
        "'23-02' is not a date: a yearly date is MM-DD, month first",
        id="day-first",
    ),
    pytest.param(
        calendar("holidays:", "  23.02: Nope"),
        6,
        7,
        "'23.02' is not a date: write YYYY-MM-DD for one day, MM-DD for every year",
        id="dotted-date",
    ),
    pytest.param(
        calendar("holidays:", "  01-01..2026-01-08: Nope"),
        6,
        7,
        "mixes a yearly date and a full date",
        id="mixed-range",
    ),
    pytest.param(
        calendar("holidays:", "  2026-01-08..2026-01-01: Nope"),
        6,
        7,
        "'2026-01-08..2026-01-01' ends before it starts",
        id="reversed-range",
    ),
    pytest.param(
        calendar("holidays:", "  01-01..01-03..01-05: Nope"),
        6,
        7,
        "a range has one '..' between its first and last day",
        id="two-dots-twice",
    ),
    pytest.param(
        calendar("holidays: [2026-01-01]"),
        5,
        15,
        "5:15: calendars.a.holidays: holidays is a mapping of date: name",
        id="holidays-list",
    ),
    pytest.param(
        calendar("holidays:", "  01-07: [Christmas]"),
        6,
        14,
        "a holiday's name must be text",
        id="holiday-name-list",
    ),
    pytest.param(
        calendar("special_days:", "  2026-12-30: 09:00-25:00"),
        6,
        19,
        "6:19: calendars.a.special_days.2026-12-30: '09:00-25:00': '25:00' is not a time of day",
        id="special-day-bare",
    ),
    pytest.param(
        calendar("special_days:", "  2026-12-30: [09:00-10:00, 10:00-11:00, 1100-1200]"),
        6,
        46,
        "6:46: calendars.a.special_days.2026-12-30[2]: '1100-1200': '1100' is not a time",
        id="special-day-list-item",
    ),
    pytest.param(
        calendar("special_days:", "  2026-12-30: {hours: [09:00-17:00, 08:00-10:00]}"),
        6,
        27,
        "6:27: calendars.a.special_days.2026-12-30.hours: 08:00-10:00 and 09:00-17:00 overlap",
        id="special-day-overlap",
    ),
    pytest.param(
        calendar("special_days:", "  2026-12-30: {hours: 09:00-17:00, nmae: Short}"),
        6,
        40,
        "6:40: calendars.a.special_days.2026-12-30: unknown key 'nmae' (did you mean 'name'?)",
        id="special-day-unknown-key",
    ),
    pytest.param(
        calendar("special_days:", "  2026-12-30: {name: Short}"),
        6,
        7,
        "6:7: calendars.a.special_days.2026-12-30: missing required key 'hours'",
        id="special-day-no-hours",
    ),
    pytest.param(
        calendar("week: {mon: 09:00-18:00}", "week: {tue: 09:00-18:00}"),
        6,
        5,
        "6:5: calendars.a.week: duplicate key 'week' (first given on line 5;",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), CASES)
def test_bad_file(tmp_path: Path, text: str, line: int, column: int, message: str) -> None:
    found = problems(tmp_path, text)
    assert len(found) == 1, [str(p) for p in found]
    problem = found[0]
    assert (problem.file, problem.line, problem.column) == ("hours.yaml", line, column)
    assert message in str(problem)
    assert str(problem).startswith("hours.yaml:")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
    default: ofice
    calendars:
      office:
        timzone: Europe/Moscow
        week:
          mon-fri: 09:00-18:00
          mon: closed
          sat: 25:00-14:00
      night:
        timezone: Europe/Moskow
        week:
          fri: 22:00-06:00
          sat: 05:00-12:00
        holidays:
          2026-02-30: Nope
    """
    found = [(p.line, p.message.split(";")[0].split(":")[0]) for p in problems(tmp_path, text)]
    assert [line for line, _ in found] == [1, 3, 4, 7, 8, 10, 12, 15]
    rendered = "\n".join(str(p) for p in problems(tmp_path, text))
    for expected in (
        "hours.yaml:1:10: default: unknown calendar 'ofice'",
        "hours.yaml:3:3: calendars.office: missing required key 'timezone'",
        "hours.yaml:4:5: calendars.office: unknown key 'timzone' (did you mean 'timezone'?)",
        "hours.yaml:7:7: calendars.office.week.mon: mon is given twice",
        "hours.yaml:8:12: calendars.office.week.sat: '25:00-14:00'",
        "hours.yaml:10:15: calendars.night.timezone: unknown time zone 'Europe/Moskow'",
        "hours.yaml:12:7: calendars.night.week.fri: fri 22:00-06:00 runs past midnight",
        "hours.yaml:15:7: calendars.night.holidays.2026-02-30: '2026-02-30' is not a date",
    ):
        assert expected in rendered


def test_bad_calendar_name_and_the_default_naming_it(tmp_path: Path) -> None:
    text = GOOD_CALENDAR.replace("office", "Office")
    assert [str(p) for p in problems(tmp_path, text)] == [
        "hours.yaml:1:10: default: calendar name 'Office' may use only lowercase letters,"
        " digits, '_' and '-' (at most 64)",
        "hours.yaml:3:3: calendars.Office: calendar name 'Office' may use only lowercase"
        " letters, digits, '_' and '-' (at most 64)",
    ]


def test_no_calendars(tmp_path: Path) -> None:
    assert [str(p) for p in problems(tmp_path, "default: a\ncalendars: {}\n")] == [
        "hours.yaml:1:10: default: unknown calendar 'a'; no calendars are defined",
        "hours.yaml:2:12: calendars: no calendars: define at least one,"
        " e.g. office: {timezone: UTC, week: ...}",
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match="cannot read the file"):
        load_hours(tmp_path / "missing.yaml")


def test_good_variants_load(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        default: a
        calendars:
          a:
            timezone: UTC
            week:
              Monday: [09:00-13:00, 14:00-18:00]
              tue-thu: 9:00-18:00
              fri: 24h
              sat: closed
              sun:
            holidays:
              01-07:
              2026-12-31..2027-01-02: Range
              12-30..01-02: Wraps
            special_days:
              06-01..08-31: {hours: 10:00-16:00}
        """,
    )
    calendar = config.calendar("a")
    assert calendar.weekly_hours(0) == ((540, 780), (840, 1080))
    assert calendar.weekly_hours(4) == ((0, 1440),)
    assert calendar.weekly_hours(5) == calendar.weekly_hours(6) == ()
    assert calendar.holidays["01-07"] is None


def test_demo_file_loads() -> None:
    repo = Path(__file__).resolve().parents[2]
    config = load_hours(repo / "config" / "hours.yaml")
    assert config.calendar_names == ("office", "support_24x7")


def test_day_ranges_and_date_spans() -> None:
    from datetime import date

    from fastagi.hours import parse_day_span, parse_weekdays

    assert parse_weekdays("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_weekdays("fri-mon") == (4, 5, 6, 0)
    assert parse_weekdays("Sunday") == (6,)
    wrap = parse_day_span("12-30..01-02")
    assert wrap.yearly and wrap.days == 4
    assert wrap.covers(date(2027, 1, 1)) and not wrap.covers(date(2027, 1, 3))
    assert parse_day_span("2026-12-31..2027-01-02").days == 3
    leap = parse_day_span("02-29")
    assert leap.covers(date(2028, 2, 29)) and leap.touches_february_29
