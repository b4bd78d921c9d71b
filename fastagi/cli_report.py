"""`ivr report` (KPIs of a period) and `ivr events export` (the raw events)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from fastagi.analytics.kpis import Report, compute_report
from fastagi.analytics.stream import ReadResult, read_events
from fastagi.cli_settings import cli_settings, config_option
from fastagi.config import ServerSettings
from fastagi.csvsafe import safe_row

__all__ = ["events_group", "parse_period", "read_period_events", "report"]


def _moment(value: str | None, default: datetime) -> datetime:
    """`2026-11-25`, `2026-11-25T12:00`, or with a zone; naive means local time."""
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def parse_period(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    start = _moment(since, (now - timedelta(days=1)))
    end = _moment(until, now)
    if since is not None and until is None and len(since) == 10:
        end = start + timedelta(days=1)  # a date alone: that whole day
    if end <= start:
        raise click.BadParameter("--to must come after --from")
    return start, end


def read_period_events(settings: ServerSettings, start: datetime, end: datetime) -> ReadResult:
    from fastagi.storage import open_async_client, redis_url

    async def main(url: str) -> ReadResult:
        client = open_async_client(url, timeout=10.0)
        try:
            return await read_events(client, settings.redis_prefix, start, end)
        finally:
            await client.aclose()

    with redis_url(settings.redis_url, settings.state_dir) as url:
        return asyncio.run(main(url))


_period_options = [
    click.option(
        "--from", "since", help="Start (YYYY-MM-DD or YYYY-MM-DDTHH:MM; default: 24 h ago)."
    ),
    click.option(
        "--to", "until", help="End, excluded (default: now; a --from date alone: that day)."
    ),
]


def _with_period(function: Any) -> Any:
    for option in reversed(_period_options):
        function = option(function)
    return function


@click.command()
@config_option
@_with_period
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--sl",
    "thresholds",
    default="20,120",
    show_default=True,
    help="Service-level thresholds in seconds.",
)
def report(
    config: Path | None, since: str | None, until: str | None, fmt: str, thresholds: str
) -> None:
    """Contacts, answered, lost (in IVR, in queue, after hours), waits, service level,
    AHT, self-service, the IVR funnel, callbacks and conversion (docs/kpis.md)."""
    try:
        levels = tuple(int(t) for t in thresholds.split(",") if t.strip())
    except ValueError:
        raise click.BadParameter("seconds, comma-separated", param_hint="--sl") from None
    settings = cli_settings(config)
    start, end = parse_period(since, until)
    found = read_period_events(settings, start, end)
    result = compute_report(found.events, thresholds=levels, skipped_events=found.skipped)
    if result.contacts == 0 and not found.events:
        click.echo(f"no call events from {start.isoformat()} to {end.isoformat()}")
        if found.skipped:
            click.echo(f"{found.skipped} event(s) of an unknown schema were skipped")
        return
    data = result.as_dict()
    data["from"], data["to"] = start.isoformat(), end.isoformat()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(_csv(data), nl=False)
    else:
        click.echo(_table(result, data))


def _flat(data: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if key == "funnel":
            for node in value:
                name = f"funnel.{node['menu']}/{node['node']}"
                rows += [
                    (f"{name}.entered", node["entered"]),
                    (f"{name}.hung_up", node["hung_up"]),
                    (f"{name}.timeouts", node["timeouts"]),
                    (f"{name}.invalid", node["invalid"]),
                ]
                rows += [(f"{name}.digit.{d}", n) for d, n in node["digits"].items()]
        elif isinstance(value, dict):
            for inner, item in value.items():
                if isinstance(item, dict):
                    rows += [(f"{key}.{inner}.{k}", v) for k, v in item.items()]
                else:
                    rows.append((f"{key}.{inner}", item))
        else:
            rows.append((key, value))
    return rows


def _csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "value"])
    for name, value in _flat(data):
        writer.writerow(safe_row([name, "" if value is None else value]))
    return out.getvalue()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def _table(result: Report, data: dict[str, Any]) -> str:
    lines = [
        f"period            {data['from']} .. {data['to']}",
        f"contacts          {data['contacts']}",
        f"answered          {data['answered']}",
        f"lost              {data['lost']} ({_pct(data['lost_share'])}): in IVR {data['lost_ivr']},"
        f" in queue {data['lost_queue']}, after hours {data['lost_after_hours']}",
        f"self-service      {data['self_service']} ({_pct(data['self_service_rate'])})",
        f"handed off        {data['handed_off']} (returned to the dialplan)",
        f"wait              avg {_num(data['wait_avg_s'], ' s')},"
        f" p90 {_num(data['wait_p90_s'], ' s')}",
    ]
    for threshold, share in data["service_level"].items():
        lines.append(f"service level     {_pct(share)} answered within {threshold}")
    lines.append(f"AHT               {_num(data['aht_s'], ' s')}")
    cb = data["callbacks"]
    lines.append(
        f"callbacks         {cb['requested']} asked for, {cb['attempts']} attempts,"
        f" {cb['answered']} answered"
        f" ({_pct(cb['success_rate'])})"
    )
    for group, conv in data["conversion"].items():
        lines.append(
            f"conversion        {group}: {conv['converted']} of {conv['calls']}"
            f" ({_pct(conv['rate'])})"
        )
    lines.append("")
    lines.append(f"{'IVR funnel':32} {'entered':>8} {'hung up':>8} {'timeouts':>8}  keys pressed")
    for node in result.funnel:
        keys = " ".join(f"{d}:{n}" for d, n in sorted(node.digits.items())) or "-"
        lines.append(
            f"{node.menu + '/' + node.node:32} {node.entered:>8} {node.hung_up:>8}"
            f" {node.timeouts:>8}  {keys}"
        )
    if result.skipped_events:
        lines.append(f"({result.skipped_events} event(s) of an unknown schema skipped)")
    return "\n".join(lines)


@click.group(name="events")
def events_group() -> None:
    """The call event stream (docs/events.md)."""


@events_group.command(name="export")
@config_option
@_with_period
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
def export(config: Path | None, since: str | None, until: str | None, fmt: str) -> None:
    """Every event of the period, oldest first, as JSON lines or CSV."""
    settings = cli_settings(config)
    start, end = parse_period(since, until)
    found = read_period_events(settings, start, end)
    if fmt == "csv":
        writer = csv.writer(click.get_text_stream("stdout"))
        writer.writerow(["id", "at", "uid", "kind", "menu", "node", "data"])
        for event in found.events:
            writer.writerow(
                safe_row(
                    [
                        event.id,
                        f"{event.at:.3f}",
                        event.uid,
                        event.kind,
                        event.menu,
                        event.node,
                        json.dumps(dict(event.data), ensure_ascii=False),
                    ]
                )
            )
    else:
        for event in found.events:
            click.echo(
                json.dumps(
                    {
                        "id": event.id,
                        "at": event.at,
                        "uid": event.uid,
                        "kind": event.kind,
                        "menu": event.menu,
                        "node": event.node,
                        "data": dict(event.data),
                    },
                    ensure_ascii=False,
                )
            )
    if found.skipped:
        click.echo(f"{found.skipped} event(s) of an unknown schema skipped", err=True)
