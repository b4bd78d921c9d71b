"""YAML menus: models, loader (errors carry file:line), lint, engine, hot reload.

    menus = load_menus("ivr_menus")          # MenuSet, or MenuError with file:line
    problems = lint_menus(menus)             # errors and warnings
    outcome = await MenuEngine(menus).run(call, "main")

See docs/menus.md for the file format.
"""

from fastagi.menus.engine import DEFAULT_MAX_STEPS, MenuEngine
from fastagi.menus.lint import LINT_RULES, lint_menus
from fastagi.menus.loader import load_menu_file, load_menus
from fastagi.menus.model import Menu, MenuSet, MenuSource
from fastagi.menus.nodes import (
    NODE_TYPES,
    HangupNode,
    MenuDefaults,
    MenuNode,
    NodeBase,
    PlayNode,
    ReturnNode,
    SayNode,
    SetNode,
)
from fastagi.menus.outcome import OUTCOME_KINDS, Outcome, OutcomeKind
from fastagi.menus.problems import MenuError, Problem, Severity
from fastagi.menus.registry import MenuRegistry, NoMenusLoaded, NothingToRollBack
from fastagi.menus.scenarios import Scenario, ScenarioExpect, load_scenarios, scenario_mismatches
from fastagi.menus.schema import menu_json_schema, scenario_json_schema, write_schemas
from fastagi.menus.session import MenuCall
from fastagi.menus.target import Target

__all__ = [
    "DEFAULT_MAX_STEPS",
    "LINT_RULES",
    "NODE_TYPES",
    "OUTCOME_KINDS",
    "HangupNode",
    "Menu",
    "MenuCall",
    "MenuDefaults",
    "MenuEngine",
    "MenuError",
    "MenuNode",
    "MenuRegistry",
    "MenuSet",
    "MenuSource",
    "NoMenusLoaded",
    "NodeBase",
    "NothingToRollBack",
    "Outcome",
    "OutcomeKind",
    "PlayNode",
    "Problem",
    "ReturnNode",
    "SayNode",
    "Scenario",
    "ScenarioExpect",
    "SetNode",
    "Severity",
    "Target",
    "lint_menus",
    "load_menu_file",
    "load_menus",
    "load_scenarios",
    "menu_json_schema",
    "scenario_json_schema",
    "scenario_mismatches",
    "write_schemas",
]
