"""Campaign files: rows checked, bad ones reported by line, duplicates, warnings. No Redis."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fastagi.callers.importer import RowError
from fastagi.campaigns.model import NewEntry, campaign_name_from_file, check_campaign_name
from fastagi.campaigns.parse import (
    CampaignFileError,
    ParsedCampaign,
    References,
    check_voice,
    parse_campaign,
    read_campaign,
)

REPO = Path(__file__).resolve().parents[2]


def parse(text: str, **kwargs: Any) -> ParsedCampaign:
    return parse_campaign(text.splitlines(keepends=True), **kwargs)


def lines_of(rows: list[RowError]) -> list[int]:
    return [row.line for row in rows]


def test_bad_rows_are_reported_with_their_line_and_the_rest_kept() -> None:
    parsed = parse_campaign(
        [
            "number,priority,event_date,voice,menu,first_name\n",
            "8 916 123-45-67,5,,ivr/reminder,main,Ivan\n",
            "not a number,1,,,,Bad\n",
            "+7 916 765 43 21,high,,,,Maria\n",
            "+7 916 765 43 22,0,2026-02-30,,,Petr\n",
            "+7 916 765 43 23,0,,../../etc/passwd,,Oleg\n",
            "+7 916 765 43 24,0,,ivr/reminder.wav,,Olga\n",
            "+7 916 765 43 25,0,,,Main Menu,Anna\n",
            "+7 916 765 43 26,0,,,\n",
            '+7 916 765 43 27,0,,,,"Two\n',
            'lines"\n',
            "+7 916 765 43 28,x,,,,After\n",
            '+7 916 765 43 29,0,,,,"never closed\n',
        ]
    )
    assert [e.number for e in parsed.entries] == ["+79161234567"]
    entry = parsed.entries[0]
    assert (entry.line, entry.priority, entry.voice, entry.menu) == (2, 5, "ivr/reminder", "main")
    assert entry.fields == {"first_name": "Ivan"}
    reasons = {row.line: row.message for row in parsed.skipped}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13]
    assert reasons[3].startswith("number: not a phone number")
    assert reasons[4].startswith("priority: 'high'")
    assert reasons[5].startswith("event_date: '2026-02-30'")
    assert "without '..'" in reasons[6]
    assert "leave out the file extension" in reasons[7]
    assert reasons[8].startswith("menu: menu name 'Main Menu'")
    assert reasons[9] == "expected 6 columns, found 5"
    # A field goes to the menu as a variable: no line breaks. The row after it
    # keeps its own line number.
    assert reasons[10] == "first_name: contains a line break or another control character"
    assert reasons[12].startswith("priority: 'x'")
    assert reasons[13] == "broken CSV: unexpected end of data"


def test_defaults_and_other_columns_become_fields_in_file_order() -> None:
    parsed = parse("Number;Event Date;Ticket-Id;note\n+79161234567;2026-12-03;T-1;'=1+1\n")
    (entry,) = parsed.entries
    assert entry.priority == 0 and entry.voice is None and entry.menu is None
    assert entry.event_date == date(2026, 12, 3)
    assert list(entry.fields.items()) == [("ticket_id", "T-1"), ("note", "=1+1")]


def test_a_number_repeated_is_reported_and_the_first_row_wins() -> None:
    parsed = parse(
        "number,priority,event_date\n"
        "+79161234567,1,\n"
        "8 916 123-45-67,9,\n"
        "+79161234567,1,2026-12-03\n"
        "+79161234567,1,2026-12-10\n"
        "89161234567,1,2026-12-10\n"
    )
    assert [(e.line, e.priority) for e in parsed.entries] == [(2, 1), (4, 1), (5, 1)]
    assert [(d.line, d.message) for d in parsed.duplicates] == [
        (3, "+79161234567: same number as line 2; skipped"),
        (6, "+79161234567: same number and event date 2026-12-10 as line 5; skipped"),
    ]
    assert not parsed.skipped


def test_priority_bounds() -> None:
    parsed = parse("number,priority\n+79161234561,999\n+79161234562,-999\n+79161234563,1000\n")
    assert [e.priority for e in parsed.entries] == [999, -999]
    assert lines_of(parsed.skipped) == [4]
    with pytest.raises(ValueError):
        NewEntry(2, "+79161234567", priority=1000)


def test_warnings_for_past_events_unknown_menus_and_prompts() -> None:
    refs = References(menus={"main"}, catalogue_folder="ivr", prompts={"ivr/goodbye"})
    parsed = parse(
        "number,event_date,voice,menu\n"
        "+79161234561,2026-11-20,ivr/goodbye,main\n"
        "+79161234562,,ivr/nonesuch,main\n"
        "+79161234563,,custom/promo,confirm\n"
        "+79161234564,2026-11-25,,\n",
        today=date(2026, 11, 27),
        references=refs,
    )
    assert len(parsed.entries) == 4
    warnings = [(w.line, w.message) for w in parsed.warnings]
    assert warnings == [
        (
            2,
            "event 2026-11-20: its calling window closed on 2026-11-22;"
            " the entry will expire without a call",
        ),
        (3, "voice 'ivr/nonesuch' is not in the prompt catalogue"),
        (4, "menu 'confirm' does not exist (yet); the call will fail to run it"),
        (5, "event 2026-11-25: no voice; the call plays only the menu"),
    ]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("phone,priority\n", "no 'number' column"),
        ("number,note,note\n", "column 'note' appears twice"),
        ("number,,note\n", "column 2 has no name"),
        ("number,Ticket#\n", "column 'ticket#'"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(header: str, error: str) -> None:
    with pytest.raises(CampaignFileError, match=error) as info:
        parse(header + "+79161234567\n", file="calls.csv")
    assert str(info.value).startswith("calls.csv:1: ")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(CampaignFileError, match=r"calls\.csv:1: the first line is empty"):
        parse("", file="calls.csv")
    with pytest.raises(CampaignFileError, match=r"calls\.csv:1: the first line is empty"):
        parse("\n+79161234567\n", file="calls.csv")


def test_read_campaign_wants_csv_and_reads_bytes_safely(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"a \.csv file"):
        read_campaign(tmp_path / "calls.xlsx")
    path = tmp_path / "calls.csv"
    path.write_bytes(b"\xef\xbb\xbfnumber,name\n+79161234567,\xff\xfe\n+79161234568,Ok\n")
    parsed = read_campaign(path)
    assert [e.number for e in parsed.entries] == ["+79161234568"]
    assert [(r.line, r.message) for r in parsed.skipped] == [(2, "not valid UTF-8 text")]


@pytest.mark.parametrize(
    "voice", ["ivr/reminder", "custom/spring_promo-2026", "hello-world", "a/b/c/d"]
)
def test_voices_that_name_a_sound(voice: str) -> None:
    assert check_voice(voice) == voice


@pytest.mark.parametrize(
    "voice", ["/etc/passwd", "../secret", "ivr/../x", "a\\b", "ivr/", "x y", "ivr/a.wav", "x" * 201]
)
def test_voices_refused(voice: str) -> None:
    with pytest.raises(ValueError):
        check_voice(voice)


def test_campaign_names() -> None:
    assert campaign_name_from_file("files/Spring Promo 2026.csv") == "spring-promo-2026"
    assert campaign_name_from_file("ivr_menus/campaign-demo.csv") == "campaign-demo"
    with pytest.raises(ValueError):
        campaign_name_from_file("___.csv")
    for bad in ("", "Upper", "-dash", "a:b", "a*", "x" * 65):
        with pytest.raises(ValueError):
            check_campaign_name(bad)


def test_the_demo_file_has_one_bad_row_and_two_events() -> None:
    parsed = read_campaign(REPO / "ivr_menus" / "campaign-demo.csv")
    assert len(parsed.entries) == 8
    assert lines_of(parsed.skipped) == [9]
    assert sum(1 for e in parsed.entries if e.event_date) == 2
    assert {e.priority for e in parsed.entries} == {10, 5, 0, -1}
