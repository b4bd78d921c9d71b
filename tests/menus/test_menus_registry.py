"""Hot reload: a bad reload keeps the current menus; rollback restores the previous set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fastagi.menus import MenuError, MenuRegistry, NoMenusLoaded, NothingToRollBack, load_menus


@pytest.fixture
def live(tmp_path: Path, demo_dir: Path) -> Path:
    """A copy of the demo menus that tests may break."""
    target = tmp_path / "menus"
    target.mkdir()
    for path in demo_dir.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


def test_reload_and_version_counter(live: Path) -> None:
    registry = MenuRegistry()
    with pytest.raises(NoMenusLoaded):
        _ = registry.current
    first = registry.reload(lambda: load_menus(live))
    assert registry.current is first
    assert registry.version == 1
    assert registry.previous is None


def test_bad_file_keeps_the_current_set(live: Path) -> None:
    registry = MenuRegistry()
    good = registry.reload(lambda: load_menus(live))
    main = live / "main.yaml"
    main.write_text(main.read_text().replace('"2": support', '"2": suport'))
    with pytest.raises(MenuError) as exc:
        registry.reload(lambda: load_menus(live))
    assert "did you mean 'support'?" in str(exc.value)
    assert registry.current is good
    assert registry.version == 1


def test_lint_errors_keep_the_current_set(live: Path) -> None:
    registry = MenuRegistry(load_menus(live))
    loop = (
        "start: a\nnodes:\n"
        "  a: {type: play, prompts: [x], next: b}\n"
        "  b: {type: play, prompts: [y], next: a}\n"
    )
    (live / "loop.yaml").write_text(loop)
    before = registry.current
    with pytest.raises(MenuError) as exc:
        registry.reload(lambda: load_menus(live))
    assert [p.code for p in exc.value.errors] == ["no-way-out"]
    assert registry.current is before


def test_warnings_do_not_block_a_reload(live: Path) -> None:
    registry = MenuRegistry(load_menus(live))
    (live / "extra.yaml").write_text("start: a\nnodes:\n  a: {type: hangup}\n  b: {type: hangup}\n")
    new = registry.reload(lambda: load_menus(live))
    assert "extra" in new
    assert [p.code for p in registry.warnings] == ["unreachable"]


def test_rollback_restores_the_previous_set(live: Path) -> None:
    registry = MenuRegistry()
    old = registry.reload(lambda: load_menus(live))
    main = live / "main.yaml"
    main.write_text(main.read_text().replace("result: ticket_agent", "result: ticket_agent_v2"))
    new = registry.reload(lambda: load_menus(live))
    assert new.version != old.version
    assert registry.rollback() is old
    assert registry.current is old
    assert registry.version == 3
    assert registry.rollback() is new  # a second rollback undoes the first


def test_rollback_with_nothing_to_restore() -> None:
    with pytest.raises(NothingToRollBack):
        MenuRegistry().rollback()
