"""Menus drawn as pictures: the layered layout as data, and the SVG made of it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from menus_helpers import WriteFile

from fastagi.menus import Menu, MenuSet, load_menus
from fastagi.menus.drawing import (
    BOX_STYLES,
    CALL_BOX,
    DESCRIPTION_CHARS,
    ELLIPSIS,
    Layout,
    menu_layout,
    menu_svg,
    node_summary,
    render_svg,
    truncate,
)
from fastagi.menus.graph import MenuGraph
from fastagi.menus.references import resolve_target

REPO = Path(__file__).resolve().parents[2]
DEMO_NAMES = sorted(path.stem for path in (REPO / "ivr_menus").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo() -> MenuSet:
    return load_menus(REPO / "ivr_menus")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def with_attr(root: ET.Element, name: str, value: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter() if e.get(name) is not None and value in (None, e.get(name))]


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def expected_label(key_path: tuple[str, ...], kind: str) -> str:
    """What an arrow of a link should say, worked out here rather than by drawing.py."""
    return key_path[1] if kind == "option" else key_path[0].removeprefix("on_")


def bfs_depths(menus: MenuSet, name: str) -> dict[str, int]:
    """Depth of each node reachable from the start; route targets at depth 1."""
    menu = menus[name]
    depth = {menu.start: 0}
    queue = [menu.start]
    for route in menu.routes:
        ref = resolve_target(menus, name, route.goto)
        if ref is not None and ref[0] == name and ref[1] not in depth:
            depth[ref[1]] = 1
            queue.append(ref[1])
    queue.sort(key=lambda n: depth[n])
    while queue:
        node_id = queue.pop(0)
        for link in menu.nodes[node_id].links():
            ref = resolve_target(menus, name, link.target)
            if ref is not None and ref[0] == name and ref[1] not in depth:
                depth[ref[1]] = depth[node_id] + 1
                queue.append(ref[1])
    return depth


def load(write: WriteFile, *files: tuple[str, str]) -> MenuSet:
    paths = [write(f"menus/{name}", text) for name, text in files]
    return load_menus(paths[0].parent)


LOOPY = """
    menu: loopy
    description: 'A <b>test</b> menu & "friends"'
    start: top
    routes:
      - when: {segment: vip}
        goto: menu:other
      - when: {has_tag: again}
        goto: side
    nodes:
      top:
        type: menu
        description: 'Press <1> & "2" for the <very> long &amp; winding road to nowhere at all'
        greeting: ivr/top
        options:
          "1": side
          "2": top
          "9": menu:other/deep
        on_timeout: bye
      side:
        type: play
        prompts: [ivr/side]
        next: top
      bye:
        type: hangup
      orphan:
        type: play
        description: Nobody comes here
        prompts: [ivr/x]
        next: orphan2
      orphan2:
        type: transfer
        extension: "100"
        on_busy: side
        on_failure: menu:other
"""

OTHER = """
    menu: other
    start: a
    nodes:
      a: {type: return, result: ok}
      deep: {type: return, result: deep}
"""


@pytest.fixture
def loopy(write: WriteFile) -> MenuSet:
    return load(write, ("loopy.yaml", LOOPY), ("other.yaml", OTHER))


# --- every demo menu ------------------------------------------------------------------------


def test_the_demo_menus_are_the_files(demo: MenuSet) -> None:
    assert sorted(demo) == DEMO_NAMES


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_every_demo_menu_renders_one_box_per_node_and_one_arrow_per_link(
    demo: MenuSet, name: str
) -> None:
    menu = demo[name]
    svg = menu_svg(demo, name)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 0 and height > 0

    nodes = with_attr(root, "data-node")
    assert Counter(e.get("data-node") for e in nodes) == Counter(list(menu.nodes))
    for element in nodes:
        node = menu.nodes[element.get("data-node", "")]
        assert element.tag == f"{SVG}g"
        assert element.get("data-type") == node.type
        assert element.get("data-node") in texts(element)
        assert node.type in texts(element)[1]
    starts = [e.get("data-node") for e in nodes if e.get("data-start") == "true"]
    assert starts == [menu.start]

    links = with_attr(root, "data-edge", "link")
    expected = Counter(
        (node_id, expected_label(link.key_path, link.kind), ".".join(link.key_path))
        for node_id, node in menu.nodes.items()
        for link in node.links()
    )
    drawn = Counter((e.get("data-source"), e.get("data-label"), e.get("data-key")) for e in links)
    assert drawn == expected
    for element in links:  # the label is shown, under a path with an arrow head
        assert element.get("data-label") in texts(element)
        path = element.find(f"{SVG}path")
        assert path is not None and path.get("marker-end", "").startswith("url(#ivr-")

    assert len(with_attr(root, "data-edge", "route")) == len(menu.routes)
    assert len(with_attr(root, "data-edge", "entry")) == 1
    boxes = {e.get("data-box") for e in with_attr(root, "data-box")}
    for element in with_attr(root, "data-edge"):
        assert element.get("data-source") in boxes
        assert element.get("data-target") in boxes


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_links_end_at_their_node_or_at_an_exit_box(demo: MenuSet, name: str) -> None:
    layout = menu_layout(demo, name)
    arrows = {(a.source, a.key_path): a for a in layout.arrows if a.origin == "link"}
    for node_id, node in demo[name].nodes.items():
        for link in node.links():
            arrow = arrows[(node_id, link.key_path)]
            if link.target.is_local:
                assert arrow.target == link.target.node
            else:
                exit_box = layout.box(arrow.target)
                assert exit_box.kind == "exit"
                assert exit_box.title == f"-> {str(link.target).removeprefix('menu:')}"


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_layers_are_bfs_depths_from_the_start(demo: MenuSet, name: str) -> None:
    layout = menu_layout(demo, name)
    depths = bfs_depths(demo, name)
    for box in layout.nodes:
        assert box.reachable == (box.id in depths)
        if box.reachable:
            assert box.layer == depths[box.id], box.id
    assert layout.layers[0] == (demo[name].start,)
    for arrow in layout.arrows:
        source, target = layout.box(arrow.source), layout.box(arrow.target)
        if arrow.shape == "forward":
            assert target.layer == source.layer + 1
            assert source.bottom <= target.y  # downwards, between the layers
        elif arrow.shape == "back":
            assert target.layer < source.layer


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_boxes_do_not_overlap(demo: MenuSet, name: str) -> None:
    layout = menu_layout(demo, name)
    boxes = layout.boxes
    for i, a in enumerate(boxes):
        assert a.x >= 0 and a.y >= 0
        assert a.right <= layout.width and a.bottom <= layout.height
        for b in boxes[i + 1 :]:
            apart = a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y
            assert apart, (a.id, b.id)


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_the_svg_is_self_contained(demo: MenuSet, name: str) -> None:
    svg = menu_svg(demo, name)
    for outside in ("<style", "<script", "<image", "href", "@import", "<foreignObject"):
        assert outside not in svg
    assert re.findall(r"https?://[^\"]*", svg) == ["http://www.w3.org/2000/svg"]
    # ids are prefixed with the menu name, so several pictures can share a page
    ids = [e.get("id") for e in with_attr(parse(svg), "id")]
    assert ids and all(i is not None and i.startswith(f"ivr-{name}-") for i in ids)
    assert len(ids) == len(set(ids))


def test_main_routes_and_entry_are_marked(demo: MenuSet) -> None:
    layout = menu_layout(demo, "main")
    routes = [a for a in layout.arrows if a.origin == "route"]
    assert [(a.source, a.target, a.label) for a in routes] == [
        (CALL_BOX, "tickets", "segment has_open_ticket"),
        (CALL_BOX, "new_caller", "segment new"),
        (CALL_BOX, "balance_reminder", "segment debtor"),
    ]
    assert all(layout.box(a.target).layer == 1 for a in routes)
    (entry,) = [a for a in layout.arrows if a.origin == "entry"]
    assert (entry.source, entry.target, entry.label) == (CALL_BOX, "welcome", "otherwise")
    call = layout.box(CALL_BOX)
    assert call.kind == "call" and call.bottom < layout.box("welcome").y


def test_main_draws_a_back_edge_on_the_side(demo: MenuSet) -> None:
    layout = menu_layout(demo, "main")
    (back,) = [a for a in layout.arrows if a.source == "sales" and a.label == "0"]
    assert back.target == "welcome" and back.shape == "back"
    xs = [float(x) for x, _ in re.findall(r"(-?[\d.]+),(-?[\d.]+)", back.path)]
    nodes = [b for b in layout.boxes if b.kind != "call"]
    # it runs in a lane outside every box, not across them
    assert min(xs) < min(b.x for b in nodes) or max(xs) > max(b.right for b in nodes)
    element = with_attr(parse(render_svg(layout)), "data-key", "options.0")
    assert {e.get("data-shape") for e in element if e.get("data-source") == "sales"} == {"back"}


def test_main_shows_the_other_menu_and_direct_dial(demo: MenuSet) -> None:
    layout = menu_layout(demo, "main")
    (to_ru,) = layout.arrows_from("to_russian")
    exit_box = layout.box(to_ru.target)
    assert (exit_box.kind, exit_box.title) == ("exit", "-> main_ru")
    assert exit_box.layer == layout.box("to_russian").layer + 1
    (dial,) = [a for a in layout.arrows if a.origin == "direct_dial"]
    assert (dial.source, dial.label) == ("welcome", "^[2-4][0-9]{2}$")
    assert layout.box(dial.target).kind == "dial"


def test_boxes_are_coloured_by_node_type_with_a_legend(demo: MenuSet) -> None:
    root = parse(menu_svg(demo, "main"))
    fills: dict[str, set[str | None]] = {}
    for element in with_attr(root, "data-node"):
        rect = element.find(f"{SVG}rect")
        assert rect is not None
        fills.setdefault(element.get("data-type", ""), set()).add(rect.get("fill"))
    assert fills["menu"] == {BOX_STYLES["menu"][0]}
    assert fills["play"] == {BOX_STYLES["prompt"][0]}
    assert fills["queue"] == fills["voicemail"] == {BOX_STYLES["action"][0]}
    assert fills["return"] == fills["hangup"] == {BOX_STYLES["end"][0]}
    legend = next(e for e in root.iter(f"{SVG}g") if e.get("class") == "ivr-legend")
    shown = texts(legend)
    for group in ("menu", "prompt", "action", "logic", "end", "exit"):
        assert BOX_STYLES[group][2] in shown
    assert "unreachable" not in shown  # only what the picture has


def test_node_descriptions_fall_back_to_what_the_node_does(demo: MenuSet) -> None:
    main, vip = demo["main"].nodes, demo["vip"].nodes
    assert node_summary(main["welcome"]) == "Main menu"  # its description
    assert node_summary(main["ticket_found"]) == "ivr/ticket-found-options"  # greeting
    assert node_summary(main["support_billing"]) == "result billing"
    assert node_summary(vip["priority_support"]) == "result support_priority"
    assert node_summary(demo["appointment"].nodes["agent_queue"]) == "queue support"
    layout = menu_layout(demo, "main")
    assert layout.box("support_billing").description == "result billing"


# --- made-up menus ----------------------------------------------------------------------------


def test_text_with_markup_characters_is_escaped(loopy: MenuSet) -> None:
    svg = menu_svg(loopy, "loopy")
    assert "<b>" not in svg and "<1>" not in svg and "<very>" not in svg
    assert "&lt;b&gt;test&lt;/b&gt; menu &amp; &quot;friends&quot;" in svg
    root = parse(svg)
    assert 'Menu loopy: A <b>test</b> menu & "friends"' in (root.findtext(f"{SVG}title") or "")
    (top,) = with_attr(root, "data-node", "top")
    assert texts(top)[2].startswith('Press <1> & "2" for the')
    # the full text stays in the tooltip
    assert top.findtext(f"{SVG}title") == (
        'top (menu): Press <1> & "2" for the <very> long &amp; winding road to nowhere at all'
    )


def test_a_long_description_is_truncated_with_an_ellipsis(loopy: MenuSet) -> None:
    (top,) = with_attr(parse(menu_svg(loopy, "loopy")), "data-node", "top")
    shown = texts(top)[2]
    assert shown.endswith(ELLIPSIS) and len(shown) <= DESCRIPTION_CHARS
    assert truncate("short", 10) == "short"
    assert truncate("a  long\ttext\nwith breaks", 12) == f"a long text{ELLIPSIS}"
    assert len(truncate("x" * 100, 20)) == 20


def test_a_loop_and_a_back_edge_are_drawn(loopy: MenuSet) -> None:
    layout = menu_layout(loopy, "loopy")
    shapes = {(a.source, a.target, a.label): a.shape for a in layout.arrows}
    assert shapes[("top", "top", "2")] == "loop"
    assert shapes[("side", "top", "next")] == "back"
    assert shapes[("top", "side", "1")] == "forward"
    root = parse(render_svg(layout))
    (loop,) = [e for e in with_attr(root, "data-shape", "loop")]
    assert (loop.get("data-source"), loop.get("data-target")) == ("top", "top")
    back = with_attr(root, "data-shape", "back")
    assert [(e.get("data-source"), e.get("data-target")) for e in back] == [
        ("side", "top"),
        ("orphan2", "side"),
    ]


def test_routes_to_other_menus_end_at_exit_boxes(loopy: MenuSet) -> None:
    layout = menu_layout(loopy, "loopy")
    routes = [a for a in layout.arrows if a.origin == "route"]
    assert [a.label for a in routes] == ["segment vip", "tag again"]
    assert layout.box(routes[0].target).title == "-> other"
    assert routes[1].target == "side"
    (deep,) = [a for a in layout.arrows_from("top") if a.label == "9"]
    assert layout.box(deep.target).title == "-> other/deep"


def test_unreachable_nodes_are_greyed_in_the_last_row(loopy: MenuSet) -> None:
    layout = menu_layout(loopy, "loopy")
    graph = MenuGraph(loopy)
    roots = [("loopy", "top"), ("loopy", "side")]  # the start and the local route target
    reached = graph.reachable(roots, keep=lambda e: e.target is not None and e.target[0] == "loopy")
    assert layout.unreachable == ("orphan", "orphan2")
    assert {node for menu, node in reached} == set(loopy["loopy"].nodes) - {"orphan", "orphan2"}
    last = max(box.layer for box in layout.boxes)
    for box in layout.boxes:
        assert (box.layer == last) == (not box.reachable)
    # an unreachable node's exit box stays with it
    (failure,) = [a for a in layout.arrows_from("orphan2") if a.label == "failure"]
    assert not layout.box(failure.target).reachable and not failure.reachable
    assert layout.unreachable_caption is not None

    root = parse(render_svg(layout))
    for node_id in ("orphan", "orphan2"):
        (element,) = with_attr(root, "data-node", node_id)
        assert element.get("data-reachable") == "false"
        rect = element.find(f"{SVG}rect")
        assert rect is not None and rect.get("fill") == BOX_STYLES["unreachable"][0]
        assert rect.get("stroke-dasharray")
        assert "unreachable" in texts(element)[1]
    assert "Not reachable from the start:" in texts(root)
    reachable = with_attr(root, "data-reachable", "true")
    assert {e.get("data-node") for e in reachable if e.get("data-node")} == {"top", "side", "bye"}


def test_the_output_is_deterministic(loopy: MenuSet, demo: MenuSet, write: WriteFile) -> None:
    assert menu_svg(loopy, "loopy") == menu_svg(loopy, "loopy")
    again = load(write, ("loopy.yaml", LOOPY), ("other.yaml", OTHER))
    assert menu_svg(again, "loopy") == menu_svg(loopy, "loopy")
    assert menu_svg(load_menus(REPO / "ivr_menus"), "main") == menu_svg(demo, "main")
    assert menu_layout(demo, "main") == menu_layout(demo, "main")


def test_a_menu_set_with_missing_targets_still_draws() -> None:
    # MenuSet itself does not check gotos (the loader does): draw "?" boxes, do not fail
    data: dict[str, Any] = {
        "menu": "bad",
        "start": "nope",
        "routes": [{"when": {"segment": "x"}, "goto": "menu:ghost"}],
        "nodes": {
            "a": {"type": "play", "prompts": ["p"], "next": "zzz"},
            "b": {"type": "menu", "greeting": "g", "options": {"1": "a"}},
        },
    }
    menus = MenuSet([Menu.model_validate(data)])
    layout = menu_layout(menus, "bad")
    missing = {b.title for b in layout.boxes if b.kind == "missing"}
    assert missing == {"? nope", "? menu:ghost", "? zzz"}
    assert layout.unreachable == ("a", "b")
    parse(render_svg(layout))


def test_control_characters_do_not_break_the_xml(write: WriteFile) -> None:
    menus = load(
        write,
        (
            "odd.yaml",
            """
            menu: odd
            description: "bell \\a and form feed \\f here"
            start: a
            nodes:
              a: {type: return, result: ok, description: "tab\\tnull\\0end"}
            """,
        ),
    )
    root = parse(menu_svg(menus, "odd"))
    (a,) = with_attr(root, "data-node", "a")
    assert texts(a)[2] == "tab null end"


def test_an_unknown_menu_is_a_key_error(demo: MenuSet) -> None:
    with pytest.raises(KeyError, match="nope"):
        menu_layout(demo, "nope")


def test_a_layout_answers_structural_questions(demo: MenuSet) -> None:
    layout = menu_layout(demo, "vip")
    assert isinstance(layout, Layout)
    assert [b.id for b in layout.nodes] == list(demo["vip"].nodes)
    assert layout.layers == (
        ("hello",),
        ("welcome",),
        ("manager", "priority_support"),
        ("vip_queue",),
        ("vip_voicemail",),
    )
    assert layout.unreachable == ()
    manager = [a.label for a in layout.arrows_from("manager")]
    assert manager == ["busy", "no_answer", "failure"]
    assert all(layout.box(a.target).id == "vip_queue" for a in layout.arrows_from("manager"))
    with pytest.raises(KeyError):
        layout.box("nope")


def test_nodes_are_reordered_to_reduce_crossings(write: WriteFile) -> None:
    # discovery order puts u (pointed at from a, c and d) left of v (from b): two crossings
    menus = load(
        write,
        (
            "cross.yaml",
            """
            menu: cross
            start: s
            nodes:
              s: {type: menu, greeting: g, options: {"1": a, "2": b, "3": c, "4": d}}
              a: {type: menu, greeting: g, options: {"1": u}}
              b: {type: menu, greeting: g, options: {"1": v}}
              c: {type: play, prompts: [p], next: u}
              d: {type: play, prompts: [p], next: u}
              u: {type: hangup}
              v: {type: hangup}
            """,
        ),
    )
    layout = menu_layout(menus, "cross")
    assert layout.layers[2] == ("v", "u")
    between = [
        (layout.box(a.source).cx, layout.box(a.target).cx)
        for a in layout.arrows
        if a.shape == "forward" and layout.box(a.source).layer == 1
    ]
    assert len(between) == 4
    crossings = sum(
        (s1 - s2) * (t1 - t2) < 0
        for i, (s1, t1) in enumerate(between)
        for s2, t2 in between[i + 1 :]
    )
    assert crossings == 0
