"""Import (CSV, JSONL) with bad rows, export round trips, demo seed data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from callers_helpers import keys_under

from fastagi.callers import CallerDirectory, ImportFileError
from fastagi.callers.demo import DEMO_TICKET, seed_demo
from fastagi.callers.importer import export_callers, import_callers
from fastagi.callers.profile import PROFILE_FIELDS

Run = Callable[..., Any]
REPO = Path(__file__).resolve().parents[2]

GOOD_AND_BAD_CSV = (
    "number,first_name,last_name,language,tags,manager,email,menu,balance\n"  # 1
    "8 916 123-45-67,Ivan,Ivanov,ru,vip,201,ivan@example.com,,-1500\n"  # 2
    "not a number,Petr,,ru,,,,,\n"  # 3
    "+7 916 765-43-21,Olga,,klingon,,,,,\n"  # 4
    '+7 916 111-22-33,"Anna\n'  # 5: a quoted field with a line break...
    'Maria",,en,,,,,\n'  # 6 ...ends here: one row, two lines; a name has no line breaks
    "+7 916 222-33-44,Too,Many,ru,,,,,,,\n"  # 7
    '+7 916 333-44-55,"broken"quote,,ru,,,,,\n'  # 8
    "\n"  # 9: blank, ignored
    '+44 20 7946 0958,John,Smith,EN,"gold, vip",,john@example.org,,\'=1+1\n'  # 10
    "+7 916 444-55-66,,,,,,bad-email,,\n"  # 11
    "+7 916 555-66-77,Boris,,,,,,,\n"  # 12
)


def test_csv_import_reports_bad_rows_and_imports_the_rest(
    with_directory: Run, tmp_path: Path
) -> None:
    path = tmp_path / "callers.csv"
    path.write_text(GOOD_AND_BAD_CSV, encoding="utf-8")

    async def body(d: CallerDirectory) -> None:
        report = await import_callers(d, path, region="RU")
        assert report.imported == 3
        assert [(e.line, e.message.split(":")[0]) for e in report.skipped] == [
            (3, "number"),
            (4, "language"),
            (5, "first_name"),
            (7, "expected 9 columns, found 11"),
            (8, "broken CSV"),
            (11, "email"),
        ]
        assert "klingon" in report.skipped[1].message
        assert str(report.skipped[0]).startswith("line 3: number: not a phone number")
        ivan = await d.get("+79161234567")
        assert ivan is not None and ivan.tags == {"vip"} and ivan.get("balance") == "-1500"
        john = await d.get("+442079460958")
        assert john is not None and john.language == "en" and john.get("balance") == "=1+1"
        assert john.tags == {"gold", "vip"}
        boris = await d.get("+79165556677")
        assert boris is not None and boris.get("first_name") == "Boris"
        assert await d.get("+79167654321") is None

    with_directory(body)


def test_import_upserts_and_keeps_what_empty_cells_leave(
    with_directory: Run, tmp_path: Path
) -> None:
    path = tmp_path / "callers.csv"
    # Semicolons and a byte order mark, as a Russian Excel saves CSV.
    path.write_bytes("\ufeffNumber;First Name;Email;call_count\n89161234567;Ivan;;99\n".encode())

    async def body(d: CallerDirectory) -> None:
        await d.set_fields("+79161234567", email="old@example.com", first_name="I.")
        await d.identify("+79161234567")
        report = await import_callers(d, path)
        assert report.imported == 1 and report.skipped == []
        assert report.ignored_columns == ["call_count"]
        profile = await d.get("+79161234567")
        assert profile is not None
        assert profile.get("first_name") == "Ivan" and profile.get("email") == "old@example.com"
        assert profile.call_count == 1

    with_directory(body)


def test_jsonl_import(with_directory: Run, tmp_path: Path) -> None:
    path = tmp_path / "callers.jsonl"
    lines = [
        json.dumps({"number": 79161234567, "first_name": "Ivan", "balance": -1500.5}),
        "{broken json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"number": "+7 916 765-43-21", "tags": ["VIP", "gold"], "email": None}),
        "",
        json.dumps({"first_name": "No number"}),
        json.dumps({"number": "+79162223344", "vip": True}),
        json.dumps({"number": "+79162223345", "address": {"city": "Moscow"}}),
        json.dumps({"number": "+79162223346", "Bad Name!": "x"}),
        json.dumps({"number": "+79162223347", "first_name": "Мария", "open_tickets": 3}),
        b"\xff\xfe not utf-8".decode("latin-1"),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def body(d: CallerDirectory) -> None:
        report = await import_callers(d, path)
        assert report.imported == 3
        assert [e.line for e in report.skipped] == [2, 3, 6, 7, 8, 9, 11]
        messages = [e.message for e in report.skipped]
        assert messages[0].startswith("broken JSON")
        assert messages[1] == "expected a JSON object, found list"
        assert messages[2] == "number: missing"
        assert report.ignored_columns == ["open_tickets"]
        ivan = await d.get("+79161234567")
        assert ivan is not None and ivan.get("balance") == "-1500.5"
        tagged = await d.get("+79167654321")
        assert tagged is not None and tagged.get("tags") == "gold,vip"
        maria = await d.get("+79162223347")
        assert maria is not None and maria.get("first_name") == "Мария"
        assert maria.open_tickets == 0

    with_directory(body)


@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("a.csv", "", "empty"),
        ("a.csv", "phone,first_name\n+79161234567,Ivan\n", "no 'number' column"),
        ("a.csv", "number,Balance (RUB)\n+79161234567,1\n", "custom field name"),
        ("a.csv", "number,tags,tags\n+79161234567,a,b\n", "appears twice"),
        ("a.xlsx", "number\n", "unknown format"),
    ],
)
def test_file_level_problems_raise(
    with_directory: Run, tmp_path: Path, name: str, content: str, complaint: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    async def body(d: CallerDirectory) -> None:
        with pytest.raises(ImportFileError, match=complaint) as caught:
            await import_callers(d, path)
        assert str(caught.value).startswith(str(path))
        assert await keys_under(d) == set()

    with_directory(body)


def test_export_round_trips_and_neutralises_formulas(
    with_directory: Run, tmp_path: Path, prefix: str
) -> None:
    async def body(d: CallerDirectory) -> None:
        await d.upsert("+79161234567", {"first_name": '=HYPERLINK("http://evil")'})
        await d.upsert("+79161234567", {"balance": "-1500", "tags": "vip", "note": "@SUM(A1)"})
        await d.upsert("+442079460958", {"first_name": "John", "language": "en", "x": "'=1"})
        await d.upsert("+79160000001", {"company": "+plus", "manager": "201"})
        await d.identify("+79161234567")
        await d.open_ticket("+79161234567", "Refund")

        out = io.StringIO()
        assert await export_callers(d, out, fmt="csv") == 3
        text = out.getvalue()
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        assert header == ["number", *PROFILE_FIELDS, "balance", "company", "note", "x"]
        cells = [cell for row in rows[1:] for cell in row]
        assert all(not cell or cell[0] not in "=+-@\t\r" for cell in cells), cells
        assert '\'=HYPERLINK("http://evil")' in cells and "'-1500" in cells
        assert "'+79161234567" in cells and "''=1" in cells

        jsonl = io.StringIO()
        assert await export_callers(d, jsonl, fmt="jsonl") == 3
        first = json.loads(jsonl.getvalue().splitlines()[0])
        assert first["number"] == "+442079460958" and first["x"] == "'=1"

        for fmt, content in (("csv", text), ("jsonl", jsonl.getvalue())):
            copy = CallerDirectory(d.redis, prefix=f"{prefix}copy{fmt}:")
            path = tmp_path / f"export.{fmt}"
            path.write_text(content, encoding="utf-8")
            report = await import_callers(copy, path)
            assert report.imported == 3 and report.skipped == []
            assert set(report.ignored_columns) >= {"call_count", "open_tickets"}
            for number in ("+79161234567", "+442079460958", "+79160000001"):
                original, imported = await d.get(number), await copy.get(number)
                assert original is not None and imported is not None
                editable = {
                    k: v
                    for k, v in original.fields.items()
                    if k not in ("first_call", "last_call", "call_count")
                    and k not in ("open_tickets", "latest_ticket")
                }
                assert {k: v for k, v in imported.fields.items() if k != "call_count"} == editable
        with pytest.raises(ValueError, match="format"):
            await export_callers(d, io.StringIO(), fmt="xlsx")

    with_directory(body)


def test_demo_seed_has_every_segment(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        report = await seed_demo(d, REPO / "ivr_menus")
        assert report.skipped == [] and report.imported >= 8
        again = await seed_demo(d, REPO / "ivr_menus")
        assert again.imported == report.imported
        profiles = await d.profiles([n async for n in d.numbers()])
        assert len(profiles) == report.imported
        assert any("vip" in p.tags for p in profiles)
        assert any("blacklist" in p.tags for p in profiles)
        assert any(float(p.get("balance", "0")) < 0 for p in profiles)
        assert any(p.get("menu") == "personal_ivanov" for p in profiles)
        assert any(not p.tags and not p.get("balance") and not p.get("menu") for p in profiles)
        with_ticket = [p for p in profiles if p.open_tickets]
        assert [p.number for p in with_ticket] == [DEMO_TICKET[0]]
        assert len(await d.tickets(DEMO_TICKET[0])) == 1  # not opened twice

    with_directory(body)
