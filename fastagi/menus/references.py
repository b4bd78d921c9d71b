"""Cross-references: every goto and start node must name something that exists.

Used by the loader (a file alone checks its own nodes; a set checks gotos
between menus) and by the linter, with "did you mean" hints for typos.
"""

from __future__ import annotations

from fastagi.menus._validation import did_you_mean
from fastagi.menus._yaml import PathKey
from fastagi.menus.model import MenuSet
from fastagi.menus.problems import Problem
from fastagi.menus.target import Target

__all__ = ["NodeRef", "reference_problems", "resolve_target"]

#: A node anywhere in a MenuSet: (menu name, node id).
NodeRef = tuple[str, str]


def resolve_target(menus: MenuSet, current_menu: str, target: Target) -> NodeRef | None:
    """The node a goto written in `current_menu` leads to, or None if it does not exist."""
    name, node = target.resolve(current_menu)
    menu = menus.get(name)
    if menu is None:
        return None
    node = node if node is not None else menu.start
    return (name, node) if node in menu.nodes else None


def _explain(menus: MenuSet, current: str, target: Target) -> tuple[str, str]:
    """(message, hint) for a target that does not resolve."""
    name, node = target.resolve(current)
    menu = menus.get(name)
    if target.is_local:
        assert node is not None
        nodes = menus[current].nodes
        hint = did_you_mean(node, set(nodes))
        if not hint and node in menus:
            hint = f"to go to menu {node!r} write 'menu:{node}'"
        return f"unknown node {node!r}", hint
    if menu is None:
        return f"unknown menu {name!r}", did_you_mean(name, set(menus))
    if node is None:
        return f"menu {name!r} has no start node {menu.start!r}", ""
    return f"menu {name!r} has no node {node!r}", did_you_mean(node, set(menu.nodes))


def reference_problems(menus: MenuSet, *, local_only: bool = False) -> list[Problem]:
    """Missing start nodes and gotos to missing nodes or menus.

    With `local_only`, gotos into other menus are not checked (one file alone).
    """
    problems: list[Problem] = []
    for name, menu in menus.items():
        source = menus.source(name)
        if menu.start not in menu.nodes:
            problems.append(
                source.problem(
                    ("start",),
                    f"start node {menu.start!r} does not exist",
                    hint=did_you_mean(menu.start, set(menu.nodes)),
                    code="missing-start",
                )
            )
        links: list[tuple[PathKey, Target]] = [
            (("routes", index, "goto"), route.goto) for index, route in enumerate(menu.routes)
        ]
        links += [
            (("nodes", node_id, *link.key_path), link.target)
            for node_id, node in menu.nodes.items()
            for link in node.links()
        ]
        for key_path, target in links:
            if local_only and not target.is_local:
                continue
            if resolve_target(menus, name, target) is not None:
                continue
            message, hint = _explain(menus, name, target)
            problems.append(source.problem(key_path, message, hint=hint, code="missing-target"))
    return problems
