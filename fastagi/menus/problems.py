"""Problems found in menu and scenario files, and the error that carries them.

A `Problem` says where (file, line, column, key path) and what is wrong, in
words a telecom admin can act on. `MenuError` carries every problem found in
one pass, so `ivr validate` reports them all at once instead of one per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["MenuError", "Problem", "Severity", "errors_only", "render_key_path"]

Severity = Literal["error", "warning"]


def render_key_path(parts: Iterable[str | int]) -> str:
    """`('nodes', 'sales', 'prompts', 0)` -> `nodes.sales.prompts[0]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file.

    `line` and `column` are 1-based and None when unknown (a menu built in
    Python has no file). `key_path` is dotted (`nodes.welcome.options.1`),
    empty for file-level problems. `code` names the rule that found it
    (`unknown-key`, `unreachable`, ...) so tools can filter.
    """

    file: str
    line: int | None
    column: int | None
    key_path: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    code: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.severity == "warning":
            text += "warning: "
        if self.key_path:
            text += f"{self.key_path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        if self.severity == "warning" and self.code:
            text += f" [{self.code}]"
        return text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that must stop a reload (severity `error`)."""
    return [p for p in problems if p.is_error]


def _sort_key(problem: Problem) -> tuple[str, int, int]:
    return (problem.file, problem.line or 0, problem.column or 0)


class MenuError(Exception):
    """Menu or scenario files are not valid; `problems` says where and why.

    `str()` renders one problem per line, sorted by file and line, in the
    `file:line:column: key.path: message (hint)` form editors can jump to.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=_sort_key))
        super().__init__(self.render())

    def render(self) -> str:
        if not self.problems:
            return "invalid menus"
        return "\n".join(str(p) for p in self.problems)

    def __str__(self) -> str:
        return self.render()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)
