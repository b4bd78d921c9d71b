"""JSON Schema of the menu and scenario formats, generated from the models.

Editors use it to complete keys and flag typos while an admin types
(yaml-language-server in VS Code, Neovim, JetBrains). The generated files
ship next to this module; a test checks they are up to date, and
`write_schemas()` regenerates them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from fastagi.menus.model import Menu
from fastagi.menus.scenarios import Scenario

__all__ = [
    "MENU_SCHEMA_ID",
    "MENU_SCHEMA_PATH",
    "SCENARIO_SCHEMA_ID",
    "SCENARIO_SCHEMA_PATH",
    "menu_json_schema",
    "render_schema",
    "scenario_json_schema",
    "write_schemas",
]

_HERE = Path(__file__).resolve().parent
MENU_SCHEMA_PATH = _HERE / "menu.schema.json"
SCENARIO_SCHEMA_PATH = _HERE / "scenario.schema.json"
MENU_SCHEMA_ID = "urn:fastagi-ivr:schema:menu:1"
SCENARIO_SCHEMA_ID = "urn:fastagi-ivr:schema:scenarios:1"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _envelope(schema: dict[str, Any], schema_id: str, title: str) -> dict[str, Any]:
    return {"$schema": _DRAFT, "$id": schema_id, **schema, "title": title}


def _close_pattern_maps(schema: Any) -> None:
    """Keys of node and option maps are checked by pattern: refuse all others too."""
    if isinstance(schema, dict):
        if "patternProperties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _close_pattern_maps(value)
    elif isinstance(schema, list):
        for item in schema:
            _close_pattern_maps(item)


def menu_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one menu file."""
    schema = Menu.model_json_schema(mode="validation")
    # `menu:` may be left out: the loader names the menu after its file.
    schema["required"] = [name for name in schema.get("required", []) if name != "menu"]
    _close_pattern_maps(schema)
    return _envelope(schema, MENU_SCHEMA_ID, "fastagi-ivr menu")


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file (a list of scripted calls)."""
    schema = TypeAdapter(list[Scenario]).json_schema(mode="validation")
    _close_pattern_maps(schema)
    return _envelope(schema, SCENARIO_SCHEMA_ID, "fastagi-ivr call scenarios")


def render_schema(schema: dict[str, Any]) -> str:
    """The text committed to the schema files (stable key order, trailing newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path | None = None) -> list[Path]:
    """Write menu.schema.json and scenario.schema.json; return the paths written."""
    menu_path = MENU_SCHEMA_PATH if directory is None else directory / MENU_SCHEMA_PATH.name
    scenario_path = (
        SCENARIO_SCHEMA_PATH if directory is None else directory / SCENARIO_SCHEMA_PATH.name
    )
    menu_path.write_text(render_schema(menu_json_schema()), encoding="utf-8")
    scenario_path.write_text(render_schema(scenario_json_schema()), encoding="utf-8")
    return [menu_path, scenario_path]
