"""A MenuSet as a directed graph of nodes: the basis of lint and of menu diagrams.

Vertices are `(menu, node)` pairs across every menu of the set; edges are the
gotos of each node (options, next, on_failure, on_timeout and whatever a
node type declares in `links()`), cross-menu gotos included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastagi.menus.model import MenuSet
from fastagi.menus.nodes import Link, NodeBase
from fastagi.menus.references import NodeRef, resolve_target

__all__ = ["Edge", "MenuGraph", "NodeRef", "strongly_connected"]


@dataclass(frozen=True)
class Edge:
    """A goto from `source`; `target` is None when it names nothing that exists."""

    source: NodeRef
    target: NodeRef | None
    link: Link


class MenuGraph:
    """Nodes and gotos of a MenuSet, in file order."""

    def __init__(self, menus: MenuSet) -> None:
        self.menus = menus
        self.nodes: dict[NodeRef, NodeBase] = {}
        self._out: dict[NodeRef, list[Edge]] = {}
        for name, menu in menus.items():
            for node_id, node in menu.nodes.items():
                ref = (name, node_id)
                self.nodes[ref] = node
                self._out[ref] = [
                    Edge(ref, resolve_target(menus, name, link.target), link)
                    for link in node.links()
                ]
            # A route leaves the menu before its start node plays: an edge from the start.
            start = (name, menu.start)
            if start in self._out:
                self._out[start] += [
                    Edge(
                        start,
                        resolve_target(menus, name, route.goto),
                        Link(("routes",), route.goto, "next"),
                    )
                    for route in menu.routes
                ]
        self.roots: list[NodeRef] = [
            (name, menu.start) for name, menu in menus.items() if menu.start in menu.nodes
        ]

    def edges(self, ref: NodeRef) -> list[Edge]:
        return self._out.get(ref, [])

    def successors(self, ref: NodeRef, keep: Callable[[Edge], bool] | None = None) -> list[NodeRef]:
        return [
            e.target for e in self.edges(ref) if e.target is not None and (keep is None or keep(e))
        ]

    def reachable(
        self, start: Iterable[NodeRef], keep: Callable[[Edge], bool] | None = None
    ) -> set[NodeRef]:
        """Every node reachable from `start` (included) over edges that `keep` accepts."""
        seen: set[NodeRef] = set()
        todo = [ref for ref in start if ref in self.nodes]
        while todo:
            ref = todo.pop()
            if ref in seen:
                continue
            seen.add(ref)
            todo.extend(self.successors(ref, keep))
        return seen

    def reaching(
        self, goals: Iterable[NodeRef], keep: Callable[[Edge], bool] | None = None
    ) -> set[NodeRef]:
        """Every node from which one of `goals` can be reached (goals included)."""
        back: dict[NodeRef, list[NodeRef]] = {ref: [] for ref in self.nodes}
        for ref in self.nodes:
            for succ in self.successors(ref, keep):
                back[succ].append(ref)
        seen: set[NodeRef] = set()
        todo = list(goals)
        while todo:
            ref = todo.pop()
            if ref in seen:
                continue
            seen.add(ref)
            todo.extend(back.get(ref, []))
        return seen


def strongly_connected(
    vertices: Iterable[NodeRef], successors: Callable[[NodeRef], Iterable[NodeRef]]
) -> list[list[NodeRef]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[NodeRef, int] = {}
    low: dict[NodeRef, int] = {}
    on_stack: set[NodeRef] = set()
    stack: list[NodeRef] = []
    components: list[list[NodeRef]] = []
    counter = 0
    for root in vertices:
        if root in index:
            continue
        work: list[tuple[NodeRef, list[NodeRef]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, list(successors(root))))
        while work:
            vertex, pending = work[-1]
            if pending:
                succ = pending.pop(0)
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, list(successors(succ))))
                elif succ in on_stack:
                    low[vertex] = min(low[vertex], index[succ])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[vertex])
            if low[vertex] == index[vertex]:
                component: list[NodeRef] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == vertex:
                        break
                components.append(component)
    return components
