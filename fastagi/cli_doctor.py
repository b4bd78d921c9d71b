"""`ivr doctor`: is this installation ready to take calls? One line per check.

Each line reads `ok`, `warn` or `FAIL`, what was found, and what to do about
it. The command exits 1 when any check FAILs, so it fits a deployment script
or a monitoring probe. Nothing is changed: only the embedded Redis is started
(and released) as `ivr serve` would start it when no redis_url is set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import click

from fastagi.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    ServerSettings,
    is_loopback_host,
    load_settings,
    split_address,
)

if TYPE_CHECKING:
    from fastagi.menus import Problem

__all__ = ["Finding", "doctor", "run_checks"]

Level = Literal["ok", "warn", "FAIL"]

#: What `production: true` refuses as an AMI secret (the sample manager.conf's).
PLACEHOLDER_SECRETS: Final = frozenset({"", "CHANGE_ME"})
AMI_TIMEOUT: Final = 5.0
REDIS_TIMEOUT: Final = 3.0
CONTROL_TIMEOUT: Final = 2.0
MAX_LISTED: Final = 10  # problems printed one by one; the rest are counted


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    level: Level
    what: str
    todo: str = ""

    def line(self) -> str:
        text = f"{self.level:<4}  {self.what}"
        return f"{text}  - {self.todo}" if self.todo else text


Check = Callable[[ServerSettings], list[Finding]]


def _ok(what: str, todo: str = "") -> Finding:
    return Finding("ok", what, todo)


def _warn(what: str, todo: str = "") -> Finding:
    return Finding("warn", what, todo)


def _fail(what: str, todo: str = "") -> Finding:
    return Finding("FAIL", what, todo)


# -- Redis ---------------------------------------------------------------------


def check_redis(settings: ServerSettings) -> list[Finding]:
    """Reach Redis as `ivr serve` would (REDIS_URL / redis_url, else the embedded one).

    With a `redis+sentinel://` URL, also which master the sentinels name, and
    any listed sentinel that does not answer.
    """
    import redis
    from redis.sentinel import MasterNotFoundError

    from fastagi.config import redacted_url
    from fastagi.storage import (
        EmbeddedRedisError,
        is_sentinel_url,
        open_sync_client,
        parse_sentinel_url,
        redis_url,
    )

    where = (
        redacted_url(settings.redis_url)
        if settings.redis_url
        else f"embedded, under {settings.state_dir}"
    )
    sentinel_findings: list[Finding] = []
    try:
        with redis_url(settings.redis_url, settings.state_dir) as url:
            client = open_sync_client(url, timeout=REDIS_TIMEOUT)
            try:
                if is_sentinel_url(url):
                    sentinel_findings = _sentinel_findings(client, parse_sentinel_url(url).master)
                info: dict[str, Any] = client.info("server")
            finally:
                client.close()
    except EmbeddedRedisError as exc:
        return [
            _fail(
                f"Redis: the embedded server did not start: {exc}",
                "install redis-server, or point redis_url (REDIS_URL) at a Redis server",
            )
        ]
    except MasterNotFoundError as exc:
        return [
            _fail(
                f"Redis ({where}): the sentinels name no usable master: {exc}",
                "check the master name in the URL (`sentinel monitor <name>` in"
                " sentinel.conf), that a sentinel answers, and ?sentinel_password=",
            )
        ]
    except redis.AuthenticationError as exc:
        return [
            _fail(
                f"Redis ({where}) refused the password: {exc}",
                "put the password of the Redis server in REDIS_URL (redis://:password@host)",
            )
        ]
    except (redis.RedisError, ValueError, OSError) as exc:
        return [
            _fail(
                f"Redis ({where}) does not answer: {exc}",
                "start Redis, or correct redis_url in server.yaml (or REDIS_URL)",
            )
        ]
    version = info.get("redis_version", "unknown")
    return [_ok(f"Redis ({where}) answers, version {version}"), *sentinel_findings]


def _sentinel_findings(client: Any, master: str) -> list[Finding]:
    """Where the sentinels say `master` is (raises MasterNotFoundError when none does)."""
    import redis

    pool = client.connection_pool
    host, port = pool.get_master_address()
    listed = pool.sentinel_manager.sentinels
    silent = []
    for sentinel in listed:
        try:
            sentinel.ping()
        except redis.RedisError as exc:
            kwargs = sentinel.connection_pool.connection_kwargs
            silent.append(f"{kwargs['host']}:{kwargs['port']} ({exc})")
    findings = [
        _ok(
            f"Redis Sentinel: master {master!r} is {host}:{port}"
            f" ({len(listed) - len(silent)} of {len(listed)} sentinel(s) answer)"
        )
    ]
    if silent:
        findings.append(
            _warn(
                f"Redis Sentinel: no answer from {', '.join(silent)}",
                "a failover needs a quorum of sentinels: start them or correct the URL",
            )
        )
    return findings


# -- menus and prompts -----------------------------------------------------------


def _problem_findings(topic: str, problems: list[Problem], todo: str) -> list[Finding]:
    errors = [p for p in problems if p.severity == "error"]
    findings = [_fail(f"{topic}: {problem}", todo) for problem in errors[:MAX_LISTED]]
    if len(errors) > MAX_LISTED:
        findings.append(_fail(f"{topic}: {len(errors) - MAX_LISTED} more error(s)", todo))
    return findings


def check_menus(settings: ServerSettings) -> list[Finding]:
    """What `ivr validate` checks, summed up: one FAIL per error, one warn for the warnings."""
    from fastagi.cli import validation_problems
    from fastagi.menus import MenuError, load_menus

    todo = "fix the file; `ivr validate` lists every problem"
    try:
        menus = load_menus(settings.menus_dir)
    except MenuError as exc:
        return _problem_findings("menus", list(exc.problems), todo) or [
            _fail(f"menus in {settings.menus_dir} cannot be loaded: {exc}", todo)
        ]
    problems = validation_problems(settings, menus)
    findings = _problem_findings("menus", problems, todo)
    warnings = sum(1 for p in problems if p.severity != "error")
    if warnings:
        findings.append(
            _warn(f"menus: {warnings} warning(s)", "`ivr validate` shows them; calls still work")
        )
    if not any(f.level == "FAIL" for f in findings):
        findings.insert(0, _ok(f"menus: {len(menus)} menu(s) in {settings.menus_dir} valid"))
    return findings


def check_prompts(settings: ServerSettings) -> list[Finding]:
    """The catalogue loads and every prompt is built and current in sounds_dir."""
    from fastagi.menus import MenuError
    from fastagi.prompts.build import MANIFEST_NAME
    from fastagi.prompts.listing import prompt_statuses
    from fastagi.prompts.service import catalogue_path, load_settings_catalogue

    try:
        catalogue = load_settings_catalogue(settings)
    except MenuError as exc:
        return _problem_findings(
            "prompt catalogue", list(exc.problems), "fix the catalogue file"
        ) or [_fail(f"prompt catalogue: {exc}", "fix the catalogue file")]
    if catalogue is None:
        return [
            _warn(
                f"prompts: no catalogue at {catalogue_path(settings)}",
                "menus can only play sound files Asterisk already has",
            )
        ]
    if settings.sounds_dir is None:
        return [_warn("prompts: sounds_dir is not set, nothing is built", "set sounds_dir")]
    # Not built is a FAIL only when `ivr serve` would not build them itself.
    level: Level = "warn" if settings.build_prompts_on_start else "FAIL"
    todo = "run `ivr prompts build`" + (
        " (ivr serve also builds them at start)" if settings.build_prompts_on_start else ""
    )
    if not (settings.sounds_dir / MANIFEST_NAME).is_file():
        return [Finding(level, f"prompts: never built in {settings.sounds_dir}", todo)]
    statuses = prompt_statuses(catalogue, settings)
    behind = [s for s in statuses if s.state in ("missing", "stale")]
    if behind:
        names = ", ".join(f"{s.prompt_id} [{s.language}] {s.state}" for s in behind[:5])
        more = f" and {len(behind) - 5} more" if len(behind) > 5 else ""
        return [Finding(level, f"prompts: {len(behind)} not up to date: {names}{more}", todo)]
    built = sum(1 for s in statuses if s.state == "ok")
    return [_ok(f"prompts: {built} built and current in {settings.sounds_dir}")]


# -- tools ------------------------------------------------------------------------


def _sox_reads_mp3(sox: str) -> bool:
    try:
        done = subprocess.run([sox, "-h"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    for line in done.stdout.splitlines():
        if line.startswith("AUDIO FILE FORMATS:"):
            return "mp3" in line.split()
    return False


def check_tools(settings: ServerSettings) -> list[Finding]:
    """espeak-ng and sox, which build the prompts; sox's MP3 support (gTTS speaks MP3)."""
    from fastagi.prompts.audio import AudioError, require_tool

    findings: list[Finding] = []
    for tool, use in (("espeak-ng", "offline text-to-speech"), ("sox", "audio conversion")):
        try:
            path = require_tool(tool)
        except AudioError as exc:
            level: Level = (
                "warn" if tool == "espeak-ng" and settings.tts_engine == "gtts" else "FAIL"
            )
            what = str(exc).partition(": apt-get")[0]
            findings.append(Finding(level, f"{what} (needed for {use})", f"apt-get install {tool}"))
            continue
        findings.append(_ok(f"{tool} installed ({path})"))
        if tool == "sox" and not _sox_reads_mp3(path):
            findings.append(
                _warn(
                    "sox cannot read MP3: gTTS prompts and .mp3 recordings cannot be converted",
                    "apt-get install libsox-fmt-mp3",
                )
            )
    return findings


# -- ports --------------------------------------------------------------------------


def _split(address: str) -> tuple[str, int]:
    host, port = split_address(address)
    return host or "0.0.0.0", port


def _bind_error(host: str, port: int) -> OSError | None:
    """Why host:port cannot be listened on now (None: it can)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return exc
    return None


def _running_server(settings: ServerSettings) -> dict[str, Any] | None:
    """The status of the `ivr serve` of these settings, None when none answers."""
    from fastagi.server.control import ControlError, control_socket_path, send_control

    path = control_socket_path(settings.state_dir, settings.port)
    try:
        answer = send_control(path, "status", timeout=CONTROL_TIMEOUT)
    except ControlError:
        return None
    return answer if answer.get("ok") else None


def _listeners(settings: ServerSettings) -> list[tuple[str, str]]:
    from fastagi.menus import MenuError
    from fastagi.outbound.broadcast import load_broadcast_config

    found = [("FastAGI", f"{settings.host}:{settings.port}")]
    for name, address in (
        ("metrics", settings.metrics_listen),
        ("dashboard", None if settings.dashboard_password else settings.dashboard_listen),
        ("prompts over HTTP", settings.prompts_http),
    ):
        if address:
            found.append((name, address))
    try:
        trigger = load_broadcast_config(settings.broadcast_file).http
    except MenuError:
        trigger = None  # reported by the secrets check
    if trigger:
        found.append(("broadcast trigger", trigger))
    return found


def check_ports(settings: ServerSettings) -> list[Finding]:
    """Every address `ivr serve` listens on is free, or held by that very server."""
    import errno

    running = _running_server(settings)
    findings = []
    for name, address in _listeners(settings):
        host, port = _split(address)
        if port == 0:
            findings.append(_ok(f"{name} {address}: any free port will do"))
            continue
        error = _bind_error(host, port)
        if error is None:
            findings.append(_ok(f"{name} {address} is free"))
        elif error.errno == errno.EADDRINUSE and running is not None:
            calls = running.get("active_calls", "?")
            findings.append(
                _ok(f"{name} {address} is used by the running ivr serve ({calls} calls)")
            )
        elif error.errno == errno.EADDRINUSE:
            findings.append(
                _fail(
                    f"{name} {address} is taken by another program",
                    "stop that program (ss -ltnp shows it) or choose another port in server.yaml",
                )
            )
        else:
            findings.append(
                _fail(
                    f"{name} {address} cannot be listened on: {error.strerror or error}",
                    "use an address of this machine (or 127.0.0.1) in server.yaml",
                )
            )
    return findings


# -- AMI ------------------------------------------------------------------------------


def check_ami(settings: ServerSettings) -> list[Finding]:
    """Log in to Asterisk's manager interface once, as the outbound calls would."""
    from fastagi.ami import AmiClient
    from fastagi.ami.errors import AmiAuthError, AmiError
    from fastagi.server.reactor import run_on_reactor_loop

    if settings.ami_host is None:
        return [
            _warn(
                "AMI: ami_host is not set: lost calls are filed but nothing will be dialled",
                "set ami_host and IVR_AMI_SECRET to place callbacks, campaigns and broadcasts",
            )
        ]
    where = f"{settings.ami_username}@{settings.ami_host}:{settings.ami_port}"
    if not settings.ami_secret:
        return [
            _fail(
                f"AMI {where}: no secret",
                f"set IVR_AMI_SECRET to the secret of [{settings.ami_username}] in manager.conf",
            )
        ]

    async def login() -> str | None:
        client = AmiClient(
            settings.ami_host or "", settings.ami_port, settings.ami_username,
            settings.ami_secret or "", auth=settings.ami_auth, events="off", ping_interval=0,
        )  # fmt: skip
        try:
            await client.start(timeout=AMI_TIMEOUT)
            return client.ami_version
        finally:
            await client.close()

    try:
        version = run_on_reactor_loop(login())
    except AmiAuthError:
        return [
            _fail(
                f"AMI {where} refused the login",
                "the secret in IVR_AMI_SECRET does not match manager.conf"
                f" [{settings.ami_username}] (or its permit= does not allow this machine)",
            )
        ]
    except (AmiError, ValueError) as exc:
        return [
            _fail(
                f"AMI {where}: no login within {AMI_TIMEOUT:.0f} s: {exc}",
                "check that Asterisk runs, manager.conf has enabled = yes, and its"
                " bindaddr/port match ami_host/ami_port",
            )
        ]
    return [_ok(f"AMI {where}: logged in (AMI version {version or 'unknown'})")]


# -- secrets and exposure ------------------------------------------------------------------


def check_secrets(
    settings: ServerSettings, environ: Mapping[str, str] | None = None
) -> list[Finding]:
    """Placeholder secrets, an HTTP trigger without a strong token, open listeners."""
    from fastagi.menus import MenuError
    from fastagi.outbound.broadcast import load_broadcast_config
    from fastagi.outbound.broadcast_http import MIN_TOKEN_LENGTH

    environ = os.environ if environ is None else environ
    findings = []
    placeholder = (settings.ami_secret or "") in PLACEHOLDER_SECRETS
    if settings.ami_host is not None and placeholder:
        todo = "set IVR_AMI_SECRET to a long random secret, the same as in manager.conf"
        if settings.production:
            findings.append(_fail("AMI secret is empty or the placeholder CHANGE_ME", todo))
        else:
            findings.append(_warn("AMI secret is empty or the placeholder CHANGE_ME", todo))
    elif settings.production and settings.ami_secret == "CHANGE_ME":
        findings.append(_fail("AMI secret is the placeholder CHANGE_ME", "set IVR_AMI_SECRET"))
    try:
        broadcast = load_broadcast_config(settings.broadcast_file)
    except MenuError as exc:
        findings.append(_fail(f"broadcast settings: {exc}", f"fix {settings.broadcast_file}"))
    else:
        if broadcast.http:
            token = environ.get(broadcast.token_env, "")
            if len(token) < MIN_TOKEN_LENGTH:
                findings.append(
                    _fail(
                        f"the broadcast trigger on {broadcast.http} has no token of"
                        f" {MIN_TOKEN_LENGTH}+ characters in {broadcast.token_env}",
                        f"put a long random token in {broadcast.token_env}"
                        " (e.g. in /etc/fastagi-ivr/env)",
                    )
                )
            else:
                findings.append(_ok(f"the broadcast trigger has a token ({broadcast.token_env})"))
    token_env = settings.webhook_token_env
    if settings.webhook_url and token_env and not environ.get(token_env):
        findings.append(
            _warn(
                f"events go to the webhook without a token ({token_env} is not set)",
                f"set {token_env} if the CRM checks one",
            )
        )
    if not is_loopback_host(settings.host) and not settings.allowed_peers:
        findings.append(
            _warn(
                f"FastAGI listens on {settings.host} with allowed_peers empty: anyone who"
                " reaches the port can run menus",
                "list Asterisk's addresses in allowed_peers, or listen on 127.0.0.1",
            )
        )
    for name, address in (
        ("metrics", settings.metrics_listen),
        ("dashboard", None if settings.dashboard_password else settings.dashboard_listen),
        ("prompts over HTTP", settings.prompts_http),
    ):
        if address and not is_loopback_host(_split(address)[0]):
            findings.append(
                _warn(
                    f"{name} on {address} has no authentication and is not on loopback",
                    "listen on 127.0.0.1, or put a reverse proxy with authentication in front",
                )
            )
    if not findings:
        findings.append(_ok("secrets: no placeholder secrets, listeners on loopback"))
    return findings


CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("Redis", check_redis),
    ("menus", check_menus),
    ("prompts", check_prompts),
    ("tools", check_tools),
    ("ports", check_ports),
    ("AMI", check_ami),
    ("secrets", check_secrets),
)


def run_checks(settings: ServerSettings) -> list[Finding]:
    """Every check in turn; one that crashes is a FAIL of its own, the others still run."""
    findings: list[Finding] = []
    for name, check in CHECKS:
        try:
            findings.extend(check(settings))
        except Exception as exc:
            findings.append(
                _fail(
                    f"{name}: the check itself failed: {type(exc).__name__}: {exc}",
                    "report this; the other checks still ran",
                )
            )
    return findings


def _settings_source(config: Path | None) -> str:
    if config is not None:
        return str(config)
    source = Path(os.environ.get("IVR_CONFIG", DEFAULT_CONFIG_PATH))
    return str(source) if source.exists() else "defaults (no config/server.yaml)"


@click.command()
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (default: $IVR_CONFIG or config/server.yaml when present).",
)
def doctor(config: Path | None) -> None:
    """Check that this installation can take calls: settings, Redis, menus, prompts,
    tools, ports, AMI and secrets. Exits 1 when anything FAILs."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        click.echo(_fail(f"settings: {exc}", "correct that key (config/server.yaml)").line())
        sys.exit(1)
    findings = [_ok(f"settings loaded from {_settings_source(config)}"), *run_checks(settings)]
    for finding in findings:
        click.echo(finding.line())
    failed = sum(1 for f in findings if f.level == "FAIL")
    warned = sum(1 for f in findings if f.level == "warn")
    click.echo(f"{failed} FAIL, {warned} warn, {len(findings) - failed - warned} ok")
    if failed:
        sys.exit(1)
