"""The JSON Schema files match the models, and the demo files point editors at them."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from fastagi.menus import (
    NODE_TYPES,
    Menu,
    MenuDefaults,
    Scenario,
    ScenarioExpect,
    menu_json_schema,
    scenario_json_schema,
)
from fastagi.menus.nodes import node_type_names
from fastagi.menus.schema import (
    MENU_SCHEMA_PATH,
    SCENARIO_SCHEMA_PATH,
    render_schema,
    write_schemas,
)

REPO = Path(__file__).resolve().parents[2]


def test_committed_schema_files_are_up_to_date() -> None:
    # If this fails: python -c "from fastagi.menus.schema import write_schemas; write_schemas()"
    assert MENU_SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(menu_json_schema())
    assert SCENARIO_SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(scenario_json_schema())


def test_write_schemas(tmp_path: Path) -> None:
    written = write_schemas(tmp_path)
    assert [p.name for p in written] == ["menu.schema.json", "scenario.schema.json"]
    assert json.loads(written[0].read_text()) == menu_json_schema()


def test_schema_envelope_and_node_types() -> None:
    schema = menu_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:fastagi-ivr:")
    assert schema["title"] == "fastagi-ivr menu"
    assert "menu" not in schema["required"]
    nodes = schema["properties"]["nodes"]["patternProperties"]
    (node_schema,) = nodes.values()
    assert sorted(node_schema["discriminator"]["mapping"]) == sorted(node_type_names())
    menu_node = schema["$defs"]["MenuNode"]
    assert menu_node["additionalProperties"] is False
    assert menu_node["properties"]["options"]["additionalProperties"] is False


def test_demo_files_declare_the_schema(demo_dir: Path) -> None:
    for path in demo_dir.glob("*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../fastagi/menus/menu.schema.json"
        assert (path.parent / first.split("=", 1)[1]).resolve() == MENU_SCHEMA_PATH
    scenario = (demo_dir / "scenarios" / "demo.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert (demo_dir / "scenarios" / scenario.split("=", 1)[1]).resolve() == SCENARIO_SCHEMA_PATH


def test_every_key_is_documented() -> None:
    docs = (REPO / "docs" / "menus.md").read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [Menu, MenuDefaults, *NODE_TYPES, Scenario, ScenarioExpect]
    undocumented = [
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if f"`{name}`" not in docs and f"`{name}:" not in docs and f"`expect.{name}`" not in docs
    ]
    assert undocumented == []
    for tag in node_type_names():
        assert f"### `{tag}`" in docs
