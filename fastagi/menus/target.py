"""Where a menu goes next: a node of the same menu, or another menu (or a node of it).

Written in YAML as `sales` (a node id), `menu:main_ru` (that menu's start
node) or `menu:main_ru/support` (a node of that menu). Parsed once into a
`Target`, so the engine and the linter never look at raw strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = [
    "MENU_NAME_PATTERN",
    "NODE_ID_PATTERN",
    "TARGET_PATTERN",
    "Target",
    "check_menu_name",
    "check_node_id",
]

MENU_NAME_PATTERN = r"^[a-z0-9_-]{1,64}$"
NODE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TARGET_PATTERN = r"^(menu:[a-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64})?|[A-Za-z0-9_-]{1,64})$"

_MENU_NAME = re.compile(MENU_NAME_PATTERN)
_NODE_ID = re.compile(NODE_ID_PATTERN)
_PREFIX = "menu:"


def check_menu_name(name: str) -> str:
    if not _MENU_NAME.fullmatch(name):
        raise ValueError(
            f"menu name {name!r} may use only lowercase letters, digits, '_' and '-' (max 64)"
        )
    return name


def check_node_id(node: str) -> str:
    if not _NODE_ID.fullmatch(node):
        raise ValueError(f"node id {node!r} may use only letters, digits, '_' and '-' (max 64)")
    return node


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed goto: `menu` is None for a node of the same menu; `node` None means start."""

    menu: str | None = None
    node: str | None = None

    def __post_init__(self) -> None:
        if self.menu is None and self.node is None:
            raise ValueError("a target needs a node or a menu")
        if self.menu is not None:
            check_menu_name(self.menu)
        if self.node is not None:
            check_node_id(self.node)

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse `node`, `menu:<name>` or `menu:<name>/<node>`; raise ValueError with advice."""
        text = text.strip()
        if text.startswith(_PREFIX):
            rest = text[len(_PREFIX) :].strip()
            if not rest:
                raise ValueError(
                    f"target {text!r} names no menu: write 'menu:<name>' or 'menu:<name>/<node>'"
                )
            name, _, node = rest.partition("/")
            if not _MENU_NAME.fullmatch(name):
                raise ValueError(
                    f"target {text!r}: menu name {name!r} may use only lowercase letters,"
                    " digits, '_' and '-'"
                )
            if "/" in rest and not _NODE_ID.fullmatch(node):
                raise ValueError(
                    f"target {text!r}: node id {node!r} may use only letters, digits, '_' and '-'"
                )
            return cls(menu=name, node=node or None)
        if not _NODE_ID.fullmatch(text):
            raise ValueError(
                f"target {text!r} is neither a node id (letters, digits, '_', '-') nor"
                " 'menu:<name>' / 'menu:<name>/<node>'"
            )
        return cls(node=text)

    @property
    def is_local(self) -> bool:
        """True for a node of the menu the target is written in."""
        return self.menu is None

    def resolve(self, current_menu: str) -> tuple[str, str | None]:
        """(menu name, node id or None for that menu's start node)."""
        return (self.menu or current_menu, self.node)

    def __str__(self) -> str:
        if self.menu is None:
            return str(self.node)
        if self.node is None:
            return f"{_PREFIX}{self.menu}"
        return f"{_PREFIX}{self.menu}/{self.node}"

    def __repr__(self) -> str:
        return f"Target({str(self)!r})"

    @classmethod
    def _validate(cls, value: object) -> Target:
        if isinstance(value, Target):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError(
            f"a target must be a node id or 'menu:<name>[/<node>]', not {type(value).__name__}"
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": TARGET_PATTERN,
            "description": (
                "Where to go: a node id of this menu, 'menu:<name>' (that menu's start node)"
                " or 'menu:<name>/<node>'."
            ),
        }
