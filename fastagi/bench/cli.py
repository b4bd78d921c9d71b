"""`ivr bench`: the click command (registered by fastagi.cli)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fastagi.bench.runner import (
    PEERS,
    QUICK,
    BenchError,
    BenchOptions,
    options_with,
    parse_peers,
    run_bench,
)

__all__ = ["bench_command"]


@click.group("bench", invoke_without_command=True)
@click.option("--calls", type=click.IntRange(min=1), help="Throughput phase: calls (20000).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Throughput: at once (100).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Calls/s (200).")
@click.option(
    "--rate-seconds", type=click.FloatRange(min=0, min_open=True), help="Rate phase, s (10)."
)
@click.option("--hold", type=click.IntRange(min=1), help="Calls held at once (2000).")
@click.option(
    "--rounds", type=click.IntRange(min=1), help="Interleaved rounds per load phase (20)."
)
@click.option("--warmup", type=click.IntRange(min=0), help="Unmeasured calls per server (200).")
@click.option(
    "--peers",
    "peers_text",
    default=",".join(PEERS),
    show_default=True,
    help="Servers to measure, in order.",
)
@click.option(
    "--input",
    "caller_input",
    help="Caller input of the scenario, as for CallerScript.parse (default '2,2': 6 commands).",
)
@click.option(
    "--menus", "menus_dir", type=click.Path(path_type=Path, file_okay=False), help="Menu dir."
)
@click.option(
    "--docs",
    "docs_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("docs/benchmarks.md"),
    show_default=True,
    help="Where --write-docs writes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--write-docs/--no-write-docs", default=False, help="Write the results into --docs.")
@click.option(
    "--quick",
    is_flag=True,
    help=f"Small numbers for a smoke run ({QUICK['calls']} calls, hold {QUICK['hold']}).",
)
def bench_command(
    calls: int | None,
    concurrency: int | None,
    rate: float | None,
    rate_seconds: float | None,
    hold: int | None,
    rounds: int | None,
    warmup: int | None,
    peers_text: str,
    caller_input: str | None,
    menus_dir: Path | None,
    docs_path: Path,
    as_json: bool,
    write_docs: bool,
    quick: bool,
) -> None:
    """Drive our server, panoramisk and a bare asyncio responder with the same emulated calls.

    Reports call setups/s, per-command overhead p50/p99, server RSS with many
    calls held, and the ratios ours/panoramisk and ours/bare. Each server runs
    alone, pinned to one CPU; the load generator runs on another.
    `ivr bench prompts` measures prompt builds and personalised prompts instead.
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    try:
        base = BenchOptions(**QUICK) if quick else BenchOptions()
        options = options_with(
            base,
            {
                "calls": calls,
                "concurrency": concurrency,
                "rate": rate,
                "rate_seconds": rate_seconds,
                "hold": hold,
                "rounds": rounds,
                "warmup": warmup,
                "peers": parse_peers(peers_text),
                "caller_input": caller_input,
                "menus_dir": menus_dir,
                "docs_path": docs_path,
                "write_docs": write_docs,
            },
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    try:
        results = run_bench(options, progress=lambda message: click.echo(message, err=True))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        from fastagi.bench.report import markdown

        click.echo(markdown(results))


def _report_options(command: Callable[..., None]) -> Callable[..., None]:
    """--docs, --write-docs and --json, as every `ivr bench` subcommand has them."""
    for option in (
        click.option("--json", "as_json", is_flag=True, help="Print the results as JSON."),
        click.option(
            "--write-docs/--no-write-docs", default=False, help="Write the results into --docs."
        ),
        click.option(
            "--docs",
            "docs_path",
            type=click.Path(path_type=Path, dir_okay=False),
            default=Path("docs/benchmarks.md"),
            show_default=True,
        ),
    ):
        command = option(command)
    return command


_workload_option = click.option(
    "--workload", type=click.Choice(["demo-mix", "single"]), default="demo-mix",
    show_default=True, help="The demo centre's mix of calls, or one call.",
)  # fmt: skip


def _report(
    result: dict[str, Any], text: str, markers: tuple[str, str], command: str,
    docs_path: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Print the results (Markdown or JSON); with `docs_path`, write the Markdown and
    the command that made it between the subcommand's markers there."""
    if docs_path is not None:
        from fastagi.bench.report import write_section

        write_section(docs_path, *markers, f"{text}\nCommand: `{command}`\n")
    click.echo(json.dumps(result, indent=2) if as_json else text)


@bench_command.command("prompts")
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--catalogue",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=Path("prompts/catalogue.yaml"),
    show_default=True,
)
@_report_options
def bench_prompts_command(
    rounds: int, catalogue: Path, docs_path: Path, write_docs: bool, as_json: bool
) -> None:
    """Cold and warm builds of the catalogue and personalised-prompt latency (espeak-ng).

    Beside the bare pipeline (espeak-ng -w, then sox, one prompt at a time).
    """
    from fastagi.bench.prompts_bench import BEGIN, END, bench_prompts, markdown
    from fastagi.prompts.audio import AudioError

    try:
        results = bench_prompts(
            catalogue, catalogue.parent, rounds=rounds,
            progress=lambda message: click.echo(message, err=True),
        )  # fmt: skip
    except (AudioError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    text = markdown(results)
    command = f"ivr bench prompts --rounds {rounds} --write-docs"
    _report(results, text, (BEGIN, END), command, docs_path if write_docs else None, as_json)


@bench_command.command("soak")
@click.option("--minutes", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option("--rate", type=click.FloatRange(min=0.1), default=100.0, show_default=True,
              help="Calls started per second.")  # fmt: skip
@click.option("--sample-every", type=click.FloatRange(min=0.5), default=10.0, show_default=True)
@_workload_option
@_report_options
def soak_command(
    minutes: float, rate: float, sample_every: float, workload: str, docs_path: Path,
    write_docs: bool, as_json: bool,
) -> None:  # fmt: skip
    """The shipped server at a steady rate for minutes: failed calls, memory and file
    descriptors sampled (no growth after the warm-up means no leak)."""
    from fastagi.bench.soak import BEGIN, END, markdown, run_soak

    result = run_soak(
        minutes=minutes, rate=rate, sample_every=sample_every, workload=workload,
        progress=lambda message: click.echo(message, err=True),
    )  # fmt: skip
    text = markdown(result)
    command = (
        f"ivr bench soak --minutes {minutes:g} --rate {rate:g} --workload {workload} --write-docs"
    )
    _report(result, text, (BEGIN, END), command, docs_path if write_docs else None, as_json)


@bench_command.command("spike")
@click.option("--rate", type=click.FloatRange(min=0.1), default=40.0, show_default=True,
              help="Steady calls started per second, before and after the spike.")  # fmt: skip
@click.option("--factor", type=click.FloatRange(min=1.0), default=10.0, show_default=True,
              help="The spike's rate as a multiple of --rate.")  # fmt: skip
@click.option("--spike-seconds", type=click.FloatRange(min=1.0), default=30.0, show_default=True)
@click.option("--steady-seconds", type=click.FloatRange(min=1.0), default=20.0, show_default=True)
@click.option("--call-seconds", type=click.FloatRange(min=0.0), default=3.0, show_default=True,
              help="How long each call lasts (spread over its commands).")  # fmt: skip
@click.option("--max-calls", type=click.IntRange(min=1),
              help="The server's call limit [default: 2.5x the calls up at --rate].")  # fmt: skip
@_workload_option
@_report_options
def spike_command(
    rate: float, factor: float, spike_seconds: float, steady_seconds: float,
    call_seconds: float, max_calls: int | None, workload: str, docs_path: Path,
    write_docs: bool, as_json: bool,
) -> None:  # fmt: skip
    """A steady rate, then --factor times it for --spike-seconds, then the steady rate:
    calls over the limit must be refused fast (BUSY), none may fail, and the admitted
    ones keep their per-command overhead."""
    from fastagi.bench.spike import BEGIN, END, SpikePlan, markdown, run_spike

    plan = SpikePlan(rate, factor, spike_seconds, steady_seconds, call_seconds, max_calls, workload)
    result = run_spike(plan, progress=lambda message: click.echo(message, err=True))
    text = markdown(result)
    _report(
        result, text, (BEGIN, END), result["command"], docs_path if write_docs else None, as_json
    )


@bench_command.command("instructions")
@click.option("--calls", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Calls counted per server.")  # fmt: skip
@click.option("--warmup", type=click.IntRange(min=0), default=300, show_default=True,
              help="Calls replayed first, not counted.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--peers", default="ours,ours-nostream,ours-nocallers", show_default=True,
              help="Servers to count, in order.")  # fmt: skip
@_report_options
def instructions_command(
    calls: int, warmup: int, concurrency: int, peers: str, docs_path: Path, write_docs: bool,
    as_json: bool,
) -> None:  # fmt: skip
    """Instructions per call of our server with and without lookups, counted under
    valgrind's callgrind: a measure that machine noise does not move."""
    from fastagi.bench.instructions import BEGIN, END, count_instructions, markdown

    names = parse_peers(peers)
    try:
        result = count_instructions(
            names, calls=calls, warmup=warmup, concurrency=concurrency,
            progress=lambda m: click.echo(m, err=True),
        )  # fmt: skip
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    command = f"ivr bench instructions --calls {calls} --peers {','.join(names)} --write-docs"
    _report(result, markdown(result), (BEGIN, END), command, docs_path if write_docs else None,
            as_json)  # fmt: skip


@bench_command.command("hold")
@click.option("--calls", type=click.IntRange(min=1), default=5000, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=1.0), default=300.0, show_default=True,
              help="Seconds allowed to bring every call up.")  # fmt: skip
@_report_options
def hold_command(
    calls: int, timeout: float, docs_path: Path, write_docs: bool, as_json: bool
) -> None:
    """--calls calls up at once on one shipped server: memory, descriptors, the server's
    own count."""
    from fastagi.bench.hold_bench import BEGIN, END, markdown, run_hold

    result = run_hold(calls, timeout=timeout, progress=lambda m: click.echo(m, err=True))
    text = markdown(result)
    command = f"ivr bench hold --calls {calls} --write-docs"
    _report(result, text, (BEGIN, END), command, docs_path if write_docs else None, as_json)
