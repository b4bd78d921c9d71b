"""`ivr`: the command line of the IVR server (serve, validate, simulate, test, reload, bench)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fastagi.cli_settings import cli_settings, config_option
from fastagi.config import ServerSettings

if TYPE_CHECKING:
    from fastagi.callers.service import CallerService
    from fastagi.menus import MenuSet, Problem, Scenario
    from fastagi.prompts.catalogue import Catalogue

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fastagi-ivr")
def main() -> None:
    """A personalised IVR for Asterisk, driven by a FastAGI server and YAML menus."""


@main.command()
@config_option
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="FastAGI port (default 4573).")
@click.option("--max-calls", type=int, help="Concurrent calls before new ones get BUSY.")
@click.option("--menus", "menus_dir", type=click.Path(path_type=Path), help="Menu directory.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log format.")
def serve(
    config: Path | None,
    host: str | None,
    port: int | None,
    max_calls: int | None,
    menus_dir: Path | None,
    log_format: str | None,
) -> None:
    """Run the FastAGI server until SIGTERM/Ctrl-C (calls in progress may finish first)."""
    settings = cli_settings(
        config, host=host, port=port, max_calls=max_calls, menus_dir=menus_dir,
        log_format=log_format,
    )  # fmt: skip
    from fastagi.server.runner import run_forever

    sys.exit(run_forever(settings))


def _control(config: Path | None, command: str) -> None:
    from fastagi.server.control import ControlError, control_socket_path, send_control

    settings = cli_settings(config)
    path = control_socket_path(settings.state_dir, settings.port)
    try:
        answer = send_control(path, command)
    except ControlError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(answer, indent=2))
    if not answer.get("ok"):
        sys.exit(1)


@main.command()
@config_option
def reload(config: Path | None) -> None:
    """Validate the menus again and switch the running server to them (calls keep theirs)."""
    _control(config, "reload")


@main.command()
@config_option
def rollback(config: Path | None) -> None:
    """Switch the running server back to the menus it ran before the last reload."""
    _control(config, "rollback")


@main.command()
@config_option
def status(config: Path | None) -> None:
    """Show the running server's calls, limits and menu version."""
    _control(config, "status")


def _load_menus(paths: tuple[Path, ...], settings: ServerSettings) -> MenuSet:
    from fastagi.menus import MenuError, load_menus

    try:
        return load_menus(list(paths) or settings.menus_dir)
    except MenuError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _segment_problems(settings: ServerSettings, menus: MenuSet) -> list[Problem]:
    """Problems of the segment rules file, and segments naming menus that do not exist."""
    from fastagi.callers.segments import SegmentRules, check_segment_menus
    from fastagi.menus import MenuError

    if not settings.segments_file.exists():
        return []
    try:
        rules = SegmentRules.load(settings.segments_file)
    except MenuError as exc:
        return list(exc.problems)
    return list(rules.warnings) + check_segment_menus(rules, menus)


def _asterisk_problems(settings: ServerSettings, menus: MenuSet) -> list[Problem]:
    """The menus' needs checked against asterisk-conf/ (nothing when it is not there)."""
    from fastagi.asterisk import validate_asterisk
    from fastagi.asterisk.menu_refs import menu_references

    if not settings.asterisk_dir.is_dir():
        return []
    return validate_asterisk(
        settings.asterisk_dir,
        menu_references(menus),
        settings.host,
        settings.port,
        production=settings.production,
    )


def _hours_problems(settings: ServerSettings, menus: MenuSet) -> list[Problem]:
    """config/hours.yaml's own problems, and `hours` nodes naming a calendar it lacks."""
    from fastagi.hours import load_hours
    from fastagi.menus import MenuError, Problem
    from fastagi.menus._validation import did_you_mean
    from fastagi.menus.action_nodes import HoursNode

    uses = [
        (name, node_id, node.calendar)
        for name, menu in sorted(menus.items())
        for node_id, node in menu.nodes.items()
        if isinstance(node, HoursNode)
    ]
    if not settings.hours_file.is_file():
        if not uses:
            return []
        message = f"menus use business hours, but {settings.hours_file} does not exist"
        return [Problem(str(settings.hours_file), None, None, "", message, code="hours")]
    try:
        hours = load_hours(settings.hours_file)
    except MenuError as exc:
        return list(exc.problems)
    names = set(hours.calendar_names)
    return [
        menus.source(name).problem(
            ("nodes", node_id, "calendar"),
            f"calendar {calendar!r} is not in {settings.hours_file}",
            hint=did_you_mean(calendar, names),
            code="hours",
        )
        for name, node_id, calendar in uses
        if calendar is not None and calendar not in names
    ]


def _scratch_callbacks(settings: ServerSettings, callers: CallerService | None) -> Any:
    """The scratch callback store of a rehearsal (None: no rehearsal possible)."""
    import uuid

    from fastagi.callbacks.store import CallbackStore
    from fastagi.hours.loader import load_hours

    if callers is None or not settings.hours_file.is_file():
        return None
    hours = load_hours(settings.hours_file)
    prefix = f"{settings.redis_prefix}simulate-{uuid.uuid4().hex[:8]}:"
    store = CallbackStore.for_rules(
        callers.directory.redis, callers.callback_rules, hours, prefix=prefix,
        region=callers.directory.region,
    )  # fmt: skip
    callers.lost_calls = store
    # An emulated call takes no real time: the misdial filter cannot judge it.
    callers.callback_rules = callers.callback_rules.model_copy(update={"ignore_shorter_than": 0})
    return store, hours


async def _rehearse(
    callers: CallerService, scratch: Any, caller: str, outcomes: list[str]
) -> list[str]:
    from datetime import UTC, datetime

    from fastagi.outbound.rehearsal import rehearse_callbacks

    store, hours = scratch
    await callers.drain()  # the lost call is filed
    number = callers.directory.caller_number(caller) or caller
    return await rehearse_callbacks(
        store, callers.callback_rules, hours, number, outcomes, datetime.now(UTC)
    )


def _catalogue_or_exit(settings: ServerSettings) -> Catalogue | None:
    """The prompt catalogue of the settings (None when there is none); exit 2 when invalid."""
    from fastagi.menus import MenuError
    from fastagi.prompts.service import load_settings_catalogue

    try:
        return load_settings_catalogue(settings)
    except MenuError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _prompt_problems(settings: ServerSettings, menus: MenuSet) -> list[Problem]:
    from fastagi.menus import MenuError
    from fastagi.menus.prompt_files import missing_prompt_files
    from fastagi.prompts.checks import catalogue_problems
    from fastagi.prompts.service import load_settings_catalogue

    try:
        catalogue = load_settings_catalogue(settings)
    except MenuError as exc:
        return list(exc.problems)
    if catalogue is not None:
        from fastagi.campaigns.parse import voices_in

        return catalogue_problems(
            menus, catalogue, settings.prompts_dir, settings.sounds_dir,
            also_used=voices_in(settings.menus_dir),
        )  # fmt: skip
    if settings.sounds_dir is not None:
        return missing_prompt_files(menus, settings.sounds_dir)
    return []


def validation_problems(settings: ServerSettings, menus: MenuSet) -> list[Problem]:
    """What `ivr validate` (and `ivr doctor`) finds in loaded menus: lint, segments,
    the Asterisk config, business hours and prompts."""
    from fastagi.menus import lint_menus

    problems = lint_menus(menus) + _segment_problems(settings, menus)
    problems += _asterisk_problems(settings, menus) + _hours_problems(settings, menus)
    return problems + _prompt_problems(settings, menus)


@main.command()
@config_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
def validate(config: Path | None, paths: tuple[Path, ...]) -> None:
    """Check menu files (default: the menus directory), segment rules and the Asterisk config.

    Menus: schema, references and flow lint. Segments (settings' segments_file):
    the rule language, and that every menu a segment names exists. Asterisk
    (settings' asterisk_dir): every queue, mailbox, music class, trunk,
    conference profile and dialplan extension the menus name exists, and the
    dialplan's AGI calls reach this server's host:port. Prompts: every
    catalogue prompt the menus play exists in every catalogue language and
    is built in sounds_dir; prompts no menu plays are warnings.

    Prints every problem as file:line:column; exits 2 when there are errors.
    """
    settings = cli_settings(config)
    menus = _load_menus(paths, settings)
    problems = validation_problems(settings, menus)
    for problem in problems:
        click.echo(str(problem), err=True)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if errors:
        click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
        sys.exit(2)
    click.echo(f"ok: {len(menus)} menu(s) valid, {warnings} warning(s)")


@main.command()
@config_option
@click.argument("menu")
@click.option("--caller", default="unknown", show_default=True, help="Caller number.")
@click.option(
    "--digits",
    default="",
    help="What the caller does at each listening point, comma-separated: digits, '-' silence, "
    "'h' hang up (e.g. 2,1 or 1,-,0).",
)
@click.option("--node", default=None, help="Start at this node instead of the menu's start.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option(
    "--no-callers",
    is_flag=True,
    help="Do not look the caller up in Redis (no personal or segment menu, nothing recorded).",
)
@click.option(
    "--callbacks",
    "callback_outcomes",
    default=None,
    help="If the call is lost, rehearse its callbacks against the emulator's AMI: how each"
    " attempt's far end answers, e.g. no_answer,no_answer,answer (the last one repeats).",
)
def simulate(
    config: Path | None,
    menu: str,
    caller: str,
    digits: str,
    node: str | None,
    as_json: bool,
    no_callers: bool,
    callback_outcomes: str | None,
) -> None:
    """Place one simulated call through the real server over loopback TCP.

    The caller is looked up in Redis as on a real call (their personal or
    segment menu, and the call is added to their history) unless --no-callers.
    A lost call is never filed for a real callback; with --callbacks the
    callback rules are rehearsed on it instead, under scratch keys, over the
    following days on a moved clock. Prints the path (node ids), the prompts
    played, the variables set and the result.
    """
    from fastagi.outbound.rehearsal import OUTCOMES

    outcomes = [o.strip() for o in (callback_outcomes or "").split(",") if o.strip()]
    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown or (callback_outcomes is not None and not outcomes):
        raise click.BadParameter(f"use {', '.join(OUTCOMES)}", param_hint="--callbacks")
    from fastagi.prompts.service import dynamic_from_settings
    from fastagi.server.app import caller_service
    from fastagi.server.reactor import run_on_reactor_loop
    from fastagi.simulate import SimulatedCall, SimulationResult, simulate_calls
    from fastagi.storage import forget_prefix, redis_url

    settings = cli_settings(config)
    menus = _load_menus((), settings)
    if menu not in menus:
        raise click.ClickException(f"no menu {menu!r}; menus: {', '.join(sorted(menus))}")
    steps = tuple(item.strip() for item in digits.split(",") if item.strip())
    call = SimulatedCall(menu, caller, steps, node=node)
    dynamic = dynamic_from_settings(settings, _catalogue_or_exit(settings))

    rehearsal: list[str] = []

    async def run(callers: CallerService | None) -> SimulationResult:
        if callers is not None:
            callers.lost_calls = None  # a simulated call never files a real callback
        scratch = _scratch_callbacks(settings, callers) if outcomes else None
        try:
            (result,) = await simulate_calls(
                menus, [call], settings=settings, callers=callers, prompts=dynamic
            )
            if callers is not None and scratch is not None:
                rehearsal.extend(await _rehearse(callers, scratch, caller, outcomes))
            return result
        finally:
            if scratch is not None and callers is not None:
                await forget_prefix(callers.directory.redis, scratch[0].keys.prefix)
            if dynamic is not None:
                dynamic.close()
            if callers is not None:
                await callers.directory.redis.aclose()

    try:
        if no_callers:
            result = run_on_reactor_loop(run(None))
        else:
            with redis_url(settings.redis_url, settings.state_dir) as url:
                result = run_on_reactor_loop(run(caller_service(settings, url)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        data = result.to_json()
        if outcomes:
            data["callbacks"] = rehearsal
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"call {result.uniqueid} from {caller} to menu {menu}")
    if result.lookup:
        lookup = result.lookup
        click.echo(
            f"caller:    segment {lookup.get('segment')}, menu {lookup.get('menu')}"
            f" ({lookup.get('layer')}){' new contact' if lookup.get('new') == '1' else ''}"
            f"{' DEGRADED: Redis did not answer' if lookup.get('degraded') == '1' else ''}"
        )
    click.echo(f"path:      {' -> '.join(result.path)}")
    click.echo(f"prompts:   {', '.join(result.prompts)}")
    click.echo(f"digits:    {result.digits or '(none)'}")
    for name, value in result.variables.items():
        click.echo(f"variable:  {name}={value}")
    click.echo(f"result:    {result.result}  (IVRSTATUS={result.status or 'unset'})")
    for line in rehearsal:
        click.echo(f"callback:  {line}")


@main.command(name="test")
@config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def test_scenarios(config: Path | None, files: tuple[Path, ...], as_json: bool) -> None:
    """Run scenario files (default: <menus>/scenarios/*.yaml) against the menus over TCP.

    Reports each scenario, then which nodes and options the scenarios covered.
    Exits 1 when a scenario fails.
    """
    from fastagi.menus import MenuError, load_scenarios
    from fastagi.prompts.dynamic import GenericOnly
    from fastagi.scenario_runner import ScenarioReport, run_scenarios
    from fastagi.server.app import caller_service
    from fastagi.server.reactor import run_on_reactor_loop
    from fastagi.storage import forget_prefix, redis_url

    settings = cli_settings(config)
    menus = _load_menus((), settings)
    paths = list(files) or sorted((settings.menus_dir / "scenarios").glob("*.yaml"))
    if not paths:
        raise click.ClickException(f"no scenario files in {settings.menus_dir / 'scenarios'}")
    scenarios: list[Scenario] = []
    try:
        for path in paths:
            scenarios.extend(load_scenarios(path, menus=menus))
    except MenuError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    # Personalised prompts play their generic alternative: results must not
    # depend on how fast the engine is.
    catalogue = _catalogue_or_exit(settings)
    dynamic = None if catalogue is None else GenericOnly(catalogue)
    # Scenarios run against a scratch key prefix: their callers, tickets and
    # history never mix with the real directory, and are removed afterwards.
    scratch = settings.model_copy(
        update={"redis_prefix": f"{settings.redis_prefix}scenarios-{uuid.uuid4().hex[:8]}:"}
    )
    with redis_url(settings.redis_url, settings.state_dir) as url:
        callers = caller_service(scratch, url)

        async def run() -> ScenarioReport:
            try:
                return await run_scenarios(menus, scenarios, callers=callers, prompts=dynamic)
            finally:
                await forget_prefix(callers.directory.redis, scratch.redis_prefix)
                await callers.directory.redis.aclose()

        report = run_on_reactor_loop(run())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "passed": report.passed,
                    "scenarios": [
                        {"name": o.scenario.name, "passed": o.passed, "problems": o.mismatches}
                        for o in report.outcomes
                    ],
                    "nodes_missed": report.coverage.nodes_missed,
                    "options_missed": report.coverage.options_missed,
                },
                indent=2,
            )
        )
    else:
        for outcome in report.outcomes:
            mark = "PASS" if outcome.passed else "FAIL"
            click.echo(f"{mark}  {outcome.scenario.name}")
            for problem in outcome.mismatches:
                click.echo(f"      {problem}")
        click.echo(f"coverage: {report.coverage.summary()}")
        for missed in report.coverage.nodes_missed:
            click.echo(f"  node never reached: {missed}")
        for missed in report.coverage.options_missed:
            click.echo(f"  option never pressed: {missed}")
        passed = len(report.outcomes) - len(report.failures)
        click.echo(f"{passed} passed, {len(report.failures)} failed")
    if not report.passed:
        sys.exit(1)


@main.command()
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write menu.schema.json and scenario.schema.json here (default: next to the package).",
)
def schema(output_dir: Path | None) -> None:
    """Write the JSON Schemas of the menu and scenario formats (for editors)."""
    from fastagi.menus import write_schemas

    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    for path in write_schemas(output_dir):
        click.echo(str(path))


def _register_subcommands() -> None:
    from fastagi.bench.cli import bench_command
    from fastagi.cli_callers import callers
    from fastagi.cli_campaign import campaign
    from fastagi.cli_doctor import doctor
    from fastagi.cli_erlang import erlang
    from fastagi.cli_graph import graph
    from fastagi.cli_outbound import broadcast, callbacks
    from fastagi.cli_prompts import prompts
    from fastagi.cli_report import events_group, report

    main.add_command(bench_command, name="bench")
    main.add_command(callers, name="callers")
    main.add_command(prompts, name="prompts")
    main.add_command(campaign, name="campaign")
    main.add_command(broadcast, name="broadcast")
    main.add_command(callbacks, name="callbacks")
    main.add_command(report, name="report")
    main.add_command(events_group, name="events")
    main.add_command(erlang, name="erlang")
    main.add_command(graph, name="graph")
    main.add_command(doctor, name="doctor")


_register_subcommands()


@click.group(name="menu")
def menu_group() -> None:
    """Menus as a caller meets them."""


@menu_group.command(name="show")
@config_option
@click.option("--caller", required=True, help="The caller's number, in any written form.")
@click.option("--menu", "requested", default="main", show_default=True,
              help="The menu the dialplan names (the script path).")  # fmt: skip
def menu_show(config: Path | None, caller: str, requested: str) -> None:
    """The menu this caller would get right now, and the layer each part came from.

    Reads the caller's profile without recording a call: personal menu >
    segment menu > the menu the dialplan names; then the first route of that
    menu that would send them elsewhere.
    """
    import asyncio
    from datetime import UTC, datetime

    from fastagi.callers import CallerProfile
    from fastagi.callers.conditions import EvalContext
    from fastagi.cli_callers import load_rules, open_directory
    from fastagi.personalise import choose_menu
    from fastagi.storage import redis_url

    settings = cli_settings(config)
    menus = _load_menus((), settings)
    if requested not in menus:
        raise click.ClickException(f"no menu {requested!r}; menus: {', '.join(sorted(menus))}")
    rules = load_rules(settings)

    async def lookup(url: str) -> CallerProfile:
        async with open_directory(url, settings) as directory:
            number = directory.caller_number(caller)
            if number is None:
                click.echo(f"{caller}: withheld or not a number: an anonymous caller")
                return CallerProfile.anonymous_caller()
            found = await directory.get(number, windows=rules.windows())
            if found is None:
                click.echo(f"{number}: not in the directory; as their first call:")
                return CallerProfile(number=number, is_new=True)
            return found

    with redis_url(settings.redis_url, settings.state_dir) as url:
        profile = asyncio.run(lookup(url))
    now = datetime.now(UTC)
    match = rules.classify(profile, now)
    choice = choose_menu(requested, profile, match, menus)
    rule = "" if match.rule_index is None else f" (rule {match.rule_index + 1})"
    click.echo(f"segment:  {match.segment}{rule}: {'; '.join(match.reasons)}")
    click.echo(f"menu:     {choice.menu}  [{choice.layer}: {choice.reason}]")
    menu = menus[choice.menu]
    facts = EvalContext(profile, now, segment=match.segment)
    for index, route in enumerate(menu.routes, start=1):
        if route.when.evaluate(facts):
            click.echo(f"route {index}: {route.when.explain(facts)} -> {route.goto}")
            break
    else:
        click.echo(f"start:    {menu.start} (no route applies)")
    if profile.language:
        click.echo(f"language: {profile.language} (from the profile)")


main.add_command(menu_group)
