"""Node models: what a menu node is, as data, and the one registry of node types.

Each node type is a frozen pydantic model with a `type: Literal[...]` tag.
`NODE_TYPES` lists them all; the `Node` union (discriminated on `type`) is
built from it. To add a node type:

1. define its model here, or in `action_nodes.py` for telephony actions
   (subclass `NodeBase`, tag `type: Literal["queue"]`, list its gotos in
   `links()`, say in `ends_call()` when it ends the call and in
   `asterisk_refs()` what it needs from asterisk-conf/),
2. add it to `NODE_TYPES`,
3. register its handler with `@node_handler(Model)` (`handlers.py`, or
   `fastagi/actions/` for actions).

The loader, the JSON schema, the linter and the engine pick it up from there.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import (
    Discriminator,
    Field,
    field_validator,
    model_validator,
)

from fastagi.menus.action_nodes import ACTION_NODE_TYPES
from fastagi.menus.fields import (
    Count,
    DigitString,
    DirectDial,
    MaxDigits,
    OptionKey,
    PromptName,
    PromptPrefix,
    ResultName,
    Seconds,
    Terminator,
    VariableName,
    VariableValue,
)
from fastagi.menus.node_base import EndKind, Frozen, Link, LinkKind, NodeBase, links_of
from fastagi.menus.target import Target

__all__ = [
    "NODE_TYPES",
    "EndKind",
    "HangupNode",
    "Link",
    "LinkKind",
    "MenuDefaults",
    "MenuNode",
    "MenuSettings",
    "Node",
    "NodeBase",
    "PlayNode",
    "ReturnNode",
    "SayNode",
    "SetNode",
    "TicketOpenNode",
    "TicketStatusNode",
    "node_type_names",
]


class MenuDefaults(Frozen):
    """Settings every `menu` node of a file inherits unless it sets its own."""

    timeout: Seconds = Field(default=5.0, description="Seconds to wait for the first digit.")
    inter_digit_timeout: Seconds = Field(
        default=2.0, description="Seconds to wait between digits of a multi-digit entry."
    )
    max_failures: Count = Field(default=3, description="Invalid entries before `on_failure`.")
    max_timeouts: Count = Field(default=3, description="Silent timeouts before `on_timeout`.")
    invalid_prompt: PromptName | None = Field(
        default="ivr/invalid", description="Played after an invalid entry (null: nothing)."
    )
    timeout_prompt: PromptName | None = Field(
        default="ivr/no-input",
        description="Played when the caller pressed nothing (null: nothing).",
    )
    goodbye_prompt: PromptName | None = Field(
        default="ivr/goodbye",
        description="Played before hanging up when a menu has no on_failure/on_timeout.",
    )


@dataclass(frozen=True)
class MenuSettings:
    """A menu node's effective settings: its own values over the file's defaults."""

    timeout: float
    inter_digit_timeout: float
    max_failures: int
    max_timeouts: int
    invalid_prompt: str | None
    timeout_prompt: str | None
    goodbye_prompt: str | None


class MenuNode(NodeBase):
    """Play a greeting, collect digits, branch on them."""

    type: Literal["menu"]
    greeting: PromptName = Field(description="Played on the first visit; digits barge in.")
    short_greeting: PromptName | None = Field(
        default=None, description="Played on repeats (falls back to greeting)."
    )
    digits: MaxDigits = Field(default=1, description="Most digits in one entry.")
    terminator: Terminator | None = Field(
        default="#", description="Key that ends a multi-digit entry."
    )
    options: Mapping[OptionKey, Target] = Field(
        default_factory=dict, description="Entry -> where to go."
    )
    direct_dial: DirectDial | None = Field(
        default=None,
        description="Regex: a matching entry is returned to the dialplan as an extension.",
    )
    on_failure: Target | None = Field(
        default=None,
        description="Where to go after max_failures invalid entries (default: hang up).",
    )
    on_timeout: Target | None = Field(
        default=None,
        description="Where to go after max_timeouts silent timeouts (default: hang up).",
    )
    timeout: Seconds | None = Field(default=None, description="Overrides defaults.timeout.")
    inter_digit_timeout: Seconds | None = Field(
        default=None, description="Overrides defaults.inter_digit_timeout."
    )
    max_failures: Count | None = Field(default=None, description="Overrides defaults.max_failures.")
    max_timeouts: Count | None = Field(default=None, description="Overrides defaults.max_timeouts.")
    invalid_prompt: PromptName | None = Field(
        default=None, description="Overrides defaults.invalid_prompt (null: say nothing)."
    )
    timeout_prompt: PromptName | None = Field(
        default=None, description="Overrides defaults.timeout_prompt (null: say nothing)."
    )
    goodbye_prompt: PromptName | None = Field(
        default=None, description="Overrides defaults.goodbye_prompt (null: say nothing)."
    )

    @field_validator("options", mode="before")
    @classmethod
    def _normalise_option_keys(cls, value: object) -> object:
        # YAML gives text keys; Python callers may pass 1 and "1" - they are one option.
        if not isinstance(value, Mapping):
            return value
        seen: dict[str, object] = {}
        out: dict[object, object] = {}
        for key, target in value.items():
            norm = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
            if isinstance(norm, str):
                if norm in seen:
                    raise ValueError(f"option {norm!r} is given twice ({seen[norm]!r} and {key!r})")
                seen[norm] = key
            out[norm] = target
        return out

    def settings(self, defaults: MenuDefaults) -> MenuSettings:
        """This node's settings with the menu file's defaults filled in."""
        given = self.model_fields_set

        def prompt(name: str) -> str | None:
            value: str | None = getattr(self if name in given else defaults, name)
            return value

        return MenuSettings(
            timeout=self.timeout if self.timeout is not None else defaults.timeout,
            inter_digit_timeout=(
                self.inter_digit_timeout
                if self.inter_digit_timeout is not None
                else defaults.inter_digit_timeout
            ),
            max_failures=self.max_failures or defaults.max_failures,
            max_timeouts=self.max_timeouts or defaults.max_timeouts,
            invalid_prompt=prompt("invalid_prompt"),
            timeout_prompt=prompt("timeout_prompt"),
            goodbye_prompt=prompt("goodbye_prompt"),
        )

    def links(self) -> tuple[Link, ...]:
        found = [Link(("options", key), target, "option") for key, target in self.options.items()]
        if self.on_failure is not None:
            found.append(Link(("on_failure",), self.on_failure, "failure"))
        if self.on_timeout is not None:
            found.append(Link(("on_timeout",), self.on_timeout, "timeout"))
        return tuple(found)

    def ends_call(self) -> frozenset[EndKind]:
        ends: set[EndKind] = set()
        if self.on_failure is None:
            ends.add("failure")
        if self.on_timeout is None:
            ends.add("timeout")
        return frozenset(ends)


class PlayNode(NodeBase):
    """Play prompts in order (no barge-in), then go to `next`."""

    type: Literal["play"]
    prompts: tuple[PromptName, ...] = Field(min_length=1, max_length=50)
    next: Target | None = Field(
        default=None, description="Where to go afterwards (required by lint)."
    )

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next")


class SayNode(NodeBase):
    """Say digits one by one (SAY DIGITS) or a number (SAY NUMBER), then go to `next`."""

    type: Literal["say"]
    digits: DigitString | None = None
    number: int | None = Field(default=None, ge=-(2**31) + 1, le=2**31 - 1)
    next: Target | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SayNode:
        if (self.digits is None) == (self.number is None):
            raise ValueError("a say node needs exactly one of 'digits' or 'number'")
        return self

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next")


class SetNode(NodeBase):
    """Set channel variables (e.g. CHANNEL(language)), then go to `next`."""

    type: Literal["set"]
    variables: Mapping[VariableName, VariableValue] = Field(min_length=1, max_length=50)
    next: Target | None = None

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next")


class ReturnNode(NodeBase):
    """Set IVR_RESULT and end the AGI so the dialplan continues with it."""

    type: Literal["return"]
    result: ResultName
    prompt: PromptName | None = Field(
        default=None, description="Played first, e.g. 'connecting you'."
    )

    def ends_call(self) -> frozenset[EndKind]:
        return frozenset({"always"})


class HangupNode(NodeBase):
    """Hang up, after an optional goodbye prompt."""

    type: Literal["hangup"]
    prompt: PromptName | None = None

    def ends_call(self) -> frozenset[EndKind]:
        return frozenset({"always"})


class TicketStatusNode(NodeBase):
    """Tell the caller the number and status of their latest open ticket.

    Plays `prompt`, says the ticket number, plays `<status_prefix><status>`
    (e.g. ivr/ticket-status-in_progress), sets IVR_TICKET and IVR_AGENT (the
    agent handling it, for the dialplan), then goes to `next`. A caller with
    no open ticket - or when tickets cannot be read - goes to `none`.
    """

    type: Literal["ticket_status"]
    prompt: PromptName = Field(default="ivr/ticket-number", description="Played before the number.")
    status_prefix: PromptPrefix = Field(
        default="ivr/ticket-status-", description="The status prompt is this + the status."
    )
    next: Target | None = Field(default=None, description="After the status was told.")
    none: Target | None = Field(default=None, description="When there is no open ticket.")

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next", none="failure")


class TicketOpenNode(NodeBase):
    """Open a new ticket for the caller, tell them its number, set IVR_TICKET.

    `subject` may use caller data (`Call from {caller.first_name}|Call by phone`).
    An anonymous caller - or a failure to write - goes to `failed`.
    """

    type: Literal["ticket_open"]
    subject: str = Field(
        default="Opened by phone", min_length=1, max_length=200, description="The ticket subject."
    )
    prompt: PromptName = Field(
        default="ivr/ticket-opened", description="Played before the new number."
    )
    next: Target | None = Field(default=None, description="After the number was told.")
    failed: Target | None = Field(default=None, description="When no ticket could be opened.")

    def links(self) -> tuple[Link, ...]:
        return links_of(self, next="next", failed="failure")


#: The registry of node types. Add new node models here (and a handler in handlers.py).
NODE_TYPES: Final[tuple[type[NodeBase], ...]] = (
    MenuNode,
    PlayNode,
    SayNode,
    SetNode,
    ReturnNode,
    HangupNode,
    TicketStatusNode,
    TicketOpenNode,
    *ACTION_NODE_TYPES,
)


def _tag(model: type[NodeBase]) -> str:
    literal = model.model_fields["type"].annotation
    args: tuple[Any, ...] = getattr(literal, "__args__", ())
    if len(args) != 1 or not isinstance(args[0], str):
        raise TypeError(f"{model.__name__}.type must be a Literal of one string")
    return args[0]


def node_type_names() -> tuple[str, ...]:
    """The `type:` values a node may have, in registry order."""
    return tuple(_tag(model) for model in NODE_TYPES)


if TYPE_CHECKING:
    Node = NodeBase
else:
    #: Any registered node model, chosen by its `type` tag.
    Node = Annotated[reduce(operator.or_, NODE_TYPES), Discriminator("type")]
