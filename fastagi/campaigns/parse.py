"""Campaign files: CSV rows checked and turned into entries. Pure: no Redis.

Columns (a header row is required; names are case-insensitive, spaces and
`-` read as `_`; `,`, `;` or tab separated; UTF-8 with or without a BOM):

    number      required; any written form, normalised to E.164
    priority    optional integer -999..999, default 0; higher is called first
    event_date  optional YYYY-MM-DD: call only from 2 days before to 2 after
    voice       optional sound to play: `ivr/reminder` (a catalogue prompt)
                or a sound file name relative to the sounds directory,
                without an extension
    menu        optional IVR menu to run after the voice
    <other>     fields passed to the menu as variables (`[a-z0-9_]{1,40}`)

A bad row is reported with its line and skipped; the others are kept. A row
with the same number (and the same event date) as an earlier row is a
duplicate: the first one wins, the later one is reported and skipped.
Problems with the file as a whole raise `CampaignFileError`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from pathlib import Path

from fastagi.callers.fields import InvalidField, clean_text
from fastagi.callers.importer import RowError, restore_formula
from fastagi.callers.phone import InvalidNumber, normalize
from fastagi.campaigns.model import MAX_PRIORITY, MIN_PRIORITY, NewEntry
from fastagi.campaigns.schedule import event_window
from fastagi.menus.target import check_menu_name

__all__ = [
    "COLUMNS",
    "CampaignFileError",
    "ParsedCampaign",
    "References",
    "check_voice",
    "parse_campaign",
    "read_campaign",
]

#: Columns with a meaning; any other column is a field for the menu.
COLUMNS = ("number", "priority", "event_date", "voice", "menu")

_FIELD_NAME = re.compile(r"[a-z0-9_]{1,40}")
_PRIORITY = re.compile(r"[+-]?[0-9]{1,4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VOICE_PART = r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}"
_VOICE = re.compile(rf"{_VOICE_PART}(/{_VOICE_PART}){{0,7}}")
_VOICE_MAX = 200
_SURROGATE = re.compile(r"[\udc80-\udcff]")


class CampaignFileError(ValueError):
    """The file as a whole cannot be loaded (the message starts with `file:line:`)."""


@dataclass(frozen=True)
class References:
    """What the file's `menu` and `voice` cells may name, to warn about unknown ones.

    `menus`: the menus the IVR has (None: not checked). `catalogue_folder`
    and `prompts`: a voice under the catalogue's folder (`ivr/...`) should
    be one of `prompts` (sound names such as `ivr/goodbye`); None: not checked.
    """

    menus: Collection[str] | None = None
    catalogue_folder: str | None = None
    prompts: Collection[str] = ()


@dataclass
class ParsedCampaign:
    """A file read: the good rows, the bad ones, duplicates and warnings."""

    entries: list[NewEntry] = field(default_factory=list)
    #: Bad rows, skipped: line and reason.
    skipped: list[RowError] = field(default_factory=list)
    #: Rows repeating an earlier row's number (and event date), skipped.
    duplicates: list[RowError] = field(default_factory=list)
    #: Rows loaded all the same, with something the admin should know.
    warnings: list[RowError] = field(default_factory=list)


def check_voice(value: str) -> str:
    """Return `value` if it names a sound safely; else raise ValueError saying why.

    A sound is named relative to the sounds directory, as Asterisk's Playback
    takes it: folders separated by `/`, no extension, no `..`, no leading `/`.
    """
    shown = repr(value[:60] + ("..." if len(value) > 60 else ""))
    if len(value) > _VOICE_MAX:
        raise ValueError(f"voice {shown} is longer than {_VOICE_MAX} characters")
    if _VOICE.fullmatch(value):
        return value
    if value.startswith("/") or ".." in value or "\\" in value:
        raise ValueError(
            f"voice {shown}: name the sound relative to the sounds directory,"
            " without '..', '\\' or a leading '/'"
        )
    if "." in value.rsplit("/", 1)[-1]:
        raise ValueError(f"voice {shown}: leave out the file extension (Asterisk picks the format)")
    raise ValueError(
        f"voice {shown} may use only letters, digits, '_', '-' and '/' between folders,"
        " e.g. ivr/reminder"
    )


def _column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _check_header(file: str, header: list[str]) -> None:
    if "number" not in header:
        shown = ", ".join(name or "(empty)" for name in header)
        raise CampaignFileError(f"{file}:1: no 'number' column (columns: {shown})")
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            raise CampaignFileError(f"{file}:1: column {index} has no name")
        if name in seen:
            raise CampaignFileError(f"{file}:1: column {name!r} appears twice")
        seen.add(name)
        if name not in COLUMNS and not _FIELD_NAME.fullmatch(name):
            raise CampaignFileError(
                f"{file}:1: column {name[:40]!r}: a field name may use only lowercase"
                " letters, digits and '_' (max 40)"
            )


def _priority(text: str) -> int:
    if not text:
        return 0
    if not _PRIORITY.fullmatch(text) or not MIN_PRIORITY <= int(text) <= MAX_PRIORITY:
        raise ValueError(
            f"priority: {text[:20]!r} is not a whole number from {MIN_PRIORITY} to {MAX_PRIORITY}"
        )
    return int(text)


def _event_date(text: str) -> date | None:
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"event_date: {text[:20]!r} is not a date written YYYY-MM-DD") from None


def _entry(line: int, cells: dict[str, str], region: str) -> NewEntry:
    """One row's cells (column -> stripped text) as an entry; ValueError says what is wrong."""
    number = cells.pop("number", "")
    if not number:
        raise ValueError("number: missing")
    try:
        e164 = normalize(number, region)
    except InvalidNumber as exc:
        raise ValueError(f"number: {exc}") from None
    priority = _priority(cells.pop("priority", ""))
    event_date = _event_date(cells.pop("event_date", ""))
    voice = cells.pop("voice", "") or None
    if voice is not None:
        check_voice(voice)
    menu = cells.pop("menu", "") or None
    if menu is not None:
        try:
            check_menu_name(menu)
        except ValueError as exc:
            raise ValueError(f"menu: {exc}") from None
    fields = {}
    for name, value in cells.items():
        if value:
            try:
                fields[name] = clean_text(name, value)
            except InvalidField as exc:
                raise ValueError(str(exc)) from None
    return NewEntry(line, e164, priority, event_date, voice, menu, fields)


def _warnings(entry: NewEntry, today: date | None, refs: References | None) -> Iterator[str]:
    if entry.event_date is not None:
        if entry.voice is None:
            yield f"event {entry.event_date}: no voice; the call plays only the menu"
        last = event_window(entry.event_date)[1]
        if today is not None and last < today:
            yield (
                f"event {entry.event_date}: its calling window closed on {last};"
                " the entry will expire without a call"
            )
    if refs is None:
        return
    if entry.menu is not None and refs.menus is not None and entry.menu not in refs.menus:
        yield f"menu {entry.menu!r} does not exist (yet); the call will fail to run it"
    folder = refs.catalogue_folder
    if (
        entry.voice is not None
        and folder is not None
        and entry.voice.startswith(folder + "/")
        and entry.voice not in refs.prompts
    ):
        yield f"voice {entry.voice!r} is not in the prompt catalogue"


def parse_campaign(
    lines: Iterable[str],
    *,
    region: str = "RU",
    file: str = "<campaign>",
    today: date | None = None,
    references: References | None = None,
) -> ParsedCampaign:
    """Check every row of a campaign CSV given as text lines (line ends kept).

    `region` reads national numbers; `file` names the file in errors;
    `today` (the centre's date), when given, warns about events whose window
    has closed; `references` warns about unknown menus and prompts. Raises
    `CampaignFileError` for a file with no usable header.
    """
    rows = iter(lines)
    first = next(rows, "")
    if not first.strip():
        raise CampaignFileError(f"{file}:1: the first line is empty; expected a header row")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(chain([first], rows), delimiter=delimiter, strict=True)
    try:
        header = [_column(name) for name in next(reader)]
    except csv.Error as exc:
        raise CampaignFileError(f"{file}:1: broken header row: {exc}") from None
    if any(_SURROGATE.search(name) for name in header):
        raise CampaignFileError(f"{file}:1: the header is not valid UTF-8 text")
    _check_header(file, header)
    parsed = ParsedCampaign()
    first_line: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.skipped.append(RowError(line, f"broken CSV: {exc}"))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            parsed.skipped.append(
                RowError(line, f"expected {len(header)} columns, found {len(cells)}")
            )
            continue
        if any(_SURROGATE.search(cell) for cell in cells):
            parsed.skipped.append(RowError(line, "not valid UTF-8 text"))
            continue
        record = {
            name: restore_formula(cell.strip()) for name, cell in zip(header, cells, strict=True)
        }
        try:
            entry = _entry(line, record, region)
        except ValueError as exc:
            parsed.skipped.append(RowError(line, str(exc)))
            continue
        earlier = first_line.get(entry.key)
        if earlier is not None:
            when = f" and event date {entry.event_date}" if entry.event_date else ""
            parsed.duplicates.append(
                RowError(line, f"{entry.number}: same number{when} as line {earlier}; skipped")
            )
            continue
        first_line[entry.key] = line
        parsed.entries.append(entry)
        parsed.warnings.extend(RowError(line, text) for text in _warnings(entry, today, references))
    return parsed


def read_campaign(
    path: Path,
    *,
    region: str = "RU",
    today: date | None = None,
    references: References | None = None,
) -> ParsedCampaign:
    """`parse_campaign` of a `.csv` file (raises CampaignFileError, or OSError if unreadable)."""
    if path.suffix.lower() != ".csv":
        raise CampaignFileError(f"{path}: a campaign file is a .csv file")
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        return parse_campaign(fh, region=region, file=str(path), today=today, references=references)


def voices_in(folder: Path) -> set[str]:
    """The `voice` values of the campaign files (`*.csv` with a voice column) in `folder`.

    For `ivr validate`: a prompt only campaigns play is not unused. Unreadable
    files are skipped (`ivr campaign load` reports their problems).
    """
    found: set[str] = set()
    for path in sorted(folder.glob("*.csv")):
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for row in csv.DictReader(handle):
                    voice = (row.get("voice") or "").strip()
                    if voice:
                        found.add(voice)
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
    return found
