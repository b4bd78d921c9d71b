"""Flow lint: problems in how calls move through a MenuSet.

Each rule returns Problems with a severity. Errors (the caller could get
stuck, or a goto leads nowhere) make `ivr validate` and `ivr reload` fail;
warnings are printed. `LINT_RULES` lists the rules for docs and CLI help.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

from fastagi.menus.graph import Edge, MenuGraph, NodeRef, strongly_connected
from fastagi.menus.model import MenuSet
from fastagi.menus.nodes import MenuNode, NodeBase
from fastagi.menus.problems import Problem, Severity
from fastagi.menus.references import reference_problems

__all__ = ["LINT_RULES", "lint_menus"]

LINT_RULES: Final[Mapping[str, str]] = {
    "missing-target": "error: a goto names a node or menu that does not exist",
    "missing-start": "error: the start node does not exist",
    "dead-end": "error: a node has no way forward (play/say/set without next)",
    "no-way-out": "error: a loop of nodes the call can never leave",
    "no-options": "error: a menu node with neither options nor direct_dial",
    "unreachable-option": "error: an option the caller cannot enter (too long, or contains the"
    " terminator)",
    "unreachable": "warning: a node no call can reach from any menu's start",
    "silent-loop": "warning: a caller who presses nothing goes round a loop forever",
    "no-failure-exit": "warning: a menu node hangs up after too many invalid entries or"
    " timeouts (no on_failure/on_timeout)",
    "silent-retry": "warning: a menu node says nothing after an invalid entry or a timeout",
    "duplicate-digits": "warning: an option is also matched by direct_dial (the option wins)",
}


def _problem(
    menus: MenuSet,
    ref: NodeRef,
    sub: tuple[str, ...],
    message: str,
    code: str,
    *,
    hint: str = "",
    at_key: bool = False,
) -> Problem:
    severity: Severity = "error" if LINT_RULES[code].startswith("error") else "warning"
    return menus.source(ref[0]).problem(
        ("nodes", ref[1], *sub),
        message,
        hint=hint,
        severity=severity,
        code=code,
        at_key=at_key,
    )


def _label(ref: NodeRef, home: str) -> str:
    return ref[1] if ref[0] == home else f"{ref[0]}/{ref[1]}"


def _is_dead_end(node: NodeBase) -> bool:
    return not node.links() and not node.ends_call()


def _dead_ends(graph: MenuGraph) -> list[Problem]:
    found = []
    for ref, node in graph.nodes.items():
        if _is_dead_end(node):
            needs = "'next'" if "next" in type(node).model_fields else "a way forward"
            found.append(
                _problem(
                    graph.menus,
                    ref,
                    (),
                    f"the call stops here: a {node.type} node needs {needs}",
                    "dead-end",
                    at_key=True,
                )
            )
    return found


def _unreachable(graph: MenuGraph) -> list[Problem]:
    reached = graph.reachable(graph.roots)
    return [
        _problem(graph.menus, ref, (), "no call can reach this node", "unreachable", at_key=True)
        for ref in graph.nodes
        if ref not in reached
    ]


def _loops_without_exit(
    graph: MenuGraph,
    ends: Callable[[NodeRef], bool],
    keep: Callable[[Edge], bool] | None,
    skip: set[NodeRef],
) -> list[list[NodeRef]]:
    """Cycles from which no ending node can be reached (over edges `keep` accepts)."""
    goals = [ref for ref in graph.nodes if ends(ref)]
    # A goto to a missing node is reported on its own; do not call it a loop too.
    goals += [e.source for ref in graph.nodes for e in graph.edges(ref) if e.target is None]
    can_end = graph.reaching(goals, keep)
    trapped = [ref for ref in graph.nodes if ref not in can_end and ref not in skip]
    inside = set(trapped)
    loops = []
    for component in strongly_connected(
        trapped, lambda r: [s for s in graph.successors(r, keep) if s in inside]
    ):
        cyclic = len(component) > 1 or component[0] in graph.successors(component[0], keep)
        if cyclic:
            order = list(graph.nodes)
            loops.append(sorted(component, key=order.index))
    return loops


def _describe(loop: list[NodeRef]) -> str:
    home = loop[0][0]
    names = [_label(ref, home) for ref in loop]
    return " -> ".join([*names, names[0]]) if len(names) > 1 else f"{names[0]} -> {names[0]}"


def _no_way_out(graph: MenuGraph) -> tuple[list[Problem], set[NodeRef]]:
    def ends(ref: NodeRef) -> bool:
        node = graph.nodes[ref]
        return bool(node.ends_call()) or _is_dead_end(node)

    loops = _loops_without_exit(graph, ends, None, set())
    problems = [
        _problem(
            graph.menus,
            loop[0],
            (),
            f"these nodes loop forever with no way out: {_describe(loop)}",
            "no-way-out",
            hint="add a goto to a menu, a return or a hangup node",
            at_key=True,
        )
        for loop in loops
    ]
    return problems, {ref for loop in loops for ref in loop}


def _listens(node: NodeBase) -> bool:
    return any(link.kind == "option" for link in node.links()) or isinstance(node, MenuNode)


def _silent_loops(graph: MenuGraph, skip: set[NodeRef]) -> list[Problem]:
    """Follow what a caller who never presses a key does: on_timeout at every menu."""

    def ends(ref: NodeRef) -> bool:
        node = graph.nodes[ref]
        return bool(node.ends_call() & {"always", "timeout"}) or _is_dead_end(node)

    def keep(edge: Edge) -> bool:
        return not _listens(graph.nodes[edge.source]) or edge.link.kind == "timeout"

    problems = []
    for loop in _loops_without_exit(graph, ends, keep, skip):
        at = next((ref for ref in loop if _listens(graph.nodes[ref])), loop[0])
        problems.append(
            _problem(
                graph.menus,
                at,
                (),
                f"a caller who presses nothing goes round {_describe(loop)} until the call"
                " is cut off",
                "silent-loop",
                hint="send on_timeout somewhere that ends, e.g. an operator",
                at_key=True,
            )
        )
    return problems


def _menu_handling(graph: MenuGraph) -> list[Problem]:
    problems = []
    for ref, node in graph.nodes.items():
        if not isinstance(node, MenuNode):
            continue
        menus = graph.menus
        settings = node.settings(menus[ref[0]].defaults)
        if not node.options and node.direct_dial is None:
            problems.append(
                _problem(menus, ref, (), "a menu node needs options", "no-options", at_key=True)
            )
        for key, count, what in (
            ("on_failure", settings.max_failures, "invalid entries"),
            ("on_timeout", settings.max_timeouts, "timeouts"),
        ):
            if getattr(node, key) is None:
                problems.append(
                    _problem(
                        menus,
                        ref,
                        (),
                        f"no {key}: after {count} {what} the caller is hung up",
                        "no-failure-exit",
                        hint=f"set {key}, e.g. to an operator node",
                        at_key=True,
                    )
                )
        for key, when in _RETRY_PROMPTS:
            if key in node.model_fields_set and getattr(node, key) is None:
                problems.append(
                    _problem(
                        menus,
                        ref,
                        (key,),
                        f"{key} is off: the caller hears nothing after {when}",
                        "silent-retry",
                    )
                )
        problems += _option_digits(menus, ref, node)
    return problems + _silent_defaults(graph)


_RETRY_PROMPTS = (("invalid_prompt", "an invalid entry"), ("timeout_prompt", "a timeout"))


def _silent_defaults(graph: MenuGraph) -> list[Problem]:
    """A prompt switched off in `defaults`, reported once per file where it is used."""
    problems = []
    for name, menu in graph.menus.items():
        menu_nodes = [n for n in menu.nodes.values() if isinstance(n, MenuNode)]
        for key, when in _RETRY_PROMPTS:
            inherits = [n for n in menu_nodes if key not in n.model_fields_set]
            if inherits and getattr(menu.defaults, key) is None:
                problems.append(
                    graph.menus.source(name).problem(
                        ("defaults", key),
                        f"{key} is off: callers hear nothing after {when}",
                        severity="warning",
                        code="silent-retry",
                    )
                )
    return problems


def _option_digits(menus: MenuSet, ref: NodeRef, node: MenuNode) -> list[Problem]:
    problems = []
    for key in node.options:
        where = ("options", key)
        if len(key) > node.digits:
            problems.append(
                _problem(
                    menus,
                    ref,
                    where,
                    f"option {key!r} has {len(key)} digits but this menu collects at most"
                    f" {node.digits}",
                    "unreachable-option",
                    hint=f"set digits: {len(key)}",
                    at_key=True,
                )
            )
        elif node.terminator is not None and node.terminator in key[1:]:
            problems.append(
                _problem(
                    menus,
                    ref,
                    where,
                    f"option {key!r} contains the terminator {node.terminator!r}, which ends"
                    " the entry",
                    "unreachable-option",
                    at_key=True,
                )
            )
        if node.direct_dial is not None and re.fullmatch(node.direct_dial, key):
            problems.append(
                _problem(
                    menus,
                    ref,
                    where,
                    f"entry {key!r} is an option and also matches direct_dial; the option wins",
                    "duplicate-digits",
                    at_key=True,
                )
            )
    return problems


def lint_menus(menus: MenuSet) -> list[Problem]:
    """Every flow problem in `menus`, errors and warnings, sorted by file and line."""
    graph = MenuGraph(menus)
    problems = reference_problems(menus)
    problems += _dead_ends(graph)
    trapped_problems, trapped = _no_way_out(graph)
    problems += trapped_problems
    problems += _silent_loops(graph, trapped)
    problems += _unreachable(graph)
    problems += _menu_handling(graph)
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0, p.code))
