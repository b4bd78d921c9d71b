"""Read one Asterisk .conf file, with its #includes, into sections that keep file:line.

pyst2's `asterisk.config.Config` reads a single file and raises on `#include`
lines and on section headers with options (`[name](!)`, `[name](tmpl)`), and it
cuts values at an escaped `\\;`. So this module walks the files itself (block
comments, includes, headers with template options) and hands each remaining
line to pyst2's `Item`, which strips the comment, splits `name = value` /
`name => value` and reports a bad line with its number.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asterisk.config import Item, Line, ParseError

__all__ = ["ConfEntry", "ConfError", "ConfSection", "Source", "read_conf"]

# Stands in for an escaped `\;` while pyst2 looks for the comment's `;`.
_ESCAPED_SEMICOLON = "\x00"
_BLOCK_OPEN = ";--"
_BLOCK_CLOSE = "--;"
_MAX_INCLUDE_DEPTH = 20
_DIRECTIVE = re.compile(r"#([A-Za-z]+)\s*(.*)")


@dataclass(frozen=True)
class Source:
    """Where a section or an entry was written."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class ConfError(Exception):
    """A file that cannot be read: missing, unreadable, or bad syntax at `line`."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ConfEntry:
    """One `key = value` (or `key => value`) line."""

    key: str
    value: str
    source: Source


@dataclass
class ConfSection:
    """A `[name]` section; entries keep their order and repeat keys (`exten`, `member`)."""

    name: str
    source: Source
    is_template: bool = False
    templates: tuple[str, ...] = ()
    entries: list[ConfEntry] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        """The last value of `key` (Asterisk lets a later line override an earlier one)."""
        found = [e.value for e in self.entries if e.key == key]
        return found[-1] if found else None

    def get_all(self, key: str) -> list[ConfEntry]:
        return [e for e in self.entries if e.key == key]


def read_conf(path: Path, conf_dir: Path | None = None) -> list[ConfSection]:
    """The sections of `path` in file order, templates applied.

    Relative `#include` names resolve against `conf_dir` (default: the file's
    directory), as Asterisk resolves them against /etc/asterisk whatever file
    holds the include. Raises ConfError with file:line on any problem.
    """
    reader = _Reader(conf_dir if conf_dir is not None else path.parent)
    reader.read_file(path, ())
    return reader.sections


class _Reader:
    def __init__(self, conf_dir: Path) -> None:
        self.conf_dir = conf_dir
        self.sections: list[ConfSection] = []
        # The section lines go to; an included file continues its includer's section.
        self.current: ConfSection | None = None

    def read_file(self, path: Path, stack: tuple[Path, ...]) -> None:
        name = str(path)
        inner = (*stack, _resolve(path))
        for number, text in _logical_lines(path):
            if text.startswith("#"):
                self._directive(name, number, text, inner)
            elif text.startswith("["):
                self._header(name, number, text)
            else:
                self._entry(name, number, text)

    def _directive(self, file: str, number: int, text: str, stack: tuple[Path, ...]) -> None:
        match = _DIRECTIVE.match(text)
        word, rest = ("#" + match[1].lower(), match[2]) if match else (text, "")
        if word == "#exec":
            return  # needs execincludes=yes and runs a program: nothing to read statically
        if word not in ("#include", "#tryinclude"):
            raise ConfError(file, number, f"unknown directive {word!r}")
        target = rest.strip().strip('"<>').strip()
        if not target:
            raise ConfError(file, number, f"{word} needs a file name")
        candidate = Path(target)
        full = candidate if candidate.is_absolute() else self.conf_dir / candidate
        if glob.has_magic(str(full)):
            paths = [Path(p) for p in sorted(glob.glob(str(full)))]
        else:
            paths = [full] if full.is_file() else []
        if not paths:
            if word == "#tryinclude":
                return
            raise ConfError(file, number, f"{word} {target!r}: no such file ({full})")
        for included in paths:
            if _resolve(included) in stack:
                raise ConfError(file, number, f"{word} {target!r} includes itself (a loop)")
            if len(stack) >= _MAX_INCLUDE_DEPTH:
                raise ConfError(file, number, f"{word} {target!r}: includes nested too deep")
            self.read_file(included, stack)

    def _header(self, file: str, number: int, text: str) -> None:
        close = text.find("]")
        if close < 0:
            raise ConfError(file, number, f"section header {text!r} has no closing ']'")
        name = text[1:close].strip()
        if not name:
            raise ConfError(file, number, "section header with an empty name")
        rest = text[close + 1 :].strip()
        options: list[str] = []
        if rest:
            if not (rest.startswith("(") and rest.endswith(")")):
                raise ConfError(file, number, f"unexpected text {rest!r} after [{name}]")
            options = [o.strip() for o in rest[1:-1].split(",") if o.strip()]
        source = Source(file, number)
        if "+" in options:
            # `[name](+)` adds lines to a section defined earlier.
            existing = [s for s in self.sections if s.name == name]
            if not existing:
                raise ConfError(file, number, f"[{name}](+) adds to a section not defined before")
            self.current = existing[-1]
            return
        templates = tuple(o for o in options if o != "!")
        section = ConfSection(name, source, is_template="!" in options, templates=templates)
        for template in templates:
            # Any earlier section can be a template; its lines are copied in at this point.
            parents = [s for s in self.sections if s.name == template]
            if not parents:
                raise ConfError(
                    file, number, f"[{name}] inherits from {template!r}, not defined above it"
                )
            section.entries.extend(parents[-1].entries)
        self.sections.append(section)
        self.current = section

    def _entry(self, file: str, number: int, text: str) -> None:
        try:
            item = Item(text, number)
        except ParseError as exc:
            raise ConfError(file, number, f"{exc.args[-1]}: {_restore(text)!r}") from None
        key = _restore(item.name).strip()
        value = _restore(item.value).strip()
        if not key:
            raise ConfError(file, number, f"a line with no name before '=': {_restore(text)!r}")
        if self.current is None:
            raise ConfError(file, number, f"{key!r} comes before any [section]")
        self.current.entries.append(ConfEntry(key, value, Source(file, number)))


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the read that follows reports it
        return path.absolute()


def _restore(text: str) -> str:
    return text.replace(_ESCAPED_SEMICOLON, ";")


def _logical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line with content, comments removed.

    Block comments `;-- ... --;` may span lines. A plain `;` starts a comment
    (pyst2's Line strips it); `\\;` is a literal semicolon.
    """
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfError(file, None, f"cannot read: {exc.strerror or exc}") from None
    in_block = False
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfError(file, number, "not valid UTF-8 text") from None
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte order mark left by some editors
        text = text.replace("\\;", _ESCAPED_SEMICOLON)
        text, in_block = _drop_block_comments(text, in_block)
        text = Line(text, number).line
        if text:
            yield number, text
    if in_block:
        raise ConfError(file, None, f"a block comment {_BLOCK_OPEN!r} is never closed")


def _drop_block_comments(text: str, in_block: bool) -> tuple[str, bool]:
    out = ""
    while text:
        if in_block:
            end = text.find(_BLOCK_CLOSE)
            if end < 0:
                return out, True
            text = text[end + len(_BLOCK_CLOSE) :]
            in_block = False
            continue
        start = text.find(_BLOCK_OPEN)
        if start < 0:
            return out + text, False
        out += text[:start]
        text = text[start + len(_BLOCK_OPEN) :]
        in_block = True
    return out, in_block
