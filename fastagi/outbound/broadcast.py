"""Emergency broadcast: page every phone of a group at once and tell who took it.

    groups = load_groups("config/broadcast.yaml")
    report = await Broadcaster(ami, groups).broadcast("office", "ivr/fire-alarm")

One Originate rings `Local/<group>@ivr-page`, whose dialplan runs Page() over
the group's phones with intercom auto-answer headers and the alert as the
announcement (dialplan/ivr-outbound.conf). Every paged phone's channel is
linked to the originated one (same Linkedid), so its DialEnd tells whether
that phone answered; a phone with no DialEnd by the end never did.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from fastagi.ami import AmiClient, AmiError, AmiMessage
from fastagi.outbound.originate import OriginateRequest, dialstatus_outcome

__all__ = [
    "BroadcastConfig",
    "BroadcastReport",
    "Broadcaster",
    "load_broadcast_config",
    "parse_broadcast_config",
]

DEFAULT_BROADCAST_PATH: Final = Path("config/broadcast.yaml")

Device = Annotated[
    str, StringConstraints(pattern=r"^(PJSIP|SIP|IAX2|DAHDI)/[A-Za-z0-9_.+-]{1,40}$")
]
GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
#: A sound file name, as menus name prompts (no extension, no `..`).
_ALERT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    phones: tuple[Device, ...] = Field(min_length=1, max_length=500)


class BroadcastConfig(BaseModel):
    """config/broadcast.yaml: the paging groups, and the HTTP trigger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ring_timeout: int = Field(20, ge=1, le=120, description="s each phone may ring")
    duration: int = Field(60, ge=5, le=600, description="s the page lasts at most")
    http: str | None = Field(None, pattern=r"^[A-Za-z0-9.:\[\]-]*:[0-9]{1,5}$")
    token_env: str = "IVR_BROADCAST_TOKEN"
    groups: dict[GroupName, Group] = Field(default_factory=dict)


def parse_broadcast_config(text: str, file: str = "broadcast.yaml") -> BroadcastConfig:
    """The config from YAML text; MenuError with file:line problems when invalid."""
    from fastagi.menus._yaml import parse_yaml

    return _from_document(parse_yaml(text.encode("utf-8"), file))


def load_broadcast_config(path: Path = DEFAULT_BROADCAST_PATH) -> BroadcastConfig:
    """The config of `path` (an empty one when there is no such file)."""
    from fastagi.menus._yaml import read_yaml

    if not path.is_file():
        return BroadcastConfig()
    return _from_document(read_yaml(path))


def _from_document(doc: object) -> BroadcastConfig:
    from fastagi.menus._validation import validation_problems
    from fastagi.menus._yaml import YamlDocument
    from fastagi.menus.problems import MenuError

    assert isinstance(doc, YamlDocument)
    try:
        return BroadcastConfig.model_validate(doc.data or {})
    except ValidationError as exc:
        raise MenuError(validation_problems(exc, doc, BroadcastConfig)) from None


@dataclass
class BroadcastReport:
    """Who took a page: each phone's result (answered, busy, no_answer, failed)."""

    group: str
    alert: str
    phones: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def answered(self) -> list[str]:
        return [device for device, result in self.phones.items() if result == "answered"]

    def as_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "alert": self.alert,
            "phones": self.phones,
            "answered": self.answered,
            "error": self.error,
        }


def _device_of(channel: str) -> str:
    """`PJSIP/201-0000002a` -> `PJSIP/201` (a channel name is the device plus a sequence)."""
    return channel.rsplit("-", 1)[0] if "-" in channel else channel


def _linked_to(event: AmiMessage, linkedid: str) -> bool:
    """Whether a dial event belongs to the page (the phone's channel shares its Linkedid)."""
    return linkedid in (event.get("DestLinkedid"), event.get("Linkedid"))


def _refused(event: AmiMessage, uniqueid: str) -> bool:
    return event.get("Uniqueid") == uniqueid and event.get("Response") != "Success"


class Broadcaster:
    """Pages the groups of a `BroadcastConfig` through one AMI connection."""

    def __init__(self, ami: AmiClient, config: BroadcastConfig) -> None:
        self.ami = ami
        self.config = config

    async def broadcast(self, group: str, alert: str) -> BroadcastReport:
        """Page `group` with the sound file `alert`; KeyError/ValueError for bad input."""
        if group not in self.config.groups:
            known = ", ".join(sorted(self.config.groups)) or "none"
            raise KeyError(f"no paging group {group!r} (groups: {known})")
        if not _ALERT.fullmatch(alert) or ".." in alert:
            raise ValueError(f"alert {alert!r} is not a sound file name (e.g. ivr/fire-alarm)")
        phones = self.config.groups[group].phones
        report = BroadcastReport(group, alert, dict.fromkeys(phones, "no_answer"))
        request = OriginateRequest(
            channel=f"Local/{group}@ivr-page",
            application="Wait",
            data=str(self.config.duration),
            timeout=self.config.ring_timeout + 10,
            variables={
                "IVR_KIND": "broadcast",
                "IVR_PAGE_PHONES": "&".join(phones),
                "IVR_PAGE_ALERT": alert,
                "IVR_PAGE_TIMEOUT": str(self.config.ring_timeout),
            },
        )
        ended = asyncio.Event()
        linked = request.channel_id

        def on_event(event: AmiMessage) -> None:
            name = event.name.lower()
            if name == "dialend" and _linked_to(event, linked):
                device = _device_of(event.get("DestChannel") or "")
                if device in report.phones:
                    report.phones[device] = dialstatus_outcome(event.get("DialStatus"))
            elif name == "hangup" and event.get("Uniqueid") == linked:
                ended.set()
            elif name == "originateresponse" and _refused(event, linked):
                report.error = f"the page did not start (Reason {event.get('Reason')})"
                ended.set()

        unsubscribe = self.ami.subscribe(
            on_event, events=("DialEnd", "Hangup", "OriginateResponse")
        )
        try:
            await self.ami.action("Originate", request.fields())
            async with asyncio.timeout(self.config.duration + self.config.ring_timeout + 30):
                await ended.wait()
        except AmiError as exc:
            report.error = f"AMI: {exc}"
        except TimeoutError:
            report.error = "the page did not end in time"
        finally:
            unsubscribe()
        return report
