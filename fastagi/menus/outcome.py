"""How a menu run ended: a value, never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, get_args

__all__ = ["OUTCOME_KINDS", "Outcome", "OutcomeKind"]

#: return: IVR_RESULT set, the dialplan continues; hangup: the menu hung up;
#: caller_hangup: the caller left; error: a bug or a broken goto (logged);
#: max_steps: the run was cut off by the step guard.
OutcomeKind = Literal["return", "hangup", "caller_hangup", "error", "max_steps"]
OUTCOME_KINDS: Final[tuple[str, ...]] = get_args(OutcomeKind)


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

    @property
    def label(self) -> str:
        """`result` for a return, else the kind: what scenario files call `result`."""
        return self.result if self.kind == "return" else self.kind
