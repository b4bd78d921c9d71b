"""The menu file model and the set of menus a call runs against.

A menu file is one YAML document that validates into a frozen `Menu`. A
`MenuSet` is every menu the server serves at one moment, plus where each came
from (so problems can name file:line) and a version. Calls hold the MenuSet
they started with; a reload builds a new one and swaps it in between calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from fastagi.menus._yaml import PathKey, Position, locate
from fastagi.menus.fields import Language, MenuName, NodeId
from fastagi.menus.nodes import MenuDefaults, MenuNode, MenuSettings, Node, NodeBase
from fastagi.menus.problems import Problem, Severity, render_key_path
from fastagi.menus.routes import RouteRule

__all__ = ["Menu", "MenuSet", "MenuSource"]


class Menu(BaseModel):
    """One menu file: its name, language, start node, defaults and nodes."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="IVR menu",
        json_schema_extra={"description": "A fastagi-ivr menu file (one YAML document)."},
    )

    menu: MenuName = Field(description="Menu name; defaults to the file name without .yaml.")
    description: str = Field(default="", description="What this menu is for (free text).")
    language: Language | None = Field(
        default=None, description="Channel language set when a call enters this menu (e.g. en, ru)."
    )
    start: NodeId = Field(description="The node a call enters first.")
    routes: tuple[RouteRule, ...] = Field(
        default=(),
        description="Checked in order as a call enters the menu: the first whose `when`"
        " holds sends the call to its `goto` instead of the start node.",
    )
    defaults: MenuDefaults = Field(
        default=MenuDefaults(), description="Inherited by every menu node."
    )
    nodes: Mapping[NodeId, Node] = Field(min_length=1, description="Node id -> node.")

    @property
    def name(self) -> str:
        return self.menu


@dataclass(frozen=True)
class MenuSource:
    """Where a menu came from: file name, content digest and value positions."""

    file: str
    digest: str = ""
    positions: Mapping[PathKey, Position] = field(default_factory=dict)

    def locate(self, key_path: PathKey, *, at_key: bool = False) -> tuple[int | None, int | None]:
        """(line, column) of `key_path` or its nearest parent; the key itself if `at_key`."""
        return locate(self.positions, key_path, at_key=at_key)

    def problem(
        self,
        key_path: PathKey,
        message: str,
        *,
        hint: str = "",
        severity: Severity = "error",
        code: str = "",
        at_key: bool = False,
    ) -> Problem:
        line, column = self.locate(key_path, at_key=at_key)
        return Problem(
            file=self.file,
            line=line,
            column=column,
            key_path=render_key_path(key_path),
            message=message,
            hint=hint,
            severity=severity,
            code=code,
        )


def _digest(menus: Mapping[str, Menu]) -> str:
    h = hashlib.sha256()
    for name in sorted(menus):
        h.update(name.encode())
        h.update(menus[name].model_dump_json().encode())
    return h.hexdigest()[:12]


class MenuSet(Mapping[str, Menu]):
    """An immutable mapping menu name -> `Menu`, with sources and a version.

    `version` is a short content digest: two sets built from the same files
    have the same version, so logs and events show which menus a call used.
    """

    __slots__ = ("_menus", "_settings", "_sources", "_version")

    def __init__(
        self,
        menus: Iterable[Menu] | Mapping[str, Menu],
        *,
        sources: Mapping[str, MenuSource] | None = None,
        version: str | None = None,
    ) -> None:
        items = list(menus.values()) if isinstance(menus, Mapping) else list(menus)
        by_name: dict[str, Menu] = {}
        for menu in items:
            if menu.name in by_name:
                raise ValueError(f"menu {menu.name!r} is given twice")
            by_name[menu.name] = menu
        self._menus: Mapping[str, Menu] = MappingProxyType(by_name)
        self._settings: dict[tuple[str, str], MenuSettings] = {}  # see menu_settings
        self._sources: Mapping[str, MenuSource] = MappingProxyType(dict(sources or {}))
        self._version = version if version is not None else _digest(by_name)

    def __getitem__(self, name: str) -> Menu:
        return self._menus[name]

    def __contains__(self, name: object) -> bool:
        # Mapping's own goes through __getitem__ and a KeyError; routing asks on every call.
        return name in self._menus

    def __iter__(self) -> Iterator[str]:
        return iter(self._menus)

    def __len__(self) -> int:
        return len(self._menus)

    def __repr__(self) -> str:
        return f"MenuSet(version={self._version!r}, menus={sorted(self._menus)!r})"

    @property
    def version(self) -> str:
        return self._version

    @property
    def sources(self) -> Mapping[str, MenuSource]:
        return self._sources

    def source(self, name: str) -> MenuSource:
        """Where menu `name` came from (a placeholder without positions if unknown)."""
        return self._sources.get(name) or MenuSource(file=f"<menu {name}>")

    def menu_settings(self, menu: str, node: str) -> MenuSettings:
        """The effective settings (`MenuNode.settings`) of menu node `node` of `menu`.

        Computed on first use and kept: a call needs them on every menu visit,
        and the menus of a set never change. KeyError for an unknown menu or
        node, TypeError if the node is not a `menu` node.
        """
        key = (menu, node)
        settings = self._settings.get(key)
        if settings is None:
            found = self._menus[menu]
            menu_node = found.nodes[node]
            if not isinstance(menu_node, MenuNode):
                raise TypeError(f"{menu}/{node} is a {menu_node.type} node, not a menu node")
            settings = self._settings[key] = menu_node.settings(found.defaults)
        return settings

    def node(self, menu: str, node: str) -> NodeBase | None:
        """The node `node` of menu `menu`, or None."""
        found = self._menus.get(menu)
        return None if found is None else found.nodes.get(node)
