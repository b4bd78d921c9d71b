"""Action node models: the telephony a menu asks the dialplan to do.

Each action runs one dialplan subroutine (docs/asterisk.md lists them) and
branches on the status it leaves, or - for `hours`, `language`, `dialplan` -
decides in Python. The behaviour lives in `fastagi.actions`; these are the
YAML shapes, registered in `fastagi.menus.nodes.NODE_TYPES`.

`asterisk_refs()` names what each node needs from the Asterisk configuration
(queues, mailboxes, MoH classes, trunks, contexts...), so `ivr validate` can
check it against asterisk-conf/. Values that hold caller data
(`{caller.manager}`) are only known during the call and are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from fastagi.menus.fields import Language, PromptName, pattern_check
from fastagi.menus.node_base import AsteriskRef, EndKind, Link, NodeBase, links_of
from fastagi.menus.target import Target

__all__ = [
    "ACTION_NODE_TYPES",
    "CallbackNode",
    "ConferenceNode",
    "DialplanNode",
    "FaxNode",
    "HoldNode",
    "HoursNode",
    "LanguageNode",
    "QueueNode",
    "RecordNode",
    "TransferNode",
    "VoicemailNode",
]

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
#: A value that may hold caller data, e.g. `{caller.manager}|100`.
TEMPLATE_PATTERN = r"^[A-Za-z0-9_.@+{}|-]{1,128}$"
EXTENSION_PATTERN = r"^[0-9A-Za-z_+*#-]{1,32}$"
#: Extensions a transfer may dial when nothing narrower is given.
DEFAULT_ALLOWED = r"^[0-9]{2,6}$"


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    if not (value.startswith("^") and value.endswith("$")):
        raise ValueError("anchor the pattern with ^ and $ so it checks the whole entry")
    return value


Name = Annotated[
    str,
    pattern_check(NAME_PATTERN, "name", "use 1 to 64 letters, digits, '_', '.' or '-'"),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN}),
]
Templated = Annotated[
    str,
    pattern_check(
        TEMPLATE_PATTERN,
        "value",
        "use letters, digits, _ . @ + - and caller data such as {caller.manager}|100",
    ),
    WithJsonSchema({"type": "string", "pattern": TEMPLATE_PATTERN}),
]
Regex = Annotated[
    str,
    Field(max_length=200),
    AfterValidator(_regex),
    WithJsonSchema({"type": "string", "format": "regex", "maxLength": 200}),
]
Duration = Annotated[float, Field(gt=0, le=14400)]
Priority = Annotated[int, Field(ge=-1000, le=1000)]


def _static(value: str | None) -> bool:
    """A value known before the call (no caller data in it)."""
    return bool(value) and "{" not in str(value)


class ActionNode(NodeBase):
    """Shared by most actions: a `next` target."""

    next: Target | None = Field(default=None, description="Where to go when the action is done.")

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next")


class QueueNode(ActionNode):
    """Put the caller in an Asterisk queue for at most `max_wait` seconds.

    Branches on QUEUESTATUS: TIMEOUT -> `on_timeout` (offer a callback or
    voicemail), FULL/JOINEMPTY/LEAVEEMPTY/JOINUNAVAIL/LEAVEUNAVAIL or anything
    unknown -> `on_unavailable` (default: `on_timeout`), CONTINUE (answered; the
    agent hung up) -> `next`. A caller who hangs up while waiting is recorded as
    abandoned with the wait.
    """

    type: Literal["queue"]
    queue: Name = Field(description="Queue name in queues.conf.")
    music_class: Name | None = Field(
        default=None, description="Music on hold class (musiconhold.conf); default: the queue's."
    )
    max_wait: Duration = Field(
        default=120, description="Most seconds in the queue (the centre's rule: 2 minutes)."
    )
    priority: Priority | Mapping[str, Priority] = Field(
        default=0,
        description="QUEUE_PRIO: a number, or by segment ({vip: 10, default: 0}); higher first.",
    )
    announce_position: bool = Field(
        default=False,
        description="Tell the caller their place and the expected wait on joining, with the"
        " menu's prompts (off: queues.conf's announce-position does it).",
    )
    position_prompt: PromptName = Field(
        default="ivr/queue-position", description="'You are caller number' (then the number)."
    )
    wait_prompt: PromptName = Field(
        default="ivr/queue-wait", description="'Expected wait in minutes' (then the minutes)."
    )
    continue_after_agent: bool = Field(
        default=False, description="When the agent hangs up, go to `next` (Queue option c)."
    )
    on_timeout: Target = Field(description="After max_wait with nobody free (QUEUESTATUS=TIMEOUT).")
    on_unavailable: Target | None = Field(
        default=None, description="Queue full, empty or unavailable (default: on_timeout)."
    )

    def priority_for(self, segment: str) -> int:
        if isinstance(self.priority, int):
            return self.priority
        return self.priority.get(segment, self.priority.get("default", 0))

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        refs = [AsteriskRef("queue", self.queue, ("queue",))]
        if self.music_class:
            refs.append(AsteriskRef("moh", self.music_class, ("music_class",)))
        return tuple(refs)

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next", on_timeout="timeout", on_unavailable="failure")

    def ends_call(self) -> frozenset[EndKind]:
        return frozenset() if self.continue_after_agent else frozenset({"always"})


class CallbackNode(ActionNode):
    """Offer a callback: 1 keeps the caller's number, 2 enters another; the request is stored."""

    type: Literal["callback"]
    queue: Name = Field(description="The queue whose agents call back.")
    offer_prompt: PromptName = Field(
        default="ivr/callback-offer",
        description="'To be called back on this number press 1, on another number press 2'.",
    )
    enter_prompt: PromptName = Field(
        default="ivr/callback-enter-number", description="'Enter the number, then hash'."
    )
    confirm_prompt: PromptName = Field(
        default="ivr/callback-confirmed", description="'We will call you back on' (then digits)."
    )
    allowed: Regex = Field(
        default=r"^\+?[0-9]{5,15}$", description="Numbers a caller may type (anchored regex)."
    )
    timeout: Annotated[float, Field(gt=0, le=60)] = Field(
        default=6, description="Seconds to wait for the choice."
    )
    declined: Target | None = Field(
        default=None, description="No (valid) choice, or the request could not be stored."
    )

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        return (AsteriskRef("queue", self.queue, ("queue",)),)

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next", declined="failure")


class TransferNode(ActionNode):
    """Blind transfer (Dial): an extension, an external number via a trunk, the caller's
    personal manager, or digits the caller types (checked against `allowed`).

    DIALSTATUS BUSY -> `on_busy`, NOANSWER -> `on_no_answer`, anything else but
    ANSWER -> `on_failure`; each defaults to `on_failure`. After an answered
    call ends the flow ends (or goes to `next` when given).
    """

    type: Literal["transfer"]
    extension: Templated | None = Field(
        default=None,
        description="Extension to dial, may use caller data: '{caller.manager}|100'.",
    )
    number: Templated | None = Field(
        default=None, description="External number, dialled through `trunk`."
    )
    trunk: Name | None = Field(default=None, description="PJSIP trunk endpoint for `number`.")
    entered: PromptName | None = Field(
        default=None, description="Prompt for the caller to type the extension (then #)."
    )
    allowed: Regex = Field(
        default=DEFAULT_ALLOWED,
        description="What a typed or profile-given extension must match before it is dialled.",
    )
    ring_timeout: Annotated[int, Field(ge=5, le=300)] = Field(
        default=30, description="Seconds to ring before NOANSWER."
    )
    prompt: PromptName | None = Field(default=None, description="Played first ('connecting you').")
    on_busy: Target | None = None
    on_no_answer: Target | None = None
    on_failure: Target | None = Field(
        default=None, description="Unavailable, congestion, invalid number or unknown status."
    )

    @model_validator(mode="after")
    def _one_target(self) -> TransferNode:
        given = [k for k in ("extension", "number", "entered") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a transfer needs exactly one of 'extension', 'number' or 'entered'")
        if (self.number is None) != (self.trunk is None):
            raise ValueError("'number' and 'trunk' go together")
        return self

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        if self.trunk is not None:
            return (AsteriskRef("trunk", self.trunk, ("trunk",)),)
        return ()

    def links(self) -> tuple[Link, ...]:
        return links_of(
            self, next="next", on_busy="failure", on_no_answer="failure", on_failure="failure"
        )

    def ends_call(self) -> frozenset[EndKind]:
        ends: set[EndKind] = set() if self.next is not None else {"always"}
        if self.on_failure is None:
            ends.add("failure")
        return frozenset(ends)


class VoicemailNode(ActionNode):
    """Leave a voicemail in `mailbox` (mailbox@context); VMSTATUS FAILED -> `on_failure`."""

    type: Literal["voicemail"]
    mailbox: Templated = Field(
        description="mailbox@context in voicemail.conf; may use caller data ('{caller.manager}')."
    )
    greeting: Literal["unavailable", "busy", "none"] = Field(
        default="unavailable", description="Which greeting of the mailbox plays first."
    )
    on_failure: Target | None = None

    @model_validator(mode="after")
    def _context_given(self) -> VoicemailNode:
        for alternative in self.mailbox.split("|"):
            box, at, context = alternative.partition("@")
            if not box or not at or not context:
                raise ValueError("mailbox must be written mailbox@context, e.g. 100@default")
        return self

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        if _static(self.mailbox):
            return (AsteriskRef("mailbox", self.mailbox, ("mailbox",)),)
        return ()

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next", on_failure="failure")

    def ends_call(self) -> frozenset[EndKind]:
        return frozenset() if self.next is not None else frozenset({"always"})


class HoldNode(ActionNode):
    """Music on hold for `duration` seconds, with `announce` every `announce_every` seconds."""

    type: Literal["hold"]
    music_class: Name = Field(default="default", description="Class in musiconhold.conf.")
    duration: Duration = Field(description="Total seconds on hold.")
    announce: PromptName | None = Field(default=None, description="Played between hold periods.")
    announce_every: Annotated[float, Field(ge=5, le=3600)] = Field(
        default=30, description="Seconds of music between announcements."
    )

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        return (AsteriskRef("moh", self.music_class, ("music_class",)),)


class HoursNode(NodeBase):
    """Route by business hours (config/hours.yaml): `open`, `closed`, `holiday`."""

    type: Literal["hours"]
    calendar: Name | None = Field(
        default=None, description="Calendar in hours.yaml (default: its `default`)."
    )
    open: Target = Field(description="Inside opening hours.")
    closed: Target = Field(description="Outside opening hours.")
    holiday: Target | None = Field(default=None, description="On a holiday (default: closed).")

    def links(self) -> tuple[Link, ...]:
        return links_of(self, open="next", closed="next", holiday="next")


class RecordNode(ActionNode):
    """Start or stop call recording (MixMonitor), for every caller or some segments.

    Files are named `<folder>/<YYYY>/<MM>/<DD>/<YYYYmmdd-HHMMSS>-<uniqueid>.wav`.
    """

    type: Literal["record"]
    action: Literal["start", "stop"] = "start"
    segments: tuple[Name, ...] = Field(
        default=(), description="Record only callers of these segments (empty: everyone)."
    )
    folder: Name = Field(default="ivr", description="Folder under Asterisk's monitor directory.")
    options: Annotated[str, Field(pattern=r"^[abiv0-9()]{0,16}$")] = Field(
        default="b", description="MixMonitor options (b: only while bridged to an agent)."
    )


class ConferenceNode(ActionNode):
    """Put the caller in a ConfBridge room, optionally inviting an extension (their manager)."""

    type: Literal["conference"]
    room: Templated = Field(
        default="ivr-{uniqueid}", description="Room name; '{uniqueid}' makes one per call."
    )
    bridge_profile: Name = Field(
        default="ivr_bridge", description="Bridge profile (confbridge.conf)."
    )
    user_profile: Name = Field(default="ivr_user", description="User profile (confbridge.conf).")
    invite: Templated | None = Field(
        default=None, description="Extension called into the room: '{caller.manager}'."
    )
    allowed: Regex = Field(default=DEFAULT_ALLOWED, description="What `invite` must match.")

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        return (
            AsteriskRef("bridge_profile", self.bridge_profile, ("bridge_profile",)),
            AsteriskRef("user_profile", self.user_profile, ("user_profile",)),
        )


class FaxNode(ActionNode):
    """Listen for a fax tone (CNG) from here on; a fax is received into `folder`."""

    type: Literal["fax"]
    folder: Name = Field(description="Folder (per department) under the fax spool directory.")

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        return (AsteriskRef("context", "ivr-entry,fax", ("folder",)),)


class LanguageNode(ActionNode):
    """Switch the channel (and the prompts) to `language`."""

    type: Literal["language"]
    language: Language


class DialplanNode(NodeBase):
    """Leave the menus: the dialplan continues at context,extension,priority."""

    type: Literal["dialplan"]
    context: Name
    extension: Annotated[
        str, pattern_check(EXTENSION_PATTERN, "extension", "use 1 to 32 of 0-9 A-Z a-z _ + * # -")
    ] = "s"
    priority: Annotated[str, Field(pattern=r"^([0-9]{1,5}|[A-Za-z_][A-Za-z0-9_]{0,31})$")] = "1"
    prompt: PromptName | None = None

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        return (AsteriskRef("context", f"{self.context},{self.extension}", ("context",)),)

    def ends_call(self) -> frozenset[EndKind]:
        return frozenset({"always"})


ACTION_NODE_TYPES: tuple[type[NodeBase], ...] = (
    QueueNode,
    CallbackNode,
    TransferNode,
    VoicemailNode,
    HoldNode,
    HoursNode,
    RecordNode,
    ConferenceNode,
    FaxNode,
    LanguageNode,
    DialplanNode,
)
