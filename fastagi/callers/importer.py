"""Bulk import and export of caller profiles (`ivr callers import|export`).

Import reads `.csv` (a header row; `number` required; `first_name`,
`last_name`, `language`, `tags`, `manager`, `email`, `menu`; any other
column is a custom field) or `.jsonl` (one object per line, the same keys).
Each row is an upsert; empty cells leave a field as it is. A bad row (bad
number, bad field, broken CSV or JSON) is reported with its line number and
skipped; the rest are imported. Problems with the file as a whole (unknown
format, no `number` column, a bad column name) raise `ImportFileError`.

Export writes every profile as CSV or JSONL. CSV cells that a spreadsheet
would run as a formula (starting with = + - @ TAB CR) get a leading
apostrophe, which import removes again, so an export imports unchanged.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from fastagi.callers.fields import InvalidField, clean_fields, is_custom_field_name
from fastagi.callers.phone import InvalidNumber, check_region, normalize
from fastagi.callers.profile import PROFILE_FIELDS, SYSTEM_FIELDS
from fastagi.csvsafe import restore_cell, safe_cell

if TYPE_CHECKING:
    from fastagi.callers.directory import CallerDirectory

__all__ = [
    "FORMATS",
    "ImportFileError",
    "ImportReport",
    "RowError",
    "export_callers",
    "import_callers",
    "neutralize_formula",
    "restore_formula",
]

FORMATS = ("csv", "jsonl")
_BATCH = 500
_SURROGATE = re.compile(r"[\udc80-\udcff]")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (the message starts with `file:line:`)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A skipped row: its (first) line number in the file and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: rows imported, rows skipped (with reasons), columns ignored."""

    imported: int = 0
    skipped: list[RowError] = field(default_factory=list)
    #: Columns kept by the directory itself (call counts, tickets): not imported.
    ignored_columns: list[str] = field(default_factory=list)


def neutralize_formula(value: str) -> str:
    """Prefix `'` to a cell a spreadsheet would run as a formula (`fastagi.csvsafe`)."""
    return safe_cell(value)


def restore_formula(value: str) -> str:
    """Undo `neutralize_formula`."""
    return restore_cell(value)


def _column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


# A parsed row: its line, the E.164 number, fields to set, fields to delete.
_Row = tuple[int, str, dict[str, str], tuple[str, ...]]


def _row(line: int, cells: dict[str, object], region: str) -> _Row | RowError:
    """One record (column -> value; empty cells already dropped) checked and normalised."""
    number = cells.pop("number", None)
    if number is None:
        return RowError(line, "number: missing")
    if not isinstance(number, str):
        return RowError(line, f"number: must be text, not {type(number).__name__}")
    try:
        e164 = normalize(number, region)
        to_set, to_delete = clean_fields(cells)
    except (InvalidNumber, InvalidField) as exc:
        return RowError(line, f"number: {exc}" if isinstance(exc, InvalidNumber) else str(exc))
    return line, e164, to_set, to_delete


def _csv_rows(path: Path, region: str, ignored: list[str]) -> Generator[_Row | RowError]:
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        first = fh.readline()
        delimiter = max((",", ";", "\t"), key=first.count)
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = [_column(name) for name in next(reader)]
        except StopIteration:
            raise ImportFileError(f"{path}:1: the file is empty; expected a header row") from None
        except csv.Error as exc:
            raise ImportFileError(f"{path}:1: broken header row: {exc}") from None
        _check_header(path, header)
        ignored.extend(name for name in header if name in SYSTEM_FIELDS)
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RowError(line, f"broken CSV: {exc}")
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                yield RowError(line, f"expected {len(header)} columns, found {len(cells)}")
                continue
            if any(_SURROGATE.search(cell) for cell in cells):
                yield RowError(line, "not valid UTF-8 text")
                continue
            record: dict[str, object] = {
                name: restore_formula(cell.strip())
                for name, cell in zip(header, cells, strict=True)
                if cell.strip() and name not in SYSTEM_FIELDS
            }
            yield _row(line, record, region)


def _check_header(path: Path, header: list[str]) -> None:
    if "number" not in header:
        raise ImportFileError(f"{path}:1: no 'number' column (columns: {', '.join(header)})")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ImportFileError(f"{path}:1: column {name!r} appears twice")
        seen.add(name)
        known = name == "number" or name in PROFILE_FIELDS
        if not known and not is_custom_field_name(name):
            raise ImportFileError(
                f"{path}:1: column {name[:40]!r}: a custom field name may use only "
                "lowercase letters, digits and '_' (max 40)"
            )


def _json_value(name: str, value: object) -> object:
    if isinstance(value, bool):
        raise InvalidField(f"{name}: true/false is not a value; write it as text")
    if isinstance(value, int | float):
        return str(value)
    if name == "tags" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if not isinstance(value, str):
        raise InvalidField(f"{name}: must be text or a number, not {type(value).__name__}")
    return value.strip()


def _jsonl_rows(path: Path, region: str, ignored: list[str]) -> Generator[_Row | RowError]:
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            if _SURROGATE.search(text):
                yield RowError(line, "not valid UTF-8 text")
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RowError(line, f"broken JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield RowError(line, f"expected a JSON object, found {type(obj).__name__}")
                continue
            record: dict[str, object] = {}
            try:
                for key, value in obj.items():
                    name = _column(key)
                    if name in SYSTEM_FIELDS:
                        if name not in ignored:
                            ignored.append(name)
                        continue
                    if value is None:
                        continue
                    value = _json_value(name, value)
                    if value != "":
                        record[name] = value
            except InvalidField as exc:
                yield RowError(line, str(exc))
                continue
            yield _row(line, record, region)


def _rows(path: Path, region: str, ignored: list[str]) -> Generator[_Row | RowError]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path, region, ignored)
    if suffix == ".jsonl":
        return _jsonl_rows(path, region, ignored)
    raise ImportFileError(f"{path}: unknown format {suffix or '(none)'!r}; use .csv or .jsonl")


def _take(rows: Iterator[_Row | RowError], n: int) -> list[_Row | RowError]:
    return list(islice(rows, n))


async def import_callers(
    directory: CallerDirectory, path: Path, *, region: str | None = None
) -> ImportReport:
    """Upsert every good row of `path` (.csv or .jsonl) into the directory.

    National numbers are read in `region` (default: the directory's).
    Returns an ImportReport; raises ImportFileError for a file that cannot be
    imported at all (OSError if it cannot be read) and redis errors as they
    come. The file is read in a worker thread, a batch of rows at a time.
    """
    region = check_region(region) if region else directory.region
    report = ImportReport()
    rows = _rows(path, region, report.ignored_columns)
    try:
        while batch := await asyncio.to_thread(_take, rows, _BATCH):
            good = []
            for row in batch:
                if isinstance(row, RowError):
                    report.skipped.append(row)
                else:
                    good.append((row[1], row[2], row[3]))
            if good:
                await directory.write_profiles(good)
                report.imported += len(good)
    finally:
        rows.close()
    return report


async def export_callers(directory: CallerDirectory, out: TextIO, fmt: str = "csv") -> int:
    """Write every profile to `out` as `csv` or `jsonl`, ordered by number; return the count.

    CSV columns: number, the profile fields, then custom fields by name;
    formula-like cells are neutralised (see `neutralize_formula`).
    """
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r}: use csv or jsonl")
    numbers = sorted({number async for number in directory.numbers()})
    profiles = []
    for start in range(0, len(numbers), _BATCH):
        profiles.extend(await directory.profiles(numbers[start : start + _BATCH]))
    if fmt == "jsonl":
        text = "".join(
            json.dumps({"number": p.number, **p.fields}, ensure_ascii=False) + "\n"
            for p in profiles
        )
        await asyncio.to_thread(out.write, text)
        return len(profiles)
    custom = sorted({name for p in profiles for name in p.fields} - set(PROFILE_FIELDS))
    columns = ["number", *PROFILE_FIELDS, *custom]

    def write() -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for p in profiles:
            values = {"number": p.number, **p.fields}
            writer.writerow([neutralize_formula(values.get(name, "")) for name in columns])

    await asyncio.to_thread(write)
    return len(profiles)
