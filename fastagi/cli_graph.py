"""`ivr graph MENU`: draw a menu as an SVG picture (fastagi.menus.drawing)."""

from __future__ import annotations

from pathlib import Path

import click

from fastagi.config import ConfigError, load_settings

__all__ = ["graph"]


@click.command(name="graph")
@click.argument("menu")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    default=None,
    help="Write the SVG to this file (default: print it).",
)
@click.option(
    "--menus",
    "menus_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Menu directory or file (default: the config's menus_dir).",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file, for menus_dir (default: $IVR_CONFIG or config/server.yaml).",
)
def graph(menu: str, output: Path | None, menus_dir: Path | None, config: Path | None) -> None:
    """Draw MENU as an SVG picture: its nodes, gotos, routes and unreachable nodes.

    One box per node (id, type, description), one arrow per goto labelled
    with its digits or kind; the call enters at the circle on top, back
    gotos run along the sides and nodes no call reaches are greyed in the
    last row. The SVG is self-contained, e.g. for a web page.
    """
    from fastagi.menus import MenuError, load_menus
    from fastagi.menus._validation import did_you_mean
    from fastagi.menus.drawing import menu_layout, render_svg

    if menus_dir is None:
        try:
            menus_dir = load_settings(config).menus_dir
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    try:
        menus = load_menus(menus_dir)
    except MenuError as exc:
        raise click.ClickException(f"the menus in {menus_dir} have errors:\n{exc}") from exc
    if menu not in menus:
        hint = did_you_mean(menu, set(menus))
        raise click.ClickException(
            f"no menu {menu!r} in {menus_dir}{f' ({hint})' if hint else ''};"
            f" menus: {', '.join(sorted(menus))}"
        )
    layout = menu_layout(menus, menu)
    svg = render_svg(layout)
    if output is None:
        click.echo(svg, nl=False)
        return
    try:
        output.write_text(svg, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    unreachable = len(layout.unreachable)
    click.echo(
        f"{output}: menu {menu}, {len(layout.nodes)} node(s), {len(layout.arrows)} arrow(s)"
        + (f", {unreachable} unreachable" if unreachable else "")
    )
