"""The current MenuSet and the one before it: validated hot reload and rollback.

Pure logic: the caller says how to load (a function returning a MenuSet)
and when (SIGHUP, `ivr reload`). A reload that fails validation raises
`MenuError` and changes nothing, so the server keeps serving the last good
menus. Calls in progress keep the MenuSet they started with; only calls that
start after a reload or rollback see the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastagi.menus.lint import lint_menus
from fastagi.menus.model import MenuSet
from fastagi.menus.problems import MenuError, Problem, errors_only

__all__ = ["MenuRegistry", "NoMenusLoaded", "NothingToRollBack"]


class NoMenusLoaded(LookupError):
    """`current` was read before any menus were loaded."""


class NothingToRollBack(LookupError):
    """`rollback()` was called with no previous MenuSet to restore."""


class MenuRegistry:
    """Holds the MenuSet new calls use, the previous one, and a change counter.

    `version` counts changes (each successful reload or rollback adds one);
    `MenuSet.version` is the content digest of the set itself.
    """

    def __init__(
        self,
        menus: MenuSet | None = None,
        *,
        lint: Callable[[MenuSet], Sequence[Problem]] = lint_menus,
    ) -> None:
        self._current = menus
        self._previous: MenuSet | None = None
        self._lint = lint
        self._version = 0 if menus is None else 1
        self.warnings: tuple[Problem, ...] = ()

    @property
    def current(self) -> MenuSet:
        """The MenuSet new calls should run against."""
        if self._current is None:
            raise NoMenusLoaded("no menus have been loaded yet")
        return self._current

    @property
    def previous(self) -> MenuSet | None:
        return self._previous

    @property
    def version(self) -> int:
        return self._version

    def reload(self, load: Callable[[], MenuSet]) -> MenuSet:
        """Load and lint a new MenuSet; make it current only if it has no errors.

        Raises `MenuError` (loader problems, or lint errors with the warnings)
        and leaves the current set in place. Lint warnings of an accepted
        set are kept in `warnings`.
        """
        candidate = load()
        problems = list(self._lint(candidate))
        if errors_only(problems):
            raise MenuError(problems)
        self._previous, self._current = self._current, candidate
        self._version += 1
        self.warnings = tuple(problems)
        return candidate

    def rollback(self) -> MenuSet:
        """Swap back to the previous MenuSet (a second rollback undoes the first).

        Raises `NothingToRollBack` when there is no previous set.
        """
        restored = self._previous
        if restored is None:
            raise NothingToRollBack("there is no previous menu version to roll back to")
        self._previous, self._current = self._current, restored
        self._version += 1
        self.warnings = ()
        return restored
