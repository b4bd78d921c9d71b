"""`ivr callers ...` against a real Redis server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastagi.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, redis_server_url: str) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("REDIS_URL", redis_server_url)
    monkeypatch.setenv("IVR_REDIS_PREFIX", f"t{uuid.uuid4().hex[:8]}:")


def ivr(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_import_reports_bad_rows_with_line_numbers_and_imports_the_rest(tmp_path: Path) -> None:
    data = tmp_path / "callers.csv"
    data.write_text(
        "number,first_name,tags\n"
        "8 916 123-45-67,Ivan,vip\n"
        "not a number,Bad,\n"
        "+7 916 765 43 21,Maria,\n"
    )
    code, out = ivr("callers", "import", str(data))
    assert code == 1
    assert f"{data}:3: skipped" in out
    assert "imported 2, skipped 1" in out
    code, out = ivr("callers", "show", "79161234567")
    assert code == 0, out
    assert "first_name: Ivan" in out and "segment: vip" in out


def test_set_then_segment_explains_the_matching_rule() -> None:
    code, out = ivr("callers", "set", "+79160000001", "first_name=Petr", "balance=-500")
    assert code == 0, out
    code, out = ivr("callers", "segment", "+79160000001")
    assert code == 0, out
    assert "-> debtor" in out
    assert out.strip().endswith("segment: debtor")


def test_set_rejects_a_bad_number_and_a_bad_field() -> None:
    assert ivr("callers", "set", "garbage", "a=b")[0] != 0
    code, out = ivr("callers", "set", "+79160000002", "language=klingon")
    assert code != 0
    assert "language" in out


def test_export_neutralises_formulas(tmp_path: Path) -> None:
    ivr("callers", "set", "+79160000003", "first_name==HYPERLINK(1)")
    out_file = tmp_path / "out.csv"
    code, _ = ivr("callers", "export", "-o", str(out_file))
    assert code == 0
    text = out_file.read_text()
    assert "'=HYPERLINK(1)" in text


def test_seed_demo_loads_every_segment() -> None:
    code, out = ivr("callers", "seed-demo")
    assert code == 0, out
    code, out = ivr("callers", "show", "+79161000004")
    assert "segment: has_open_ticket" in out and "open tickets: 1" in out


def test_menu_show_names_the_layer_each_part_came_from() -> None:
    ivr("callers", "set", "+79161110001", "tags=vip")
    code, out = ivr("menu", "show", "--caller", "89161110001")
    assert code == 0, out
    assert "segment:  vip" in out and "menu:     vip  [segment" in out

    ivr("callers", "set", "+79161110002", "tags=vip", "menu=personal_ivanov")
    code, out = ivr("menu", "show", "--caller", "+79161110002")
    assert code == 0, out
    assert "menu:     personal_ivanov  [personal" in out

    code, out = ivr("menu", "show", "--caller", "+79165550000")
    assert code == 0, out
    assert "not in the directory" in out
    assert "segment:  new" in out and "-> new_caller" in out


def test_menu_show_does_not_record_a_call() -> None:
    ivr("callers", "set", "+79161110003", "first_name=Oleg")
    ivr("menu", "show", "--caller", "+79161110003")
    code, out = ivr("callers", "show", "+79161110003")
    assert code == 0, out
    assert "call_count: 0" in out
