"""What an Asterisk config directory defines: queues, mailboxes, MoH, dialplan, PJSIP, ...

`load_inventory(conf_dir)` reads the files it knows from one directory laid
out like /etc/asterisk. A missing file is noted (the checker says so when a
menu needs something from it); a file that cannot be read becomes a Problem
with file:line and leaves that part of the inventory empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from fastagi.asterisk.conffile import ConfError, ConfSection, Source, read_conf
from fastagi.asterisk.dialplan import Dialplan, build_dialplan
from fastagi.menus.problems import Problem

__all__ = [
    "CONF_FILES",
    "ConfBridgeProfile",
    "Endpoint",
    "Inventory",
    "Mailbox",
    "ManagerUser",
    "MohClass",
    "Queue",
    "load_inventory",
]

#: The files read, by what they hold.
CONF_FILES: Final = {
    "dialplan": "extensions.conf",
    "queues": "queues.conf",
    "voicemail": "voicemail.conf",
    "moh": "musiconhold.conf",
    "pjsip": "pjsip.conf",
    "confbridge": "confbridge.conf",
    "manager": "manager.conf",
}

#: The placeholder secret shipped in the sample manager.conf.
PLACEHOLDER_SECRET: Final = "CHANGE_ME"

# voicemail.conf sections that hold settings, not mailboxes.
_VOICEMAIL_SETTINGS: Final = frozenset({"general", "zonemessages"})

ProfileType = Literal["bridge", "user", "menu"]


@dataclass(frozen=True)
class Queue:
    name: str
    musicclass: str | None
    strategy: str | None
    members: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class Mailbox:
    mailbox: str
    context: str
    email: str | None
    source: Source

    @property
    def address(self) -> str:
        """`mailbox@context`, as VoiceMail() takes it."""
        return f"{self.mailbox}@{self.context}"


@dataclass(frozen=True)
class MohClass:
    name: str
    mode: str | None
    directory: str | None
    source: Source


@dataclass(frozen=True)
class Endpoint:
    """A PJSIP endpoint; `is_trunk` when a provider's: matched by IP (identify),
    registered to (registration), or with a fixed contact in its AOR."""

    name: str
    context: str | None
    is_trunk: bool
    source: Source


@dataclass(frozen=True)
class ConfBridgeProfile:
    name: str
    type: ProfileType
    source: Source


@dataclass(frozen=True)
class ManagerUser:
    name: str
    has_secret: bool
    placeholder_secret: bool
    source: Source


@dataclass
class Inventory:
    conf_dir: Path
    queues: dict[str, Queue] = field(default_factory=dict)
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)  # by `mailbox@context`
    moh_classes: dict[str, MohClass] = field(default_factory=dict)
    dialplan: Dialplan = field(default_factory=Dialplan)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    bridge_profiles: dict[str, ConfBridgeProfile] = field(default_factory=dict)
    user_profiles: dict[str, ConfBridgeProfile] = field(default_factory=dict)
    confbridge_menus: dict[str, ConfBridgeProfile] = field(default_factory=dict)
    manager_users: dict[str, ManagerUser] = field(default_factory=dict)
    #: Files (keys of CONF_FILES) not in the directory.
    missing: set[str] = field(default_factory=set)
    #: Files (keys of CONF_FILES) that could not be read; `problems` says why.
    unreadable: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    @property
    def trunks(self) -> dict[str, Endpoint]:
        return {name: e for name, e in self.endpoints.items() if e.is_trunk}

    def path(self, part: str) -> str:
        """The file a part of the inventory comes from, for messages."""
        return str(self.conf_dir / CONF_FILES[part])


def load_inventory(conf_dir: Path) -> Inventory:
    inventory = Inventory(conf_dir)
    if not conf_dir.is_dir():
        inventory.missing.update(CONF_FILES)
        inventory.problems.append(
            Problem(
                str(conf_dir),
                None,
                None,
                "",
                "Asterisk config directory not found",
                code="asterisk-conf",
            )
        )
        return inventory
    readers: dict[str, Callable[[Inventory, list[ConfSection]], None]] = {
        "dialplan": _read_dialplan,
        "queues": _read_queues,
        "voicemail": _read_voicemail,
        "moh": _read_moh,
        "pjsip": _read_pjsip,
        "confbridge": _read_confbridge,
        "manager": _read_manager,
    }
    for part, reader in readers.items():
        path = conf_dir / CONF_FILES[part]
        if not path.exists():
            inventory.missing.add(part)
            continue
        try:
            sections = read_conf(path, conf_dir)
        except ConfError as exc:
            inventory.unreadable.add(part)
            inventory.problems.append(
                Problem(exc.file, exc.line, None, "", exc.message, code="asterisk-conf")
            )
            continue
        reader(inventory, sections)
    return inventory


def _objects(sections: list[ConfSection], *skip: str) -> list[ConfSection]:
    """Sections that define something: not templates, not settings sections."""
    return [s for s in sections if not s.is_template and s.name not in skip]


def _read_dialplan(inventory: Inventory, sections: list[ConfSection]) -> None:
    plan = build_dialplan(sections)
    inventory.dialplan = plan
    for issue in plan.issues:
        inventory.problems.append(
            Problem(
                issue.source.file,
                issue.source.line,
                None,
                "",
                issue.message,
                code="asterisk-dialplan",
            )
        )


def _read_queues(inventory: Inventory, sections: list[ConfSection]) -> None:
    for s in _objects(sections, "general"):
        members = tuple(e.value.split(",", 1)[0].strip() for e in s.get_all("member"))
        inventory.queues[s.name] = Queue(
            s.name, s.get("musicclass"), s.get("strategy"), members, s.source
        )


def _read_voicemail(inventory: Inventory, sections: list[ConfSection]) -> None:
    # `box => pin,full name,email,pager email,options`
    for s in _objects(sections, *_VOICEMAIL_SETTINGS):
        for entry in s.entries:
            fields = entry.value.split(",")
            email = fields[2].strip() if len(fields) > 2 and fields[2].strip() else None
            box = Mailbox(entry.key, s.name, email, entry.source)
            inventory.mailboxes[box.address] = box


def _read_moh(inventory: Inventory, sections: list[ConfSection]) -> None:
    for s in _objects(sections, "general"):
        inventory.moh_classes[s.name] = MohClass(
            s.name, s.get("mode"), s.get("directory"), s.source
        )


def _read_pjsip(inventory: Inventory, sections: list[ConfSection]) -> None:
    # PJSIP names an endpoint, its aor and its auth alike, so sections repeat names.
    objects = _objects(sections)
    by_type: dict[str, list[ConfSection]] = {}
    for s in objects:
        by_type.setdefault((s.get("type") or "").strip().lower(), []).append(s)
    provider: set[str] = set()
    for s in by_type.get("identify", []) + by_type.get("registration", []):
        if s.get("endpoint"):
            provider.add(str(s.get("endpoint")).strip())
    fixed_aors = {s.name for s in by_type.get("aor", []) if s.get("contact")}
    for s in by_type.get("endpoint", []):
        aors = {a.strip() for a in (s.get("aors") or "").split(",") if a.strip()}
        is_trunk = s.name in provider or bool(aors & fixed_aors)
        inventory.endpoints[s.name] = Endpoint(s.name, s.get("context"), is_trunk, s.source)


def _read_confbridge(inventory: Inventory, sections: list[ConfSection]) -> None:
    targets: dict[str, tuple[ProfileType, dict[str, ConfBridgeProfile]]] = {
        "bridge": ("bridge", inventory.bridge_profiles),
        "user": ("user", inventory.user_profiles),
        "menu": ("menu", inventory.confbridge_menus),
    }
    for s in _objects(sections, "general"):
        kind = (s.get("type") or "").strip().lower()
        if kind in targets:
            profile_type, table = targets[kind]
            table[s.name] = ConfBridgeProfile(s.name, profile_type, s.source)


def _read_manager(inventory: Inventory, sections: list[ConfSection]) -> None:
    for s in _objects(sections, "general"):
        secret = (s.get("secret") or "").strip()
        inventory.manager_users[s.name] = ManagerUser(
            s.name, bool(secret), secret == PLACEHOLDER_SECRET, s.source
        )
