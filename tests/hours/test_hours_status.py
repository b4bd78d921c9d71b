"""Open, closed or holiday at a moment, and when that changes: the demo file and more."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fastagi.hours import HoursConfig, UnknownCalendar, load_hours, parse_hours

REPO = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def demo() -> HoursConfig:
    return load_hours(REPO / "config" / "hours.yaml")


def hours(text: str) -> HoursConfig:
    return parse_hours(textwrap.dedent(text).lstrip("\n"))


def msk(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=MOSCOW)


# (moment in Moscow, state, holiday name)
DEMO_OFFICE = [
    pytest.param(msk(2026, 3, 2, 8, 59, 59), "closed", None, id="monday-before-opening"),
    pytest.param(msk(2026, 3, 2, 9, 0), "open", None, id="monday-at-opening"),
    pytest.param(msk(2026, 3, 2, 17, 59, 59), "open", None, id="monday-last-second"),
    pytest.param(msk(2026, 3, 2, 18, 0), "closed", None, id="monday-at-closing"),
    pytest.param(msk(2026, 3, 6, 12, 0), "open", None, id="friday-noon"),
    pytest.param(msk(2026, 2, 28, 9, 59), "closed", None, id="saturday-before-opening"),
    pytest.param(msk(2026, 2, 28, 10, 0), "open", None, id="saturday-at-opening"),
    pytest.param(msk(2026, 2, 28, 14, 0), "closed", None, id="saturday-at-closing"),
    pytest.param(msk(2026, 3, 1, 12, 0), "closed", None, id="sunday"),
    pytest.param(msk(2026, 1, 1, 0, 0), "holiday", "New Year holidays", id="new-year-midnight"),
    pytest.param(msk(2026, 1, 5, 12, 0), "holiday", "New Year holidays", id="new-year-monday"),
    pytest.param(msk(2026, 1, 7, 12, 0), "holiday", "Christmas", id="christmas-named"),
    pytest.param(msk(2026, 1, 8, 23, 59), "holiday", "New Year holidays", id="last-holiday-eve"),
    pytest.param(msk(2026, 1, 9, 0, 0), "closed", None, id="after-holidays-night"),
    pytest.param(msk(2026, 1, 9, 9, 0), "open", None, id="first-working-day"),
    pytest.param(msk(2027, 2, 23, 12, 0), "holiday", "Defender of the Fatherland Day", id="feb-23"),
    pytest.param(msk(2026, 3, 8, 12, 0), "holiday", "International Women's Day", id="mar-8"),
    pytest.param(msk(2026, 5, 9, 12, 0), "holiday", "Victory Day", id="holiday-on-saturday"),
    pytest.param(msk(2027, 6, 12, 12, 0), "holiday", "Russia Day", id="jun-12-2027"),
    pytest.param(msk(2026, 11, 4, 9, 30), "holiday", "Unity Day", id="nov-4"),
    pytest.param(msk(2026, 11, 3, 16, 59), "open", None, id="short-day-open"),
    pytest.param(msk(2026, 11, 3, 17, 0), "closed", None, id="short-day-closes-early"),
    pytest.param(msk(2027, 12, 31, 17, 0), "closed", None, id="new-years-eve-2027"),
    pytest.param(msk(2028, 1, 3, 12, 0), "holiday", "New Year holidays", id="yearly-in-2028"),
]


@pytest.mark.parametrize(("at", "state", "holiday"), DEMO_OFFICE)
def test_demo_office(demo: HoursConfig, at: datetime, state: str, holiday: str | None) -> None:
    status = demo.status("office", at)
    assert (status.state, status.holiday) == (state, holiday)
    assert status.is_open is (state == "open")


def test_default_calendar_is_office(demo: HoursConfig) -> None:
    assert demo.default == "office"
    assert demo.status(None, msk(2026, 3, 2, 10, 0)).calendar == "office"
    assert demo.calendar_names == ("office", "support_24x7")


def test_support_is_always_open(demo: HoursConfig) -> None:
    for at in (msk(2026, 1, 1, 0, 0), msk(2026, 3, 1, 3, 0), msk(2027, 5, 9, 23, 59)):
        status = demo.status("support_24x7", at)
        assert status.state == "open"
        assert status.next_change is None and status.next_state is None


def test_moments_in_other_zones_are_converted(demo: HoursConfig) -> None:
    at = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    status = demo.status("office", at)
    assert status.state == "open"
    assert status.at == at and status.at.tzinfo == MOSCOW
    assert demo.status("office", at - timedelta(microseconds=1)).state == "closed"


def test_special_day_name_is_given(demo: HoursConfig) -> None:
    status = demo.status("office", msk(2026, 4, 30, 12, 0))
    assert status.special_day == "Short day before Spring and Labour Day"
    assert status.next_change == msk(2026, 4, 30, 17, 0)
    assert demo.status("office", msk(2026, 4, 29, 12, 0)).special_day is None


# (moment, next change, state after it)
NEXT_CHANGES = [
    pytest.param(msk(2026, 3, 2, 8, 0), msk(2026, 3, 2, 9, 0), "open", id="opens-at-nine"),
    pytest.param(msk(2026, 3, 2, 9, 0), msk(2026, 3, 2, 18, 0), "closed", id="closes-at-six"),
    pytest.param(msk(2026, 3, 6, 18, 0), msk(2026, 3, 7, 10, 0), "open", id="friday-to-saturday"),
    pytest.param(msk(2026, 2, 28, 14, 0), msk(2026, 3, 2, 9, 0), "open", id="over-the-weekend"),
    pytest.param(msk(2025, 12, 31, 20, 0), msk(2026, 1, 1, 0, 0), "holiday", id="into-holidays"),
    pytest.param(msk(2026, 1, 1, 0, 0), msk(2026, 1, 9, 0, 0), "closed", id="holidays-run"),
    pytest.param(msk(2026, 2, 20, 18, 0), msk(2026, 2, 21, 10, 0), "open", id="sat-before-feb-23"),
    pytest.param(msk(2026, 2, 22, 12, 0), msk(2026, 2, 23, 0, 0), "holiday", id="sun-to-holiday"),
    pytest.param(msk(2026, 2, 23, 12, 0), msk(2026, 2, 24, 0, 0), "closed", id="holiday-ends"),
    pytest.param(msk(2026, 11, 3, 9, 0), msk(2026, 11, 3, 17, 0), "closed", id="short-day"),
]


@pytest.mark.parametrize(("at", "change", "after"), NEXT_CHANGES)
def test_next_change(demo: HoursConfig, at: datetime, change: datetime, after: str) -> None:
    status = demo.status("office", at)
    assert (status.next_change, status.next_state) == (change, after)
    assert status.next_change is not None and status.next_change.tzinfo == MOSCOW


def test_next_open_skips_holidays(demo: HoursConfig) -> None:
    assert demo.next_open("office", msk(2025, 12, 31, 20, 0)) == msk(2026, 1, 9, 9, 0)
    assert demo.next_open("office", msk(2026, 3, 2, 10, 0)) == msk(2026, 3, 2, 10, 0)
    assert demo.next_open(None, msk(2026, 2, 20, 19, 0)) == msk(2026, 2, 21, 10, 0)


def test_naive_moments_are_refused(demo: HoursConfig) -> None:
    with pytest.raises(ValueError, match="aware"):
        demo.status("office", datetime(2026, 3, 2, 9, 0))


def test_unknown_calendar(demo: HoursConfig) -> None:
    with pytest.raises(UnknownCalendar, match="did you mean 'office'"):
        demo.status("ofice", msk(2026, 3, 2, 9, 0))


def test_lunch_break_and_adjacent_intervals() -> None:
    config = hours(
        """
        default: desk
        calendars:
          desk:
            timezone: UTC
            week:
              mon: [09:00-13:00, 14:00-18:00]
              tue: [13:00-18:00, 09:00-13:00]   # touching: one stretch, in any order
        """
    )
    utc = UTC
    assert config.status("desk", datetime(2026, 3, 2, 13, 0, tzinfo=utc)).state == "closed"
    status = config.status("desk", datetime(2026, 3, 2, 12, 0, tzinfo=utc))
    assert status.next_change == datetime(2026, 3, 2, 13, 0, tzinfo=utc)
    status = config.status("desk", datetime(2026, 3, 3, 10, 0, tzinfo=utc))
    assert status.next_change == datetime(2026, 3, 3, 18, 0, tzinfo=utc)


NIGHT = """
default: night
calendars:
  night:
    timezone: Europe/Moscow
    week:
      fri: 22:00-06:00
      sat: 10:00-24:00
      sun: 00:00-02:00
    holidays:
      2026-03-14: Closed Saturday
"""


@pytest.mark.parametrize(
    ("at", "state"),
    [
        pytest.param(msk(2026, 3, 6, 21, 59), "closed", id="friday-before-night"),
        pytest.param(msk(2026, 3, 6, 22, 0), "open", id="night-starts"),
        pytest.param(msk(2026, 3, 7, 0, 0), "open", id="past-midnight"),
        pytest.param(msk(2026, 3, 7, 5, 59), "open", id="early-saturday"),
        pytest.param(msk(2026, 3, 7, 6, 0), "closed", id="night-ends"),
        pytest.param(msk(2026, 3, 7, 23, 59), "open", id="saturday-to-24"),
        pytest.param(msk(2026, 3, 8, 1, 59), "open", id="sunday-continues"),
        pytest.param(msk(2026, 3, 13, 23, 0), "open", id="night-before-holiday"),
        pytest.param(msk(2026, 3, 14, 0, 0), "holiday", id="holiday-cuts-the-night"),
        pytest.param(msk(2026, 3, 14, 5, 0), "holiday", id="holiday-morning"),
    ],
)
def test_overnight(at: datetime, state: str) -> None:
    assert hours(NIGHT).status("night", at).state == state


def test_overnight_changes_join_over_midnight() -> None:
    config = hours(NIGHT)
    status = config.status("night", msk(2026, 3, 7, 12, 0))
    assert (status.next_change, status.next_state) == (msk(2026, 3, 8, 2, 0), "closed")
    status = config.status("night", msk(2026, 3, 13, 23, 0))
    assert (status.next_change, status.next_state) == (msk(2026, 3, 14, 0, 0), "holiday")


PRECEDENCE = """
default: shop
calendars:
  shop:
    timezone: UTC
    week:
      mon-sun: 09:00-18:00
    holidays:
      01-01..01-08: New Year holidays
      06-12: Russia Day
      12-30..01-02: Wrapping range
      2026-08-03: Dated holiday
      02-29: Leap day
    special_days:
      2027-01-05: {hours: 10:00-16:00, name: Open in the holidays}
      2026-06-01..2026-08-31: {hours: 10:00-20:00, name: Summer hours}
      08-03: 08:00-09:00
      2026-03-10: [09:00-10:00]
      2026-03-11: closed
"""


@pytest.mark.parametrize(
    ("at", "state", "name"),
    [
        pytest.param(datetime(2027, 1, 5, 12), "open", None, id="dated-special-in-range"),
        pytest.param(datetime(2027, 1, 5, 9), "closed", None, id="special-day-hours"),
        pytest.param(datetime(2026, 6, 12, 12), "holiday", "Russia Day", id="short-beats-long"),
        pytest.param(datetime(2026, 7, 1, 19), "open", None, id="summer-hours"),
        pytest.param(datetime(2026, 8, 3, 12), "holiday", "Dated holiday", id="dated-beats-yearly"),
        pytest.param(datetime(2027, 8, 3, 8, 30), "open", None, id="yearly-special"),
        pytest.param(datetime(2026, 12, 31, 12), "holiday", "Wrapping range", id="wrap-december"),
        pytest.param(datetime(2027, 1, 2, 12), "holiday", "Wrapping range", id="wrap-shorter"),
        pytest.param(datetime(2027, 1, 3, 12), "holiday", "New Year holidays", id="range-after"),
        pytest.param(datetime(2028, 2, 29, 12), "holiday", "Leap day", id="leap-day"),
        pytest.param(datetime(2027, 3, 1, 12), "open", None, id="no-leap-day"),
        pytest.param(datetime(2026, 3, 10, 9, 30), "open", None, id="special-list"),
        pytest.param(datetime(2026, 3, 11, 12), "closed", None, id="special-closed-not-holiday"),
    ],
)
def test_most_specific_entry_wins(at: datetime, state: str, name: str | None) -> None:
    status = hours(PRECEDENCE).status("shop", at.replace(tzinfo=UTC))
    assert (status.state, status.holiday) == (state, name)


def test_leap_day_is_found_years_ahead() -> None:
    config = hours(
        """
        default: always
        calendars:
          always:
            timezone: UTC
            week: {mon-sun: 24h}
            holidays: {02-29: Leap day}
        """
    )
    status = config.status("always", datetime(2097, 3, 1, tzinfo=UTC))
    assert status.next_change == datetime(2104, 2, 29, tzinfo=UTC)


def test_never_open_calendar() -> None:
    config = hours(
        """
        default: shut
        calendars:
          shut:
            timezone: UTC
            holidays: {12-25: Christmas}
        """
    )
    at = datetime(2026, 12, 24, 12, tzinfo=UTC)
    status = config.status("shut", at)
    assert (status.state, status.next_state) == ("closed", "holiday")
    assert config.next_open("shut", at) is None
    assert config.status("shut", datetime(2026, 1, 1, tzinfo=UTC)).next_change == datetime(
        2026, 12, 25, tzinfo=UTC
    )


# -- daylight saving time (Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00)

DST = """
default: berlin
calendars:
  berlin:
    timezone: Europe/Berlin
    week:
      mon-fri: 09:00-18:00
      sat: 22:00-02:30
      sun: 02:30-04:00
    holidays:
      2026-10-26: Monday after the clocks go back
"""


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "state"),
    [
        pytest.param(utc(2026, 3, 27, 16, 59), "open", id="friday-winter-time"),
        pytest.param(utc(2026, 3, 27, 17, 0), "closed", id="friday-18-cet"),
        pytest.param(utc(2026, 3, 30, 6, 59), "closed", id="monday-before-9-cest"),
        pytest.param(utc(2026, 3, 30, 7, 0), "open", id="monday-9-cest"),
        pytest.param(utc(2026, 3, 28, 21, 0), "open", id="saturday-night-22-cet"),
        pytest.param(utc(2026, 3, 29, 0, 59), "open", id="before-the-jump"),
        pytest.param(utc(2026, 3, 29, 1, 0), "open", id="sunday-opens-in-the-gap"),
        pytest.param(utc(2026, 10, 24, 20, 0), "open", id="saturday-22-cest"),
        pytest.param(utc(2026, 10, 25, 0, 29), "open", id="first-0229"),
        pytest.param(utc(2026, 10, 25, 0, 30), "open", id="first-0230-sunday-starts"),
        pytest.param(utc(2026, 10, 25, 2, 59), "open", id="sunday-0359-cet"),
        pytest.param(utc(2026, 10, 25, 3, 0), "closed", id="sunday-0400-cet"),
        pytest.param(utc(2026, 10, 25, 22, 59), "closed", id="sunday-2359-cet"),
        pytest.param(utc(2026, 10, 25, 23, 0), "holiday", id="holiday-starts-0000-cet"),
    ],
)
def test_dst_states(at: datetime, state: str) -> None:
    assert hours(DST).status("berlin", at).state == state


def test_dst_closing_time_in_the_gap_is_the_jump() -> None:
    config = hours(
        """
        default: b
        calendars:
          b:
            timezone: Europe/Berlin
            week: {sat: 22:00-02:30}
        """
    )
    status = config.status("b", utc(2026, 3, 28, 22, 0))
    # 02:30 does not exist on 29 March: the night ends when clocks jump to 03:00.
    assert status.next_change == utc(2026, 3, 29, 1, 0)
    assert status.next_change is not None
    assert status.next_change.astimezone(BERLIN).hour == 3
    assert config.status("b", utc(2026, 3, 29, 0, 59, 59)).state == "open"
    assert config.status("b", utc(2026, 3, 29, 1, 0)).state == "closed"


def test_dst_time_that_happens_twice_counts_the_first_time() -> None:
    config = hours(
        """
        default: b
        calendars:
          b:
            timezone: Europe/Berlin
            week: {sat: 22:00-02:30}
        """
    )
    status = config.status("b", utc(2026, 10, 24, 22, 0))
    assert status.next_change is not None
    # 02:30 CEST, the first one (a time in the repeated hour never equals one in
    # another zone, PEP 495: compare in UTC)
    assert status.next_change.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert config.status("b", utc(2026, 10, 25, 1, 15)).state == "closed"  # 02:15 CET


def test_dst_holiday_lasts_the_whole_local_day() -> None:
    config = hours(
        """
        default: b
        calendars:
          b:
            timezone: Europe/Berlin
            holidays: {2026-10-25: Long day, 2026-03-29: Short day}
        """
    )
    long_day = config.status("b", utc(2026, 10, 25, 12, 0))
    assert long_day.next_change == utc(2026, 10, 25, 23, 0)  # 25 hours after 22:00 UTC
    short_day = config.status("b", utc(2026, 3, 29, 12, 0))
    assert short_day.next_change == utc(2026, 3, 29, 22, 0)  # 23 hours after 23:00 UTC
    assert config.status("b", utc(2026, 3, 28, 23, 0)).state == "holiday"
    assert config.status("b", utc(2026, 3, 28, 22, 59)).state == "closed"


def test_python_built_config_checks_across_keys() -> None:
    good = HoursConfig.model_validate(
        {"default": "a", "calendars": {"a": {"timezone": "UTC", "week": {"mon": "09:00-18:00"}}}}
    )
    assert good.status("a", utc(2026, 3, 2, 9, 0)).state == "open"
    with pytest.raises(ValueError, match="mon is given twice"):
        HoursConfig.model_validate(
            {
                "default": "a",
                "calendars": {
                    "a": {"timezone": "UTC", "week": {"mon-fri": "09:00-18:00", "mon": "closed"}}
                },
            }
        )
