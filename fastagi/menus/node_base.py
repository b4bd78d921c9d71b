"""What every node type shares: the base model, its links (gotos) and Asterisk references.

Kept apart from the registry in `nodes.py` so the action node models
(`action_nodes.py`) can build on it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fastagi.menus.target import Target

__all__ = [
    "AsteriskKind",
    "AsteriskRef",
    "EndKind",
    "Frozen",
    "Link",
    "LinkKind",
    "NodeBase",
    "links_of",
]

LinkKind = Literal["option", "next", "failure", "timeout"]
#: When a node ends the call by itself: always, or after too many failures/timeouts.
EndKind = Literal["always", "failure", "timeout"]
AsteriskKind = Literal[
    "queue", "mailbox", "moh", "context", "trunk", "bridge_profile", "user_profile"
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Link:
    """One way out of a node: where it points and why (`key_path` is relative to the node)."""

    key_path: tuple[str, ...]
    target: Target
    kind: LinkKind


@dataclass(frozen=True)
class AsteriskRef:
    """Something a node needs from asterisk-conf/: `kind`, `name`, and where in the node."""

    kind: AsteriskKind
    name: str
    key_path: tuple[str, ...]


class NodeBase(Frozen):
    """Fields and behaviour every node type shares."""

    type: str
    description: str = Field(default="", description="Free text for admins and graphs.")

    def links(self) -> tuple[Link, ...]:
        """Every goto this node can take."""
        return ()

    def ends_call(self) -> frozenset[EndKind]:
        """When this node itself ends the flow (returns to the dialplan or hangs up)."""
        return frozenset()

    def asterisk_refs(self) -> tuple[AsteriskRef, ...]:
        """Queues, mailboxes, MoH classes... this node needs from the Asterisk config."""
        return ()


def links_of(node: BaseModel, **kinds: LinkKind) -> tuple[Link, ...]:
    """The links of `node`'s target fields that are set: field name -> link kind."""
    found = []
    for name, kind in kinds.items():
        target = getattr(node, name)
        if target is not None:
            found.append(Link((name,), target, kind))
    return tuple(found)
