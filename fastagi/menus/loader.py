"""Load menu files into models; every problem comes back with file:line.

`load_menu_file` reads one file and checks the gotos inside it;
`load_menus` reads a directory (or a list of files), checks gotos between
menus and duplicate menu names, and returns a `MenuSet`. Both raise
`MenuError` listing every problem found, never a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from fastagi.menus._validation import validation_problems
from fastagi.menus._yaml import read_yaml
from fastagi.menus.model import Menu, MenuSet, MenuSource
from fastagi.menus.problems import MenuError, Problem
from fastagi.menus.references import reference_problems

__all__ = ["MENU_SUFFIXES", "load_menu_file", "load_menus", "menu_paths"]

MENU_SUFFIXES = (".yaml", ".yml")


def _load(path: Path) -> tuple[Menu, MenuSource]:
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise MenuError(
            [
                Problem(
                    doc.file,
                    1,
                    1,
                    "",
                    "a menu file must be a mapping of keys (menu:, start:, nodes: ...)",
                    code="not-a-mapping",
                )
            ]
        )
    data = dict(doc.data)
    named_by_file = "menu" not in data
    if named_by_file:
        data["menu"] = path.stem
    try:
        menu = Menu.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, doc, Menu)
        if named_by_file:
            problems = [
                Problem(
                    p.file,
                    p.line,
                    p.column,
                    p.key_path,
                    p.message,
                    "the name comes from the file name; set 'menu:' explicitly",
                    p.severity,
                    p.code,
                )
                if p.key_path == "menu"
                else p
                for p in problems
            ]
        raise MenuError(problems) from None
    return menu, MenuSource(file=doc.file, digest=doc.digest, positions=doc.positions)


def load_menu_file(path: str | Path) -> Menu:
    """Load and validate one menu file (gotos into other menus are not checked).

    Raises `MenuError` for unreadable or oversized files, YAML errors, model
    errors and gotos to nodes missing from this file.
    """
    menu, source = _load(Path(path))
    alone = MenuSet([menu], sources={menu.name: source}, version="")
    local = reference_problems(alone, local_only=True)
    if local:
        raise MenuError(local)
    return menu


def menu_paths(source: str | Path | Iterable[str | Path]) -> list[Path]:
    """The menu files named by `source`: a directory's *.yaml/*.yml, one file, or a list."""
    if isinstance(source, str | Path):
        root = Path(source)
        if root.is_dir():
            return sorted(p for p in root.iterdir() if p.suffix in MENU_SUFFIXES and p.is_file())
        return [root]
    return [Path(p) for p in source]


def load_menus(source: str | Path | Iterable[str | Path]) -> MenuSet:
    """Load every menu file of a directory (or the listed files) into a `MenuSet`.

    All files are read and all problems collected before `MenuError` is raised:
    per-file problems and duplicate menu names, then (when those are fixed)
    start nodes and gotos to missing menus or nodes.
    """
    paths = menu_paths(source)
    if not paths:
        raise MenuError(
            [Problem(str(source), None, None, "", "no menu files (*.yaml) found", code="empty")]
        )
    problems: list[Problem] = []
    loaded: dict[str, tuple[Menu, MenuSource]] = {}
    for path in paths:
        try:
            menu, src = _load(path)
        except MenuError as exc:
            problems.extend(exc.problems)
            continue
        if menu.name in loaded:
            first = loaded[menu.name][1].file
            problems.append(
                src.problem(
                    ("menu",),
                    f"menu {menu.name!r} is already defined in {first}",
                    hint="menu names must be unique across files",
                    code="duplicate-menu",
                    at_key=True,
                )
            )
            continue
        loaded[menu.name] = (menu, src)
    if problems:
        raise MenuError(problems)
    digest = hashlib.sha256()
    for name in sorted(loaded):
        digest.update(f"{name}\0{loaded[name][1].digest}\0".encode())
    menus = MenuSet(
        [menu for menu, _ in loaded.values()],
        sources={name: src for name, (_, src) in loaded.items()},
        version=digest.hexdigest()[:12],
    )
    references = reference_problems(menus)
    if references:
        raise MenuError(references)
    return menus
