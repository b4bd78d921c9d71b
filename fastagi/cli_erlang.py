"""`ivr erlang`: how many agents a queue needs (Erlang C), with shrinkage on top."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from fastagi.analytics.erlang import (
    Staffing,
    agents_for,
    parse_fraction,
    parse_target,
    staffing_table,
    with_shrinkage,
)

__all__ = ["erlang"]


def _positive_number(
    _ctx: click.Context, param: click.Parameter, value: float | None
) -> float | None:
    if value is not None and not value > 0:
        raise click.BadParameter(f"must be greater than 0, got {value:g}", param=param)
    return value


def _target(_ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        return parse_target(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc


def _shrinkage(_ctx: click.Context, param: click.Parameter, value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        return parse_fraction(value, "shrinkage", allow_zero=True, allow_one=False)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc


def _occupancy(_ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_fraction(value, "max occupancy", allow_zero=False, allow_one=True)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _row_json(row: Staffing, recommended: int) -> dict[str, Any]:
    return {**row.as_dict(), "recommended": row.agents == recommended}


@click.command("erlang")
@click.option(
    "--calls-per-hour", "calls_per_hour", type=float, default=None, callback=_positive_number,
    help="Calls offered per hour (a forecast or a measured figure).",
)  # fmt: skip
@click.option(
    "--aht", "aht_s", type=float, default=None, callback=_positive_number,
    help="Average handle time in seconds: talk + hold + after-call work.",
)  # fmt: skip
@click.option(
    "--target", "target", default="80/20", show_default=True, callback=_target,
    help="Service level: PERCENT answered within SECONDS, as PERCENT/SECONDS.",
)  # fmt: skip
@click.option(
    "--max-wait", "max_wait_s", type=float, default=None, callback=_positive_number,
    help="Also keep the average speed of answer (ASA) at or under this many seconds.",
)  # fmt: skip
@click.option(
    "--max-occupancy", "max_occupancy", default=None, callback=_occupancy,
    help="Also keep occupancy at or under this share (85% or 0.85).",
)  # fmt: skip
@click.option(
    "--shrinkage", "shrinkage", default=None, callback=_shrinkage,
    help="Share of paid time off the phones (breaks, training): 30% or 0.3. Default 0.",
)  # fmt: skip
@click.option(
    "--around", type=click.IntRange(min=0, max=50), default=3, show_default=True,
    help="Rows shown either side of the recommendation.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--from-events",
    "from_events",
    is_flag=True,
    help="Staff each interval of measured traffic (the call events of --from/--to).",
)
@click.option(
    "--interval",
    "interval_text",
    default="30m",
    show_default=True,
    help="With --from-events: the interval (15m, 30m, 1h).",
)
@click.option(
    "--from", "since", default=None, help="With --from-events: start (YYYY-MM-DD[THH:MM])."
)
@click.option("--to", "until", default=None, help="With --from-events: end, excluded.")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Settings file.")
def erlang(
    calls_per_hour: float | None,
    aht_s: float | None,
    target: tuple[float, float],
    max_wait_s: float | None,
    max_occupancy: float | None,
    shrinkage: float,
    around: int,
    as_json: bool,
    from_events: bool,
    interval_text: str,
    since: str | None,
    until: str | None,
    config: Path | None,
) -> None:
    """Agents needed to answer a queue's calls (Erlang C), and staff to roster.

    The table shows agent counts around the recommendation: the share of
    calls answered within the target, the share that wait at all, the average
    speed of answer and the agents' occupancy. docs/erlang.md explains them.
    """
    sl_target, target_s = target
    if from_events:
        _per_interval(config, since, until, interval_text, aht_s, target, max_wait_s,
                      max_occupancy, shrinkage, as_json)  # fmt: skip
        return
    missing = [name for name, value in (("--calls-per-hour", calls_per_hour), ("--aht", aht_s))
               if value is None]  # fmt: skip
    if missing:
        names = " and ".join(f"'{name}'" for name in missing)
        raise click.UsageError(f"Missing option {names} (or measure traffic: --from-events)")
    assert calls_per_hour is not None and aht_s is not None
    goals: dict[str, Any] = {
        "sl_target": sl_target, "target_s": target_s,
        "max_wait_s": max_wait_s, "max_occupancy": max_occupancy,
    }  # fmt: skip
    try:
        best = agents_for(calls_per_hour, aht_s, **goals)
        rows = staffing_table(calls_per_hour, aht_s, around=around, **goals)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--calls-per-hour' / '--aht'") from exc
    rostered = with_shrinkage(best.agents, shrinkage)

    if as_json:
        answer = {
            **best.as_dict(),
            "rostered": rostered,
            "shrinkage": shrinkage,
            "calls_per_hour": calls_per_hour,
            "aht_s": aht_s,
            "target": {"service_level": sl_target, "seconds": target_s},
            "max_wait_s": max_wait_s,
            "max_occupancy": max_occupancy,
            "table": [_row_json(row, best.agents) for row in rows],
        }
        click.echo(json.dumps(answer, indent=2))
        return

    goal = f"{sl_target * 100:g}% answered within {target_s:g} s"
    if max_wait_s is not None:
        goal += f", ASA at most {max_wait_s:g} s"
    if max_occupancy is not None:
        goal += f", occupancy at most {_percent(max_occupancy)}"
    click.echo(
        f"Traffic: {best.traffic_erlangs:.2f} erlangs "
        f"({calls_per_hour:g} calls/h x {aht_s:g} s AHT / 3600)"
    )
    click.echo(f"Goal: {goal}")
    click.echo("")
    header = (
        f"{'agents':>6}  {'service level':>13}  {'P(wait)':>7}  {'ASA (s)':>8}  {'occupancy':>9}"
    )
    click.echo(header)
    for row in rows:
        line = (
            f"{row.agents:>6}  {_percent(row.service_level):>13}  "
            f"{_percent(row.probability_wait):>7}  {row.asa_s:>8.1f}  {_percent(row.occupancy):>9}"
        )
        if row.agents == best.agents:
            line += "  <- recommended"
        click.echo(line)
    click.echo("")
    click.echo(f"Recommended: {best.agents} agents on the phones.")
    click.echo(f"Rostered with {shrinkage * 100:g}% shrinkage: {rostered} staff.")


def _interval(text: str) -> timedelta:
    units = {"m": 60, "h": 3600}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise click.BadParameter(f"{text!r}: minutes or hours, e.g. 15m, 30m, 1h",
                                 param_hint="--interval")  # fmt: skip
    return timedelta(seconds=int(number) * units[unit])


def _per_interval(
    config: Path | None, since: str | None, until: str | None, interval_text: str,
    aht_s: float | None, target: tuple[float, float], max_wait_s: float | None,
    max_occupancy: float | None, shrinkage: float, as_json: bool,
) -> None:  # fmt: skip
    from fastagi.analytics.erlang import staffing_per_interval
    from fastagi.analytics.traffic import intervals_from_events
    from fastagi.cli_report import parse_period, read_period_events
    from fastagi.cli_settings import cli_settings

    interval = _interval(interval_text)
    start, end = parse_period(since, until)
    found = read_period_events(cli_settings(config), start, end)
    try:
        measured = intervals_from_events(found.events, start, end, interval, default_aht=aht_s)
        rows = staffing_per_interval(
            measured, interval=interval, sl_target=target[0], target_s=target[1],
            max_wait_s=max_wait_s, max_occupancy=max_occupancy, shrinkage=shrinkage,
        )  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([
            {"start": row.start.isoformat(), "calls": row.calls, "aht_s": round(row.aht_s, 1),
             **row.staffing.as_dict(), "rostered": row.rostered}
            for row in rows
        ], indent=2))  # fmt: skip
        return
    click.echo(f"{'interval start':25} {'calls':>6} {'AHT s':>7} {'agents':>7} {'rostered':>9}"
               f" {'SL':>7}")  # fmt: skip
    for row in rows:
        click.echo(
            f"{row.start.isoformat(timespec='minutes'):25} {row.calls:>6} {row.aht_s:>7.1f}"
            f" {row.staffing.agents:>7} {row.rostered:>9} {_percent(row.staffing.service_level):>7}"
        )
