"""A menu as a picture: a layered layout of its nodes and gotos, drawn as SVG.

    layout = menu_layout(menus, "main")   # boxes and arrows with coordinates, as data
    svg = menu_svg(menus, "main")         # a self-contained SVG document (text)

Pure functions: no I/O, no third-party renderer. The SVG carries its styles
as attributes (no CSS, fonts or scripts), a `viewBox`, ids prefixed with the
menu name and escaped text, so a web page can embed it as it is. The same
input always gives byte-identical output.

The layout is layered (Sugiyama-like):

1. layers - the BFS depth from the start node; the targets of the menu's
   `routes` are at depth 1. A goto into another menu ends at a small exit box
   one layer below its node. Nodes no call can reach form a last, grey row.
   With BFS depths every other goto leads one layer down ("forward"), into
   the same layer ("flat") or back up ("back").
2. order - discovery order, then barycentre sweeps down and up; the order with
   the fewest crossings between adjacent layers is kept.
3. coordinates - each box centred under the boxes pointing at it, packed left
   to right. The gap below a layer grows with the arrows that run through it.
4. arrows - forward arrows are S-curves from the bottom of one box to the top
   of the next; back arrows run out in a lane at the side of the picture and in
   again; flat arrows dip into the gap below their layer. Each has its own row
   in a gap, so labels do not overlap. The call enters at a circle above the
   start node; route arrows leave it beside the start node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from fastagi.menus.action_nodes import (
    CallbackNode,
    ConferenceNode,
    DialplanNode,
    FaxNode,
    HoldNode,
    HoursNode,
    LanguageNode,
    QueueNode,
    RecordNode,
    TransferNode,
    VoicemailNode,
)
from fastagi.menus.model import MenuSet
from fastagi.menus.node_base import Link, NodeBase
from fastagi.menus.nodes import (
    HangupNode,
    MenuNode,
    PlayNode,
    ReturnNode,
    SayNode,
    SetNode,
    TicketOpenNode,
    TicketStatusNode,
)
from fastagi.menus.references import resolve_target
from fastagi.menus.target import Target

__all__ = [
    "CALL_BOX",
    "Arrow",
    "ArrowOrigin",
    "ArrowShape",
    "Box",
    "BoxKind",
    "Layout",
    "LegendItem",
    "link_label",
    "menu_layout",
    "menu_svg",
    "node_group",
    "node_summary",
    "render_svg",
    "truncate",
]

#: call: where the call enters; node: a node of the menu; exit: a goto into another menu;
#: dial: a menu's direct dial (the entry goes back to the dialplan); missing: a goto to nothing.
BoxKind = Literal["call", "node", "exit", "dial", "missing"]
#: entry: call -> start node; route: call -> a route's goto; link: a node's Link; direct_dial.
ArrowOrigin = Literal["entry", "route", "link", "direct_dial"]
#: forward: one layer down; back: to an earlier layer (or a later one past the next);
#: flat: within a layer; loop: to itself; route: from the call past the start node.
ArrowShape = Literal["forward", "back", "flat", "loop", "route"]
Anchor = Literal["start", "middle", "end"]
Point = tuple[float, float]

#: The id of the circle the call enters at (node ids cannot hold ':').
CALL_BOX: Final = ":call"

# Geometry (SVG user units, about pixels).
MARGIN = 24.0
NODE_W = 200.0
NODE_H = 60.0
EXIT_H = 30.0
EXIT_MIN_W = 80.0
CALL_R = 18.0
H_GAP = 36.0  # between boxes of a layer
LANE_GAP = 28.0  # between the widest layer and the first back-arrow lane
LANE_STEP = 14.0  # between lanes
ROUTE_GAP = 30.0  # between the start node and the first route lane
ROW = 15.0  # a labelled row in a gap
ENTER_ROW = 6.0  # an unlabelled row where an arrow runs in towards its target
GAP_PAD = 10.0
MIN_GAP = 64.0
CAPTION_H = 24.0
CORNER = 8.0
LOOP_W = 20.0
MIN_WIDTH = 420.0
LEGEND_ROW = 20.0

# Text limits (characters) before an ellipsis.
TITLE_CHARS = 24
TYPE_CHARS = 30
DESCRIPTION_CHARS = 30
LABEL_CHARS = 18
ROUTE_CHARS = 30
EXIT_CHARS = 28
HEADER_CHARS = 90

FONT = "Helvetica, Arial, sans-serif"
ELLIPSIS = "\u2026"

#: Colour group -> (fill, stroke, legend text); boxes of unreachable nodes use "unreachable".
BOX_STYLES: Final[dict[str, tuple[str, str, str]]] = {
    "menu": ("#dbeafe", "#2563eb", "menu"),
    "prompt": ("#dcfce7", "#16a34a", "play / say"),
    "action": ("#ffedd5", "#ea580c", "action (queue, transfer, voicemail\u2026)"),
    "logic": ("#f3e8ff", "#9333ea", "set, hours, tickets\u2026"),
    "end": ("#fee2e2", "#dc2626", "end (return, hangup, dialplan)"),
    "exit": ("#f1f5f9", "#475569", "another menu / the dialplan"),
    "missing": ("#ffffff", "#dc2626", "missing target"),
    "unreachable": ("#f3f4f6", "#9ca3af", "unreachable"),
    "call": ("#0f172a", "#0f172a", "call"),
}
#: Arrow kind -> (colour, dash pattern, legend text).
ARROW_STYLES: Final[dict[str, tuple[str, str, str]]] = {
    "option": ("#334155", "", "option / next"),
    "next": ("#334155", "", "option / next"),
    "failure": ("#dc2626", "6 3", "failure (invalid, busy\u2026)"),
    "timeout": ("#d97706", "2 3", "timeout"),
    "route": ("#7c3aed", "", "route"),
    "entry": ("#0f172a", "", "entry"),
    "direct_dial": ("#0891b2", "6 3", "direct dial"),
}
GREY = "#9ca3af"
TEXT = "#0f172a"
MUTED = "#64748b"

_GROUPS: Final[dict[str, str]] = {
    "menu": "menu",
    "play": "prompt",
    "say": "prompt",
    "return": "end",
    "hangup": "end",
    "dialplan": "end",
    "queue": "action",
    "transfer": "action",
    "voicemail": "action",
    "callback": "action",
    "hold": "action",
    "conference": "action",
    "record": "action",
    "fax": "action",
}


# --- public data --------------------------------------------------------------------------


class _Rectangle:
    """Centre and far edges of a box whose (x, y) is its top left."""

    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Box(_Rectangle):
    """A box of the picture: a node, an exit, the call circle; (x, y) is its top left."""

    id: str
    kind: BoxKind
    title: str
    node_type: str
    description: str
    group: str
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float
    reachable: bool
    start: bool


@dataclass(frozen=True)
class Arrow:
    """An arrow between two boxes; `key_path` says where it comes from in the menu file.

    For a link it is the Link's key path (relative to the node), for a route
    `("routes", "<index>")`, for the entry `("start",)`, for a direct dial
    `("direct_dial",)`. `kind` is the Link kind, or "route", "entry", "direct_dial".
    """

    source: str
    target: str
    origin: ArrowOrigin
    kind: str
    label: str
    detail: str
    key_path: tuple[str, ...]
    shape: ArrowShape
    path: str
    label_x: float
    label_y: float
    label_anchor: Anchor
    reachable: bool


@dataclass(frozen=True)
class LegendItem:
    """A legend entry: a box swatch of a colour group or a line of an arrow kind."""

    kind: Literal["box", "line"]
    style: str
    label: str
    x: float
    y: float


@dataclass(frozen=True)
class Layout:
    """Where everything of one menu's picture goes; `render_svg` draws it."""

    menu: str
    description: str
    width: float
    height: float
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    legend: tuple[LegendItem, ...]
    #: Where the "not reachable" caption goes (left end of its baseline), if any node is.
    unreachable_caption: Point | None = None

    def box(self, box_id: str) -> Box:
        for box in self.boxes:
            if box.id == box_id:
                return box
        raise KeyError(box_id)

    @property
    def nodes(self) -> tuple[Box, ...]:
        """The boxes of the menu's nodes, in file order."""
        return tuple(box for box in self.boxes if box.kind == "node")

    @property
    def layers(self) -> tuple[tuple[str, ...], ...]:
        """Box ids of the reachable layers (0 = the start node), left to right."""
        reachable = [box for box in self.boxes if box.reachable and box.kind != "call"]
        depth = max((box.layer for box in reachable), default=-1)
        return tuple(
            tuple(b.id for b in sorted(reachable, key=lambda b: b.order) if b.layer == layer)
            for layer in range(depth + 1)
        )

    @property
    def unreachable(self) -> tuple[str, ...]:
        """Ids of the nodes no call can reach (file order)."""
        return tuple(box.id for box in self.nodes if not box.reachable)

    def arrows_from(self, source: str) -> tuple[Arrow, ...]:
        return tuple(arrow for arrow in self.arrows if arrow.source == source)


# --- texts --------------------------------------------------------------------------------

_INVALID_XML = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """One line of text that XML accepts (control characters become spaces)."""
    return " ".join(_INVALID_XML.sub(" ", text).split())


def truncate(text: str, limit: int) -> str:
    """`text` on one line, cut to at most `limit` characters with an ellipsis."""
    text = _clean(text)
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def node_group(node: NodeBase) -> str:
    """The colour group of a node type: menu, prompt, action, logic or end."""
    return _GROUPS.get(node.type, "logic")


def node_summary(node: NodeBase) -> str:
    """A short description: the node's `description`, else what it does in a few words."""
    if node.description.strip():
        return _clean(node.description)
    return _clean(_what_it_does(node))


def _what_it_does(node: NodeBase) -> str:
    match node:
        case MenuNode():
            return node.greeting
        case PlayNode():
            return ", ".join(node.prompts)
        case SayNode():
            return f"digits {node.digits}" if node.digits is not None else f"number {node.number}"
        case SetNode():
            return ", ".join(f"{name}={value}" for name, value in node.variables.items())
        case ReturnNode():
            return f"result {node.result}"
        case HangupNode():
            return node.prompt or "hang up"
        case QueueNode():
            return f"queue {node.queue}"
        case TransferNode():
            if node.extension is not None:
                return f"extension {node.extension}"
            if node.number is not None:
                return f"{node.number} via {node.trunk}"
            return f"extension the caller types ({node.entered})"
        case VoicemailNode():
            return f"mailbox {node.mailbox}"
        case CallbackNode():
            return f"callback, queue {node.queue}"
        case HoldNode():
            return f"hold {node.duration:g} s, {node.music_class}"
        case HoursNode():
            return f"calendar {node.calendar or 'default'}"
        case RecordNode():
            return f"{node.action} recording"
        case ConferenceNode():
            return f"room {node.room}"
        case FaxNode():
            return f"fax to {node.folder}"
        case LanguageNode():
            return f"language {node.language}"
        case DialplanNode():
            return f"{node.context},{node.extension},{node.priority}"
        case TicketStatusNode():
            return "status of the latest open ticket"
        case TicketOpenNode():
            return node.subject
    return ""


def link_label(link: Link) -> str:
    """An arrow's label: the digits of a menu option, else the field ("next", "busy"...)."""
    if link.kind == "option":
        return link.key_path[-1]
    return link.key_path[0].removeprefix("on_")


def _short_condition(text: str) -> str:
    """`segment 'vip'` -> `segment vip`: quotes dropped around single words."""
    return re.sub(r"'([^'\s]+)'", r"\1", text)


def _text_width(text: str, size: float, *, bold: bool = False) -> float:
    """An estimate: no font metrics without a renderer."""
    return len(text) * size * (0.62 if bold else 0.56)


def _label_width(text: str) -> float:
    return _text_width(text, 10) + 6


# --- building the layout ------------------------------------------------------------------


@dataclass
class _Box(_Rectangle):
    id: str
    kind: BoxKind
    title: str
    node_type: str = ""
    description: str = ""
    group: str = ""
    owner: str = ""
    start: bool = False
    reachable: bool = False
    layer: int = 0
    order: int = 0
    x: float = 0.0
    y: float = 0.0
    width: float = NODE_W
    height: float = NODE_H


@dataclass
class _Arrow:
    index: int
    source: str
    target: str
    origin: ArrowOrigin
    kind: str
    label: str
    detail: str
    key_path: tuple[str, ...]
    shape: ArrowShape = "forward"
    side: int = 1  # lane side: -1 left, 1 right
    lane: float = 0.0
    start: Point = (0.0, 0.0)
    end: Point = (0.0, 0.0)
    leave_y: float = 0.0
    enter_y: float = 0.0
    label_row: int = 0
    points: list[Point] = field(default_factory=list)
    curved: bool = False
    label_at: Point = (0.0, 0.0)
    anchor: Anchor = "middle"


@dataclass
class _Gap:
    """The space below a layer: labelled rows of arrows leaving it, forward labels, and
    unlabelled rows of arrows running in towards the next layer."""

    leaving: list[_Arrow] = field(default_factory=list)
    entering: list[_Arrow] = field(default_factory=list)
    forward_rows: int = 0
    caption: bool = False
    top: float = 0.0
    zone: float = 0.0

    def size(self) -> tuple[float, float]:
        """(height, forward label zone height)."""
        fixed = GAP_PAD + len(self.leaving) * ROW + len(self.entering) * ENTER_ROW + GAP_PAD
        zone = self.forward_rows * ROW + 2 * GAP_PAD if self.forward_rows else GAP_PAD
        zone = max(zone, MIN_GAP - fixed)
        return fixed + zone + (CAPTION_H if self.caption else 0.0), zone

    @property
    def zone_top(self) -> float:
        return self.top + GAP_PAD + len(self.leaving) * ROW

    @property
    def enter_base(self) -> float:
        return self.zone_top + self.zone + len(self.entering) * ENTER_ROW


class _Builder:
    def __init__(self, menus: MenuSet, name: str) -> None:
        if name not in menus:
            raise KeyError(f"no menu {name!r}")
        self.menus = menus
        self.name = name
        self.menu = menus[name]
        self.boxes: dict[str, _Box] = {}
        self.arrows: list[_Arrow] = []
        self.out: dict[str, list[_Arrow]] = {}
        self.reachable_layers = 0
        self.pairs: list[list[tuple[str, str]]] = []
        self.gaps: dict[int, _Gap] = {}

    # 0. boxes and arrows

    def _add_box(self, box: _Box) -> str:
        self.boxes.setdefault(box.id, box)
        return box.id

    def _goto_box(self, source: str, target: Target) -> str:
        """The box a goto from `source` ends at: a node, or an exit/missing box of its own."""
        ref = resolve_target(self.menus, self.name, target)
        if ref is not None and ref[0] == self.name:
            return ref[1]
        text = str(target)
        if ref is None:
            title = truncate(f"? {text}", EXIT_CHARS)
            box = _Box(f"{source}->?{text}", "missing", title, group="missing", owner=source)
        else:
            title = truncate(f"-> {text.removeprefix('menu:')}", EXIT_CHARS)
            box = _Box(f"{source}->{text}", "exit", title, group="exit", owner=source)
        box.description = f"goes to {text}" if ref is not None else f"{text} does not exist"
        box.width = max(EXIT_MIN_W, _text_width(title, 11, bold=True) + 22)
        box.height = EXIT_H
        return self._add_box(box)

    def _arrow(
        self,
        source: str,
        target: str,
        origin: ArrowOrigin,
        kind: str,
        label: str,
        detail: str,
        key_path: tuple[str, ...],
    ) -> None:
        arrow = _Arrow(len(self.arrows), source, target, origin, kind, label, detail, key_path)
        self.arrows.append(arrow)
        self.out.setdefault(source, []).append(arrow)

    def collect(self) -> None:
        menu = self.menu
        call = _Box(CALL_BOX, "call", "call", group="call", reachable=True, layer=-1)
        call.width = call.height = 2 * CALL_R
        self._add_box(call)
        for node_id, node in menu.nodes.items():
            self._add_box(
                _Box(
                    node_id,
                    "node",
                    node_id,
                    node_type=node.type,
                    description=node_summary(node),
                    group=node_group(node),
                    start=node_id == menu.start,
                )
            )
        entry = self._goto_box(CALL_BOX, Target(node=menu.start))
        label = "otherwise" if menu.routes else "start"
        detail = f"the call enters at {menu.start}" + (
            " when no route applies" if menu.routes else ""
        )
        self._arrow(CALL_BOX, entry, "entry", "entry", label, detail, ("start",))
        for index, route in enumerate(menu.routes):
            condition = route.when.describe()
            detail = f"route {index + 1}: {condition} -> {route.goto}"
            if route.description:
                detail += f" ({route.description})"
            self._arrow(
                CALL_BOX,
                self._goto_box(CALL_BOX, route.goto),
                "route",
                "route",
                truncate(_short_condition(condition), ROUTE_CHARS),
                detail,
                ("routes", str(index)),
            )
        for node_id, node in menu.nodes.items():
            for link in node.links():
                self._arrow(
                    node_id,
                    self._goto_box(node_id, link.target),
                    "link",
                    link.kind,
                    truncate(link_label(link), LABEL_CHARS),
                    f"{node_id}: {'.'.join(link.key_path)} -> {link.target}",
                    link.key_path,
                )
            if isinstance(node, MenuNode) and node.direct_dial is not None:
                dial = _Box(f"{node_id}->dial", "dial", "-> extension", group="exit", owner=node_id)
                dial.description = "the entry goes back to the dialplan as an extension"
                dial.width, dial.height = 110.0, EXIT_H
                self._arrow(
                    node_id,
                    self._add_box(dial),
                    "direct_dial",
                    "direct_dial",
                    truncate(node.direct_dial, LABEL_CHARS),
                    f"{node_id}: direct_dial {node.direct_dial} -> an extension in the dialplan",
                    ("direct_dial",),
                )

    # 1. layers

    def assign_layers(self) -> list[list[str]]:
        entry = self.out[CALL_BOX][0].target
        depth: dict[str, int] = {entry: 0}
        level = [entry]
        d = 0
        while level:
            found: list[str] = []
            if d == 0:
                for arrow in self.out[CALL_BOX][1:]:
                    if arrow.target not in depth:
                        depth[arrow.target] = 1
                        found.append(arrow.target)
            for source in level:
                for arrow in self.out.get(source, []):
                    if arrow.target not in depth:
                        depth[arrow.target] = d + 1
                        found.append(arrow.target)
            level = found
            d += 1
        last = max(depth.values()) + 1
        layers: list[list[str]] = [[] for _ in range(last)]
        for box_id, layer in depth.items():
            box = self.boxes[box_id]
            box.layer, box.reachable = layer, True
            layers[layer].append(box_id)
        lost: list[str] = []
        for node_id in self.menu.nodes:
            if node_id in depth:
                continue
            lost.append(node_id)
            lost += [b.id for b in self.boxes.values() if b.owner == node_id]
        for box_id in lost:
            self.boxes[box_id].layer = last
        if lost:
            layers.append(lost)
        self.reachable_layers = last
        for arrow in self.arrows:
            arrow.shape = self._shape(arrow)
        return layers

    def _shape(self, arrow: _Arrow) -> ArrowShape:
        source, target = self.boxes[arrow.source], self.boxes[arrow.target]
        if arrow.origin == "route" and target.layer > 0:
            return "route"
        if source.id == target.id:
            return "loop"
        if target.layer == source.layer + 1:
            return "forward"
        if target.layer == source.layer:
            return "flat"
        return "back"

    # 2. order

    def _down_pairs(self, layers: list[list[str]]) -> list[list[tuple[str, str]]]:
        """Per layer l: (box in l, box in l+1) for each arrow between them; routes count
        as arrows from the start node."""
        pairs: list[list[tuple[str, str]]] = [[] for _ in layers]
        entry = self.out[CALL_BOX][0].target
        for arrow in self.arrows:
            source = entry if arrow.shape == "route" else arrow.source
            if source == CALL_BOX:
                continue
            s, t = self.boxes[source], self.boxes[arrow.target]
            if t.layer == s.layer + 1 and t.layer < self.reachable_layers:
                pairs[s.layer].append((source, arrow.target))
        return pairs

    def order_layers(self, layers: list[list[str]]) -> list[list[str]]:
        pairs = self._down_pairs(layers)
        reach = self.reachable_layers

        def crossings(order: list[list[str]]) -> int:
            total = 0
            for layer in range(reach - 1):
                pos_s = {b: i for i, b in enumerate(order[layer])}
                pos_t = {b: i for i, b in enumerate(order[layer + 1])}
                edges = [(pos_s[s], pos_t[t]) for s, t in pairs[layer]]
                for i, (a1, b1) in enumerate(edges):
                    for a2, b2 in edges[i + 1 :]:
                        if (a1 - a2) * (b1 - b2) < 0:
                            total += 1
            return total

        def sweep(order: list[list[str]], layer: int, neighbour: int, up: bool) -> None:
            pos = {b: i for i, b in enumerate(order[neighbour])}
            links: dict[str, list[int]] = {b: [] for b in order[layer]}
            for s, t in pairs[min(layer, neighbour)]:
                mine, other = (s, t) if up else (t, s)
                links[mine].append(pos[other])
            current = {b: i for i, b in enumerate(order[layer])}

            def key(b: str) -> tuple[float, int]:
                near = links[b]
                return (sum(near) / len(near) if near else float(current[b]), current[b])

            order[layer] = sorted(order[layer], key=key)

        order = [list(layer) for layer in layers]
        best, fewest = [list(row) for row in order], crossings(order)
        for _ in range(4):
            for layer in range(1, reach):
                sweep(order, layer, layer - 1, up=False)
            for layer in range(reach - 2, -1, -1):
                sweep(order, layer, layer + 1, up=True)
            count = crossings(order)
            if count < fewest:
                best, fewest = [list(row) for row in order], count
        for row in best:
            for index, box_id in enumerate(row):
                self.boxes[box_id].order = index
        self.pairs = pairs
        return best

    # 3. coordinates

    def place(self, layers: list[list[str]]) -> None:
        gaps: dict[int, _Gap] = {layer: _Gap() for layer in range(-1, len(layers))}
        if len(layers) > self.reachable_layers:
            gaps[self.reachable_layers - 1].caption = True
        groups: dict[tuple[str, str], int] = {}
        for arrow in self.arrows:
            source, target = self.boxes[arrow.source], self.boxes[arrow.target]
            if arrow.shape == "forward":
                key = (arrow.source, arrow.target)
                arrow.label_row = groups.get(key, 0)
                groups[key] = arrow.label_row + 1
                gap = gaps[source.layer]
                gap.forward_rows = max(gap.forward_rows, arrow.label_row + 1)
            elif arrow.shape in ("back", "flat", "route"):
                gaps[source.layer].leaving.append(arrow)
                if arrow.shape != "flat":
                    gaps[target.layer - 1].entering.append(arrow)
        self.gaps = gaps
        # y: the call circle, then each layer below the gap above it
        top = 2 * CALL_R
        for layer in range(-1, len(layers)):
            if layer >= 0:
                for box_id in layers[layer]:
                    box = self.boxes[box_id]
                    box.y = top + (NODE_H - box.height) / 2
                top += NODE_H
            gap = gaps[layer]
            gap.top = top
            height, gap.zone = gap.size()
            if layer == len(layers) - 1:  # nothing below: only the rows leaving the layer
                height = 2 * GAP_PAD + len(gap.leaving) * ROW if gap.leaving else 0.0
            top += height
        # x: each box under the boxes pointing at it, packed left to right
        parents: dict[str, list[str]] = {}
        for layer_pairs in self.pairs:
            for s, t in layer_pairs:
                parents.setdefault(t, []).append(s)
        for row in layers[: self.reachable_layers]:
            wanted = {
                b: sum(self.boxes[p].cx for p in parents[b]) / len(parents[b])
                for b in row
                if b in parents
            }
            self._pack(row, wanted)
        if len(layers) > self.reachable_layers:
            left = min(b.x for b in self.boxes.values() if b.reachable and b.kind != "call")
            self._pack(layers[-1], {}, left=left)
        call, start = self.boxes[CALL_BOX], self.boxes[self.out[CALL_BOX][0].target]
        call.x, call.y = start.cx - CALL_R, 0.0

    def _pack(self, layer: list[str], wanted: dict[str, float], left: float = 0.0) -> None:
        right: float | None = None
        for box_id in layer:
            box = self.boxes[box_id]
            want = wanted[box_id] - box.width / 2 if box_id in wanted else None
            if right is None:
                box.x = want if want is not None else left
            else:
                box.x = max(want, right + H_GAP) if want is not None else right + H_GAP
            right = box.right
        offsets = [wanted[b] - self.boxes[b].cx for b in layer if b in wanted]
        if offsets:
            shift = sum(offsets) / len(offsets)
            for box_id in layer:
                self.boxes[box_id].x += shift

    # 4. arrows

    def lanes(self) -> None:
        content = [b for b in self.boxes.values() if b.kind != "call"]
        left = min(b.x for b in content)
        right = max(b.right for b in content)
        middle = (left + right) / 2
        backs = [a for a in self.arrows if a.shape == "back"]
        for side in (-1, 1):
            mine = []
            for arrow in backs:
                s, t = self.boxes[arrow.source], self.boxes[arrow.target]
                arrow_side = -1 if (s.cx + t.cx) / 2 < middle else 1
                if arrow_side == side:
                    mine.append((abs(s.layer - t.layer), -s.layer, s.order, arrow.index, arrow))
            for k, (*_, arrow) in enumerate(sorted(mine, key=lambda m: m[:4])):
                arrow.side = side
                edge = left if side < 0 else right
                arrow.lane = edge + side * (LANE_GAP + k * LANE_STEP)
        start = self.boxes[self.out[CALL_BOX][0].target]
        routes = [a for a in self.arrows if a.shape == "route"]
        for side in (-1, 1):
            mine_r = []
            for arrow in routes:
                t = self.boxes[arrow.target]
                arrow_side = -1 if t.cx < start.cx else 1
                if arrow_side == side:
                    mine_r.append((abs(t.cx - start.cx), arrow.index, arrow))
            for k, (*_, arrow) in enumerate(sorted(mine_r, key=lambda m: m[:2])):
                arrow.side = side
                edge = start.x if side < 0 else start.right
                arrow.lane = edge + side * (ROUTE_GAP + k * LANE_STEP)

    def ports(self) -> None:
        sides: dict[tuple[str, str], list[tuple[float, int, int, _Arrow]]] = {}

        def attach(box: str, side: str, key: float, arrow: _Arrow, end: int) -> None:
            sides.setdefault((box, side), []).append((key, arrow.index, end, arrow))

        loops: dict[str, int] = {}
        for arrow in self.arrows:
            s, t = self.boxes[arrow.source], self.boxes[arrow.target]
            match arrow.shape:
                case "forward":
                    attach(s.id, "bottom", t.cx, arrow, 0)
                    attach(t.id, "top", s.cx, arrow, 1)
                case "flat":
                    attach(s.id, "bottom", t.cx, arrow, 0)
                    attach(t.id, "bottom", s.cx, arrow, 1)
                case "back" | "route":
                    # the innermost lane leaves from the outermost port, so arrows nest
                    attach(s.id, "bottom", arrow.side * 1e6 - arrow.lane, arrow, 0)
                    attach(t.id, "top", arrow.lane, arrow, 1)
                case "loop":
                    k = loops.get(s.id, 0)
                    loops[s.id] = k + 1
                    reach = LOOP_W + 10 * k
                    arrow.start, arrow.end = (
                        (s.right, s.cy - 7 - 3 * k),
                        (s.right, s.cy + 7 + 3 * k),
                    )
                    arrow.lane = s.right + reach
        for (box_id, side), found in sides.items():
            box = self.boxes[box_id]
            found.sort(key=lambda f: f[:3])
            for i, (_, _, end, arrow) in enumerate(found):
                x = box.x + box.width * (0.1 + 0.8 * (i + 1) / (len(found) + 1))
                if box.kind == "call":
                    dx = x - box.cx
                    y = box.cy + math.sqrt(max(CALL_R**2 - dx * dx, 0.0))
                else:
                    y = box.y if side == "top" else box.bottom
                if end == 0:
                    arrow.start = (x, y)
                else:
                    arrow.end = (x, y)

    def rows(self) -> None:
        def run(arrow: _Arrow, leaving: bool) -> float:
            """How far the arrow runs across its gap row."""
            if arrow.shape == "flat":
                return abs(arrow.end[0] - arrow.start[0])
            return abs(arrow.lane - (arrow.start[0] if leaving else arrow.end[0]))

        for gap in self.gaps.values():
            # shorter runs nearer the box they leave, longer runs nearer the box they enter:
            # arrows of one box then nest instead of crossing
            gap.leaving.sort(key=lambda a: (run(a, True), a.index))
            for i, arrow in enumerate(gap.leaving):
                arrow.leave_y = gap.top + GAP_PAD + (i + 0.5) * ROW
            gap.entering.sort(key=lambda a: (-run(a, False), a.index))
            for i, arrow in enumerate(gap.entering):
                arrow.enter_y = gap.enter_base - (i + 0.5) * ENTER_ROW

    def geometry(self) -> None:
        for arrow in self.arrows:
            (sx, sy), (ex, ey) = arrow.start, arrow.end
            width = _label_width(arrow.label)
            match arrow.shape:
                case "forward":
                    mid = (ey - sy) / 2
                    arrow.points = [(sx, sy), (sx, sy + mid), (ex, ey - mid), (ex, ey)]
                    arrow.curved = True
                    gap = self.gaps[self.boxes[arrow.source].layer]
                    rows_top = gap.zone_top + (gap.zone - gap.forward_rows * ROW) / 2
                    arrow.label_at = _cubic_at_y(
                        arrow.points, rows_top + (arrow.label_row + 0.5) * ROW
                    )
                case "back" | "route":
                    arrow.points = [
                        (sx, sy),
                        (sx, arrow.leave_y),
                        (arrow.lane, arrow.leave_y),
                        (arrow.lane, arrow.enter_y),
                        (ex, arrow.enter_y),
                        (ex, ey),
                    ]
                    if arrow.shape == "back":
                        arrow.label_at = (sx + arrow.side * (width / 2 + 8), arrow.leave_y)
                    else:
                        arrow.label_at = (arrow.lane + arrow.side * 6, arrow.leave_y)
                        arrow.anchor = "end" if arrow.side < 0 else "start"
                case "flat":
                    arrow.points = [(sx, sy), (sx, arrow.leave_y), (ex, arrow.leave_y), (ex, ey)]
                    arrow.label_at = ((sx + ex) / 2, arrow.leave_y)
                case "loop":
                    arrow.points = [(sx, sy), (arrow.lane, sy), (arrow.lane, ey), (ex, ey)]
                    arrow.label_at = (arrow.lane + 4, (sy + ey) / 2)
                    arrow.anchor = "start"

    # 5. the canvas

    def finish(self) -> Layout:
        xs: list[float] = []
        ys: list[float] = []
        for box in self.boxes.values():
            xs += [box.x, box.right]
            ys += [box.y, box.bottom]
        for arrow in self.arrows:
            xs += [p[0] for p in arrow.points]
            ys += [p[1] for p in arrow.points]
            left, right = _label_span(arrow.label_at[0], _label_width(arrow.label), arrow.anchor)
            xs += [left, right]
            ys += [arrow.label_at[1] - 8, arrow.label_at[1] + 8]
        min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
        description = truncate(self.menu.description, HEADER_CHARS)
        header_w = max(
            _text_width(f"Menu {self.name}", 15, bold=True), _text_width(description, 11.5)
        )
        header_h = 50.0 if description else 36.0
        width = max(max_x - min_x + 2 * MARGIN, header_w + 2 * MARGIN, MIN_WIDTH)
        dx = MARGIN - min_x + (width - (max_x - min_x + 2 * MARGIN)) / 2
        dy = header_h - min_y

        def moved(p: Point) -> Point:
            return (p[0] + dx, p[1] + dy)

        boxes = tuple(
            Box(
                id=b.id,
                kind=b.kind,
                title=b.title,
                node_type=b.node_type,
                description=b.description,
                group=b.group,
                layer=b.layer,
                order=b.order,
                x=_r(b.x + dx),
                y=_r(b.y + dy),
                width=_r(b.width),
                height=_r(b.height),
                reachable=b.reachable,
                start=b.start,
            )
            for b in self.boxes.values()
        )
        arrows = []
        for a in self.arrows:
            points = [moved(p) for p in a.points]
            path = _cubic_path(points) if a.curved else _rounded_path(points, CORNER)
            lx, ly = moved(a.label_at)
            arrows.append(
                Arrow(
                    source=a.source,
                    target=a.target,
                    origin=a.origin,
                    kind=a.kind,
                    label=a.label,
                    detail=a.detail,
                    key_path=a.key_path,
                    shape=a.shape,
                    path=path,
                    label_x=_r(lx),
                    label_y=_r(ly),
                    label_anchor=a.anchor,
                    reachable=self.boxes[a.source].reachable,
                )
            )
        caption: Point | None = None
        if self.reachable_layers < max(b.layer for b in self.boxes.values()) + 1:
            row = [b for b in boxes if b.layer == self.reachable_layers]
            caption = (min(b.x for b in row), _r(min(b.y for b in row) - 10))
        legend, legend_h = _legend(boxes, arrows, width, max_y + dy + 18)
        height = max_y + dy + 18 + legend_h + MARGIN / 2
        return Layout(
            menu=self.name,
            description=description,
            width=_r(width),
            height=_r(height),
            boxes=boxes,
            arrows=tuple(arrows),
            legend=legend,
            unreachable_caption=caption,
        )

    def build(self) -> Layout:
        self.collect()
        layers = self.order_layers(self.assign_layers())
        self.place(layers)
        self.lanes()
        self.ports()
        self.rows()
        self.geometry()
        return self.finish()


def _legend(
    boxes: Iterable[Box], arrows: Iterable[Arrow], width: float, top: float
) -> tuple[tuple[LegendItem, ...], float]:
    """Legend entries for the colour groups and arrow kinds in use, wrapped to `width`."""
    groups = {b.group for b in boxes if b.kind != "call" and b.reachable}
    if any(not b.reachable for b in boxes):
        groups.add("unreachable")
    kinds = {ARROW_STYLES[a.kind][2] for a in arrows if a.kind in ARROW_STYLES}
    wanted: list[tuple[Literal["box", "line"], str, str]] = [
        ("box", group, BOX_STYLES[group][2]) for group in BOX_STYLES if group in groups
    ]
    seen: set[str] = set()
    for kind, (_, _, text) in ARROW_STYLES.items():
        if text in kinds and text not in seen and kind != "entry":
            seen.add(text)
            wanted.append(("line", kind, text))
    items = []
    x, y = MARGIN, top
    for what, style, text in wanted:
        size = 30 + _text_width(text, 11) + 18
        if x > MARGIN and x + size > width - MARGIN:
            x, y = MARGIN, y + LEGEND_ROW
        items.append(LegendItem(what, style, text, _r(x), _r(y)))
        x += size
    return tuple(items), (y - top + LEGEND_ROW if items else 0.0)


def _label_span(x: float, width: float, anchor: Anchor) -> tuple[float, float]:
    if anchor == "start":
        return x, x + width
    if anchor == "end":
        return x - width, x
    return x - width / 2, x + width / 2


def _cubic_at_y(points: list[Point], y: float) -> Point:
    """The point of a cubic Bezier (y monotonic) at height `y`, by bisection."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points

    def at(t: float) -> Point:
        u = 1 - t
        return (
            u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
            u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
        )

    low, high = 0.0, 1.0
    rising = y3 >= y0
    for _ in range(40):
        mid = (low + high) / 2
        if (at(mid)[1] < y) == rising:
            low = mid
        else:
            high = mid
    return at((low + high) / 2)


def _r(value: float) -> float:
    return round(value, 1) + 0.0  # + 0.0: no -0.0


def _num(value: float) -> str:
    text = f"{round(value, 1):.1f}"
    text = text.removesuffix(".0")
    return "0" if text == "-0" else text


def _pt(point: Point) -> str:
    return f"{_num(point[0])},{_num(point[1])}"


def _cubic_path(points: list[Point]) -> str:
    p0, p1, p2, p3 = points
    return f"M{_pt(p0)} C{_pt(p1)} {_pt(p2)} {_pt(p3)}"


def _rounded_path(points: list[Point], radius: float) -> str:
    """A polyline with rounded corners (quadratic curves)."""
    pts: list[Point] = []
    for p in points:
        if not pts or (abs(p[0] - pts[-1][0]) > 1e-9 or abs(p[1] - pts[-1][1]) > 1e-9):
            pts.append(p)
    parts = [f"M{_pt(pts[0])}"]
    for prev, cur, nxt in zip(pts, pts[1:], pts[2:], strict=False):
        d_in, d_out = math.dist(prev, cur), math.dist(cur, nxt)
        r = min(radius, d_in / 2, d_out / 2)
        a = (cur[0] - (cur[0] - prev[0]) / d_in * r, cur[1] - (cur[1] - prev[1]) / d_in * r)
        b = (cur[0] + (nxt[0] - cur[0]) / d_out * r, cur[1] + (nxt[1] - cur[1]) / d_out * r)
        parts.append(f"L{_pt(a)} Q{_pt(cur)} {_pt(b)}")
    parts.append(f"L{_pt(pts[-1])}")
    return " ".join(parts)


def menu_layout(menus: MenuSet, name: str) -> Layout:
    """The picture of menu `name` as data: boxes, arrows and legend with coordinates.

    Raises KeyError for an unknown menu. Gotos to missing nodes or menus (a set
    not checked by the loader) end at "?" boxes rather than failing.
    """
    return _Builder(menus, name).build()


# --- SVG ------------------------------------------------------------------------------------


def _esc(text: str) -> str:
    """Text and attribute values for XML: &, <, >, both quotes; control characters dropped."""
    text = _INVALID_XML.sub(" ", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _attrs(**values: str | float) -> str:
    parts = []
    for name, value in values.items():
        if value == "":
            continue
        text = _num(value) if isinstance(value, float) else _esc(str(value))
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{text}"')
    return " ".join(parts)


def _box_style(box: Box) -> tuple[str, str, str]:
    """(fill, stroke, text colour)."""
    if not box.reachable:
        fill, stroke, _ = BOX_STYLES["unreachable"]
        return fill, stroke, MUTED
    fill, stroke, _ = BOX_STYLES.get(box.group, BOX_STYLES["logic"])
    return fill, stroke, TEXT


def _text(content: str, **attrs: str | float) -> str:
    return f"<text {_attrs(**attrs)}>{_esc(content)}</text>"


def _svg_box(box: Box) -> list[str]:
    fill, stroke, ink = _box_style(box)
    reachable = str(box.reachable).lower()
    if box.kind == "call":
        return [
            f"<g {_attrs(class_='ivr-call', data_box=box.id)}>",
            "<title>The call enters here</title>",
            f"<circle {_attrs(cx=box.cx, cy=box.cy, r=CALL_R, fill=fill)}/>",
            _text(
                "call",
                x=box.cx,
                y=box.cy + 3.5,
                text_anchor="middle",
                font_size="10",
                font_weight="bold",
                fill="#ffffff",
            ),
            "</g>",
        ]
    rect = _attrs(
        x=box.x,
        y=box.y,
        width=box.width,
        height=box.height,
        rx="6" if box.kind == "node" else "15",
        fill=fill,
        stroke=stroke,
        stroke_width="2.5" if box.start else "1.2",
        stroke_dasharray="4 3" if not box.reachable or box.kind == "missing" else "",
    )
    if box.kind != "node":
        group = _attrs(
            class_=f"ivr-{box.kind}",
            data_box=box.id,
            data_layer=str(box.layer),
            data_reachable=reachable,
        )
        return [
            f"<g {group}>",
            f"<title>{_esc(box.description)}</title>",
            f"<rect {rect}/>",
            _text(
                box.title,
                x=box.cx,
                y=box.cy + 4,
                text_anchor="middle",
                font_size="11",
                font_weight="bold",
                fill=ink,
            ),
            "</g>",
        ]
    kind_line = box.node_type + (" \u00b7 start" if box.start else "")
    if not box.reachable:
        kind_line += " \u00b7 unreachable"
    tooltip = f"{box.id} ({box.node_type})" + (f": {box.description}" if box.description else "")
    group = _attrs(
        class_="ivr-node",
        data_node=box.id,
        data_box=box.id,
        data_type=box.node_type,
        data_layer=str(box.layer),
        data_reachable=reachable,
        data_start=str(box.start).lower(),
    )
    title = truncate(box.title, TITLE_CHARS)
    lines = [
        f"<g {group}>",
        f"<title>{_esc(tooltip)}</title>",
        f"<rect {rect}/>",
        _text(title, x=box.x + 10, y=box.y + 18, font_size="13", font_weight="bold", fill=ink),
        _text(
            truncate(kind_line, TYPE_CHARS),
            x=box.x + 10,
            y=box.y + 33,
            font_size="10",
            fill=stroke if box.reachable else MUTED,
        ),
    ]
    if box.description:
        text = truncate(box.description, DESCRIPTION_CHARS)
        lines.append(_text(text, x=box.x + 10, y=box.y + 49, font_size="11", fill=ink))
    lines.append("</g>")
    return lines


def _arrow_colour(arrow: Arrow) -> tuple[str, str]:
    colour, dash, _ = ARROW_STYLES.get(arrow.kind, ARROW_STYLES["next"])
    return (colour if arrow.reachable else GREY), dash


def _marker_id(prefix: str, colour: str) -> str:
    return f"{prefix}-arrow-{colour.lstrip('#')}"


def _svg_arrow(arrow: Arrow, prefix: str) -> list[str]:
    colour, dash = _arrow_colour(arrow)
    group = _attrs(
        class_="ivr-edge",
        data_edge=arrow.origin,
        data_kind=arrow.kind,
        data_source=arrow.source,
        data_target=arrow.target,
        data_key=".".join(arrow.key_path),
        data_label=arrow.label,
        data_shape=arrow.shape,
    )
    path = _attrs(
        d=arrow.path,
        fill="none",
        stroke=colour,
        stroke_width="2" if arrow.origin == "entry" else "1.4",
        stroke_dasharray=dash,
        marker_end=f"url(#{_marker_id(prefix, colour)})",
    )
    lines = [f"<g {group}>", f"<title>{_esc(arrow.detail)}</title>", f"<path {path}/>"]
    if arrow.label:
        width = _label_width(arrow.label)
        left, _ = _label_span(arrow.label_x, width, arrow.label_anchor)
        halo = _attrs(
            x=left,
            y=arrow.label_y - 7,
            width=width,
            height=13.0,
            rx="3",
            fill="#ffffff",
            fill_opacity="0.9",
        )
        lines.append(f"<rect {halo}/>")
        lines.append(
            _text(
                arrow.label,
                x=left + width / 2,
                y=arrow.label_y + 3.5,
                text_anchor="middle",
                font_size="10",
                fill=colour,
            )
        )
    lines.append("</g>")
    return lines


def _svg_legend(item: LegendItem) -> list[str]:
    if item.kind == "box":
        fill, stroke, _ = BOX_STYLES[item.style]
        dash = "4 3" if item.style in ("unreachable", "missing") else ""
        swatch = _attrs(
            x=item.x,
            y=item.y - 6,
            width=22.0,
            height=12.0,
            rx="3",
            fill=fill,
            stroke=stroke,
            stroke_dasharray=dash,
        )
        shape = f"<rect {swatch}/>"
    else:
        colour, dash, _ = ARROW_STYLES[item.style]
        line = _attrs(
            x1=item.x,
            y1=item.y,
            x2=item.x + 22,
            y2=item.y,
            stroke=colour,
            stroke_width="2",
            stroke_dasharray=dash,
        )
        shape = f"<line {line}/>"
    text = _attrs(x=item.x + 30, y=item.y + 4, font_size="11", fill=TEXT)
    return [shape, f"<text {text}>{_esc(item.label)}</text>"]


def render_svg(layout: Layout) -> str:
    """The layout as a standalone SVG document (UTF-8 text, no XML declaration)."""
    prefix = f"ivr-{layout.menu}"
    width, height = layout.width, layout.height
    root = _attrs(
        xmlns="http://www.w3.org/2000/svg",
        width=width,
        height=height,
        viewBox=f"0 0 {_num(width)} {_num(height)}",
        role="img",
        aria_labelledby=f"{prefix}-title",
        font_family=FONT,
        font_size="11",
        data_menu=layout.menu,
    )
    title = f"Menu {layout.menu}" + (f": {layout.description}" if layout.description else "")
    out = [f"<svg {root}>", f'<title id="{_esc(prefix)}-title">{_esc(title)}</title>', "<defs>"]
    colours = sorted({_arrow_colour(a)[0] for a in layout.arrows})
    for colour in colours:
        marker = _attrs(
            id=_marker_id(prefix, colour),
            viewBox="0 0 10 10",
            refX="9",
            refY="5",
            markerWidth="7",
            markerHeight="7",
            orient="auto",
            markerUnits="strokeWidth",
        )
        out.append(f'<marker {marker}><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
    out.append("</defs>")
    out.append(f"<rect {_attrs(width=width, height=height, fill='#ffffff')}/>")
    out.append(
        f"<text {_attrs(x=MARGIN, y=24.0, font_size='15', font_weight='bold', fill=TEXT)}>"
        f"Menu {_esc(layout.menu)}</text>"
    )
    if layout.description:
        out.append(
            f"<text {_attrs(x=MARGIN, y=40.0, font_size='11.5', fill=MUTED)}>"
            f"{_esc(layout.description)}</text>"
        )
    if layout.unreachable_caption is not None:
        x, y = layout.unreachable_caption
        out.append(
            f"<text {_attrs(x=x, y=y, font_size='11', font_style='italic', fill=MUTED)}>"
            "Not reachable from the start:</text>"
        )
    out.append('<g class="ivr-nodes">')
    for box in layout.boxes:
        out += _svg_box(box)
    out.append("</g>")
    out.append('<g class="ivr-edges">')
    for arrow in layout.arrows:
        out += _svg_arrow(arrow, prefix)
    out.append("</g>")
    out.append('<g class="ivr-legend">')
    for item in layout.legend:
        out += _svg_legend(item)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def menu_svg(menus: MenuSet, name: str) -> str:
    """Menu `name` drawn as a self-contained SVG document; KeyError for an unknown menu."""
    return render_svg(menu_layout(menus, name))
