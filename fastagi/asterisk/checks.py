"""Check what menus name (queues, mailboxes, contexts, ...) against an Asterisk inventory.

Each check returns Problems located at the menu line that names the missing
thing, with a "did you mean" hint, in the same form as the menu validator's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import takewhile
from pathlib import Path
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from fastagi.asterisk.dialplan import AgiTarget, substitute_globals
from fastagi.asterisk.inventory import PLACEHOLDER_SECRET, Inventory, load_inventory
from fastagi.menus._validation import did_you_mean
from fastagi.menus.problems import Problem, Severity

__all__ = [
    "AsteriskReference",
    "ReferenceKind",
    "check_agi_address",
    "check_manager_secret",
    "check_references",
    "validate_asterisk",
]

ReferenceKind = Literal[
    "queue",
    "mailbox",
    "moh",
    "context",
    "trunk",
    "endpoint",
    "bridge_profile",
    "user_profile",
    "confbridge_menu",
]

DEFAULT_AGI_PORT: Final = 4573
#: The [globals] holding the FastAGI servers' addresses: the first server, and a
#: second one that [ivr-entry] tries when the first cannot take a call (empty:
#: there is none, and the AGI() that names it never runs).
SERVER_GLOBALS: Final = ("IVR_AGI", "IVR_AGI2")
_OPTIONAL_SERVER_GLOBALS: Final = SERVER_GLOBALS[1:]
# ConfBridge falls back to built-in profiles of these names when confbridge.conf lacks them.
_BUILTIN_PROFILES: Final = {"bridge_profile": "default_bridge", "user_profile": "default_user"}
# Listing every known name helps only when the list is short.
_MAX_LISTED = 8
_WHERE = re.compile(r"^(?P<file>.*?):(?P<line>\d+)(?::(?P<column>\d+))?$")
_ANY_HOST: Final = frozenset({"", "0.0.0.0", "::", "*"})


@dataclass(frozen=True)
class AsteriskReference:
    """Something a menu names that Asterisk must define.

    `name` is the queue, `mailbox@context`, MoH class, `context[,exten[,priority]]`,
    PJSIP trunk or endpoint, or ConfBridge profile/menu name; `where` is the
    menu location to print, `file:line` or `file:line:column`.
    """

    kind: ReferenceKind
    name: str
    where: str

    def __post_init__(self) -> None:
        if self.kind not in get_args(ReferenceKind):
            raise ValueError(f"unknown Asterisk reference kind {self.kind!r}")


def _problem(
    where: str, message: str, hint: str = "", *, code: str, severity: Severity = "error"
) -> Problem:
    match = _WHERE.match(where)
    if match is None:
        return Problem(where, None, None, "", message, hint=hint, severity=severity, code=code)
    column = int(match["column"]) if match["column"] else None
    return Problem(
        match["file"],
        int(match["line"]),
        column,
        "",
        message,
        hint=hint,
        severity=severity,
        code=code,
    )


def _hint(name: str, known: Iterable[str]) -> str:
    choices = sorted(set(known))
    close = did_you_mean(name, choices)
    if close or not choices:
        return close
    if len(choices) <= _MAX_LISTED:
        return "defined: " + ", ".join(choices)
    return ""


# kind -> (inventory part, words for messages)
_KINDS: Final[Mapping[str, tuple[str, str]]] = {
    "queue": ("queues", "queue"),
    "mailbox": ("voicemail", "mailbox"),
    "moh": ("moh", "music on hold class"),
    "context": ("dialplan", "dialplan context"),
    "trunk": ("pjsip", "PJSIP trunk"),
    "endpoint": ("pjsip", "PJSIP endpoint"),
    "bridge_profile": ("confbridge", "ConfBridge bridge profile"),
    "user_profile": ("confbridge", "ConfBridge user profile"),
    "confbridge_menu": ("confbridge", "ConfBridge menu"),
}


def _names(inventory: Inventory, kind: str) -> set[str]:
    """The names the inventory defines for a reference kind."""
    tables: dict[str, Iterable[str]] = {
        "queue": inventory.queues,
        "mailbox": inventory.mailboxes,
        "moh": inventory.moh_classes,
        "context": inventory.dialplan.contexts,
        "trunk": inventory.endpoints,
        "endpoint": inventory.endpoints,
        "bridge_profile": inventory.bridge_profiles,
        "user_profile": inventory.user_profiles,
        "confbridge_menu": inventory.confbridge_menus,
    }
    return set(tables[kind])


def check_references(
    inventory: Inventory, references: Iterable[AsteriskReference]
) -> list[Problem]:
    """A Problem for each reference to something the Asterisk config does not define.

    Names with `${...}` are set at call time and cannot be checked here. When the
    file that should define a kind could not be read, its error is already in
    `inventory.problems`, so references of that kind are not repeated.
    """
    problems: list[Problem] = []
    for ref in references:
        if ref.kind == "context":
            # `ivr-results,${IVR_RESULT},1`: the context is still known, the rest is not.
            parts = ref.name.split(",")
            known = list(takewhile(lambda part: "${" not in part, parts))
            if len(known) < len(parts):
                ref = replace(ref, name=",".join(known))
        if not ref.name or "${" in ref.name:
            continue
        part, words = _KINDS[ref.kind]
        if part in inventory.unreadable:
            continue
        if part in inventory.missing:
            problems.append(
                _problem(
                    ref.where,
                    f"{words} {ref.name!r} cannot be defined: {inventory.path(part)} not found",
                    code="asterisk-missing",
                )
            )
            continue
        problem = (
            _check_context(inventory, ref) if ref.kind == "context" else _check_name(inventory, ref)
        )
        if problem is not None:
            problems.append(problem)
    return problems


def _check_name(inventory: Inventory, ref: AsteriskReference) -> Problem | None:
    part, words = _KINDS[ref.kind]
    name = ref.name
    if ref.kind == "mailbox" and "@" not in name:
        name += "@default"  # VoiceMail() uses the `default` context when none is given
    known = _names(inventory, ref.kind)
    if name in known or _BUILTIN_PROFILES.get(ref.kind) == name:
        return None
    hint = _hint(name, known)
    if ref.kind in ("bridge_profile", "user_profile", "confbridge_menu"):
        for other in ("bridge_profile", "user_profile", "confbridge_menu"):
            if other != ref.kind and name in _names(inventory, other):
                hint = f"{name!r} is a {_KINDS[other][1]}, not a {words}"
    elif ref.kind == "trunk":
        hint = _hint(name, inventory.trunks) or hint
    elif ref.kind == "mailbox":
        box = name.split("@", 1)[0]
        elsewhere = sorted(m.address for m in inventory.mailboxes.values() if m.mailbox == box)
        if elsewhere:
            hint = "did you mean " + " or ".join(repr(a) for a in elsewhere) + "?"
    return _problem(
        ref.where,
        f"{words} {name!r} is not defined in {inventory.path(part)}",
        hint,
        code="asterisk-missing",
    )


def _check_context(inventory: Inventory, ref: AsteriskReference) -> Problem | None:
    plan = inventory.dialplan
    parts = [p.strip() for p in ref.name.split(",")]
    if len(parts) > 3 or not all(parts):
        return _problem(
            ref.where,
            f"dialplan target {ref.name!r} is not context[,extension[,priority]]",
            code="asterisk-missing",
        )
    context = parts[0]
    if context not in plan.contexts:
        return _problem(
            ref.where,
            f"dialplan context {context!r} is not defined in {inventory.path('dialplan')}"
            " or the files it includes",
            _hint(context, plan.contexts),
            code="asterisk-missing",
        )
    if len(parts) == 1:
        return None
    exten = parts[1]
    extensions = plan.find_extensions(context, exten)
    if not extensions:
        names = [e for c in plan.reachable_contexts(context) for e in c.extensions]
        return _problem(
            ref.where,
            f"dialplan context {context!r} has no extension matching {exten!r}",
            _hint(exten, names),
            code="asterisk-missing",
        )
    if len(parts) == 2:
        return None
    priority = parts[2]
    # Asterisk runs the best match; any matching extension having the priority is enough here.
    if any(e.has_priority(priority) for e in extensions):
        return None
    labels = sorted({label for e in extensions for label in e.labels})
    numbers = sorted({n for e in extensions for n in e.priorities})
    hint = did_you_mean(priority, labels) if not priority.isdigit() else ""
    if not hint:
        hint = f"priorities {numbers[0]}-{numbers[-1]}" if numbers else "no priorities"
        if labels:
            hint += ", labels: " + ", ".join(labels)
    return _problem(
        ref.where,
        f"extension {exten!r} in dialplan context {context!r} has no priority {priority!r}",
        hint,
        code="asterisk-missing",
    )


def _same_host(written: str, configured: str) -> bool:
    if configured.strip().lower() in _ANY_HOST:
        return True  # the server listens everywhere: any address of this host reaches it
    if written.lower() == configured.lower():
        return True
    return _is_loopback(written) and _is_loopback(configured)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _agi_hint(target: AgiTarget) -> str:
    if not target.globals_used:
        return ""
    return "set by " + ", ".join(
        f"{name} in [globals] at {src}" for name, src in target.globals_used
    )


def check_agi_address(inventory: Inventory, host: str, port: int) -> list[Problem]:
    """Every AGI() in the dialplan must reach the FastAGI server at `host:port`.

    With two servers (IVR_AGI and IVR_AGI2 in [globals], one of them this
    server), an AGI() may reach either; with IVR_AGI2 empty, the AGI() that
    names it is never run and not checked.
    """
    if "dialplan" in inventory.unreadable:
        return []
    path = inventory.path("dialplan")
    if "dialplan" in inventory.missing:
        return [
            Problem(
                path,
                None,
                None,
                "",
                "not found: the dialplan that calls the FastAGI server is needed",
                code="asterisk-agi",
            )
        ]
    targets = inventory.dialplan.agi_targets
    if not targets:
        return [
            Problem(
                path,
                None,
                None,
                "",
                "the dialplan has no AGI() call: calls never reach the FastAGI server",
                severity="warning",
                code="asterisk-agi",
            )
        ]
    plan_globals = inventory.dialplan.globals
    servers = _server_pair(plan_globals)
    # This server is one of a pair: the AGI() calls that reach the other one are fine.
    peers = servers if any(_reaches(h, p, host, port) for h, p in servers) else []
    problems: list[Problem] = []
    for target in targets:
        if _switched_off(target, plan_globals):
            continue
        problem = _check_target(target, host, port, peers)
        if problem is not None:
            problems.append(problem)
    return problems


def _agi_endpoint(address: str) -> tuple[str, int] | None:
    """host and port of an ``agi://`` address; None for anything else."""
    if not address.lower().startswith("agi://"):
        return None
    try:
        url = urlsplit(address)
        found_port = url.port if url.port is not None else DEFAULT_AGI_PORT
    except ValueError:
        return None
    return (url.hostname, found_port) if url.hostname else None


def _server_pair(plan_globals: dict[str, str]) -> list[tuple[str, int]]:
    """The agi:// addresses of the servers named in SERVER_GLOBALS."""
    found = []
    for name in SERVER_GLOBALS:
        value, _ = substitute_globals(plan_globals.get(name, ""), plan_globals)
        endpoint = _agi_endpoint(value.strip())
        if endpoint is not None:
            found.append(endpoint)
    return found


def _switched_off(target: AgiTarget, plan_globals: dict[str, str]) -> bool:
    """An AGI() of the optional second server, whose global is empty or not set at
    all (an extensions.conf older than the dialplan): [ivr-entry] never runs it."""
    return any(
        target.written.startswith(f"${{{name}}}") and not plan_globals.get(name, "").strip()
        for name in _OPTIONAL_SERVER_GLOBALS
    )


def _reaches(found_host: str, found_port: int, host: str, port: int) -> bool:
    return found_port == port and _same_host(found_host, host)


def _check_target(
    target: AgiTarget, host: str, port: int, peers: list[tuple[str, int]]
) -> Problem | None:
    src = target.source
    at = f"AGI address {target.address!r} in [{target.context}] {target.extension}"

    def problem(message: str, severity: Severity = "error", hint: str = "") -> Problem:
        return Problem(
            src.file,
            src.line,
            None,
            "",
            message,
            hint=hint or _agi_hint(target),
            severity=severity,
            code="asterisk-agi",
        )

    # Only scheme://host:port must be fixed; the script (the menu) may be chosen at run time.
    if "${" in "/".join(target.address.split("/", 3)[:3]):
        return problem(
            f"{at} uses a variable that is not in [globals]: cannot check it",
            "warning",
            "set it in [globals] of extensions.conf",
        )
    scheme = target.address.split(":", 1)[0].lower() if "://" in target.address else ""
    if scheme != "agi":
        what = "an SRV lookup (hagi://)" if scheme == "hagi" else "a local script"
        return problem(f"{at} is {what}, not agi://{host}:{port}", "warning")
    try:
        url = urlsplit(target.address)
        found_host = url.hostname or ""
        found_port = url.port if url.port is not None else DEFAULT_AGI_PORT
    except ValueError as exc:
        return problem(f"{at} is not a valid agi:// URL ({exc})")
    if not found_host:
        return problem(f"{at} has no host")
    if _reaches(found_host, found_port, host, port):
        return None
    if any(_reaches(found_host, found_port, *peer) for peer in peers):
        return None  # the other server of the pair, sharing this one's Redis
    return problem(
        f"{at} points at {found_host}:{found_port}, but the server listens on {host}:{port}"
    )


def check_manager_secret(inventory: Inventory, production: bool) -> list[Problem]:
    """AMI users still on the sample secret: an error in production, else a warning."""
    problems: list[Problem] = []
    for user in inventory.manager_users.values():
        src = user.source
        if user.placeholder_secret:
            problems.append(
                Problem(
                    src.file,
                    src.line,
                    None,
                    "",
                    f"AMI user {user.name!r} still has the placeholder secret"
                    f" {PLACEHOLDER_SECRET!r}",
                    hint="set a real secret in manager.conf and in the server's AMI settings",
                    severity="error" if production else "warning",
                    code="asterisk-secret",
                )
            )
        elif not user.has_secret:
            problems.append(
                Problem(
                    src.file,
                    src.line,
                    None,
                    "",
                    f"AMI user {user.name!r} has no secret, so it cannot log in",
                    severity="warning",
                    code="asterisk-secret",
                )
            )
    return problems


def validate_asterisk(
    conf_dir: Path | str,
    references: Iterable[AsteriskReference],
    host: str,
    port: int,
    *,
    production: bool = False,
) -> list[Problem]:
    """Read `conf_dir` and return every problem: unreadable files, missing
    references, AGI calls that miss the server, placeholder AMI secrets."""
    inventory = load_inventory(Path(conf_dir))
    problems = list(inventory.problems)
    if not Path(conf_dir).is_dir():
        return problems
    problems += check_references(inventory, references)
    problems += check_agi_address(inventory, host, port)
    problems += check_manager_secret(inventory, production)
    return problems
