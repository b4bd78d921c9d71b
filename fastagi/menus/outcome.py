"""How a menu run ended: a value, never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, get_args

__all__ = [
    "AFTER_HOURS",
    "CALLBACK_REQUESTED",
    "OUTCOME_KINDS",
    "QUEUE_ABANDON",
    "QUEUE_TIMEOUT",
    "REACHED_AGENT",
    "Outcome",
    "OutcomeKind",
]

#: return: IVR_RESULT set, the dialplan continues; hangup: the menu hung up;
#: caller_hangup: the caller left; error: a bug or a broken goto (logged);
#: max_steps: the run was cut off by the step guard.
OutcomeKind = Literal["return", "hangup", "caller_hangup", "error", "max_steps"]
OUTCOME_KINDS: Final[tuple[str, ...]] = get_args(OutcomeKind)

# What happened on the way, as actions mark it (`Session.mark`): what the
# missed-call callbacks need to know about a call, whatever its outcome.
REACHED_AGENT: Final = "reached_agent"  #: a queue or transfer was answered by a person
QUEUE_ABANDON: Final = "queue_abandon"  #: the caller hung up waiting in a queue
QUEUE_TIMEOUT: Final = "queue_timeout"  #: the queue's max_wait ran out
AFTER_HOURS: Final = "after_hours"  #: an `hours` node found the centre closed
CALLBACK_REQUESTED: Final = "callback_requested"  #: the caller asked to be called back


@dataclass(frozen=True)
class Outcome:
    """The end of one menu run.

    `result` is IVR_RESULT for `return` (a result name such as "operator", or
    the digits of a direct-dialled extension); for other kinds a short reason
    ("max_failures", "dead_end", ...) or "". `menu`/`node` is where the run
    ended; `path` lists every node entered, as "menu/node"; `entries` what
    the caller keyed in at each menu node.
    """

    kind: OutcomeKind
    result: str
    menu: str
    node: str
    path: tuple[str, ...] = ()
    #: What the caller entered at each menu, in order (a record, not part of equality).
    entries: tuple[str, ...] = field(default=(), compare=False)
    #: What happened on the way (REACHED_AGENT, QUEUE_ABANDON, ...), not part of equality.
    marks: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def label(self) -> str:
        """`result` for a return, else the kind: what scenario files call `result`."""
        return self.result if self.kind == "return" else self.kind
