"""Event classes and masks, hangup causes and channel states, as Asterisk names them.

Class bits are manager.h's EVENT_FLAG_* in the order of manager.c ``perms[]``;
``strings_to_mask`` / ``authority_to_str`` copy manager.c's conversions, quirks
included (``Events: 1`` is the numeric mask 1, i.e. ``system`` only; a word that
is no class gives the empty mask, "Events: Off"). An event reaches a session
when ``(send_events & class) == class`` (manager.c ``process_events``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from fastagi.testing._ami_wire import ast_false, ast_true

__all__ = [
    "ALL_EVENTS",
    "CALL",
    "SYSTEM",
    "USER",
    "authority_to_str",
    "cause_text",
    "class_of",
    "state_text",
    "strings_to_mask",
]

SYSTEM = 1 << 0
CALL = 1 << 1
AGENT = 1 << 5
USER = 1 << 6
DTMF = 1 << 8
CDR = 1 << 10
DIALPLAN = 1 << 11
AGI = 1 << 13
SECURITY = 1 << 17
INT_MAX = 2**31 - 1
ALL_EVENTS = -1
"""A new session's ``send_events`` (build_mansession): every bit set."""

PERMS: tuple[tuple[int, str], ...] = (
    (SYSTEM, "system"),
    (CALL, "call"),
    (1 << 2, "log"),
    (1 << 3, "verbose"),
    (1 << 4, "command"),
    (AGENT, "agent"),
    (USER, "user"),
    (1 << 7, "config"),
    (DTMF, "dtmf"),
    (1 << 9, "reporting"),
    (CDR, "cdr"),
    (DIALPLAN, "dialplan"),
    (1 << 12, "originate"),
    (AGI, "agi"),
    (1 << 14, "cc"),
    (1 << 15, "aoc"),
    (1 << 16, "test"),
    (SECURITY, "security"),
    (1 << 18, "message"),
    (INT_MAX, "all"),
    (0, "none"),
)


def _instring(big: str, small: str) -> bool:
    """manager.c ast_instring with ',': every item but the last matches as a prefix."""
    *heads, last = big.split(",")
    return any(small[: len(head)] == head and len(small) >= len(head) for head in heads) or (
        last == small
    )


def strings_to_mask(text: str) -> int:
    """manager.c strings_to_mask: -1 for an empty string (mask left alone)."""
    if not text:
        return -1
    if text.isascii() and text.isdigit():
        return int(text)
    if ast_false(text):
        return 0
    if ast_true(text):
        mask = 0
        for bit, _ in PERMS:
            mask |= bit
        return mask
    mask = 0
    for bit, label in PERMS:
        if _instring(text, label):
            mask |= bit
    return mask


def authority_to_str(category: int) -> str:
    """manager.c authority_to_str: the Privilege header (``all`` always follows)."""
    labels = [label for bit, label in PERMS[:-1] if category & bit]
    return ",".join(labels) or "<none>"


_CLASSES: Mapping[str, int] = MappingProxyType(
    {
        name.lower(): category
        for category, names in (
            (SYSTEM, "FullyBooted Shutdown Reload Registry PeerStatus ContactStatus"),
            (USER, "UserEvent"),
            (
                CALL,
                "Newchannel Newstate Hangup HangupRequest SoftHangupRequest DialBegin "
                "DialState DialEnd OriginateResponse NewCallerid NewConnectedLine "
                "NewAccountCode BridgeCreate BridgeEnter BridgeLeave BridgeDestroy "
                "LocalBridge Hold Unhold MusicOnHoldStart MusicOnHoldStop "
                "ConfbridgeStart ConfbridgeEnd ConfbridgeJoin ConfbridgeLeave "
                "MixMonitorStart MixMonitorStop DeviceStateChange ExtensionStatus "
                "BlindTransfer AttendedTransfer",
            ),
            (
                AGENT,
                "QueueCallerJoin QueueCallerLeave QueueCallerAbandon QueueMemberStatus "
                "AgentCalled AgentConnect AgentComplete AgentRingNoAnswer AgentDump",
            ),
            (DIALPLAN, "Newexten VarSet"),
            (DTMF, "DTMFBegin DTMFEnd"),
            (CDR, "Cdr"),
            (AGI, "AGIExecStart AGIExecEnd AsyncAGIStart AsyncAGIExec AsyncAGIEnd"),
            (SECURITY, "SuccessfulAuth InvalidPassword ChallengeResponseFailed InvalidAccountID"),
        )
        for name in names.split()
    }
)


def class_of(event: str, category: str | int | None = None) -> int:
    """The class of an event: ``category`` if given (``"call,user"`` or bits), else
    the class Asterisk raises it with (``call`` for names this table lacks)."""
    if isinstance(category, int):
        return category
    if category is not None:
        return strings_to_mask(category) if category else 0
    return _CLASSES.get(event.lower(), CALL)


_CAUSES: Mapping[int, str] = MappingProxyType(
    {
        1: "Unallocated (unassigned) number",
        2: "No route to specified transmit network",
        3: "No route to destination",
        16: "Normal Clearing",
        17: "User busy",
        18: "No user responding",
        19: "User alerting, no answer",
        21: "Call Rejected",
        22: "Number changed",
        27: "Destination out of order",
        28: "Invalid number format",
        31: "Normal, unspecified",
        34: "Circuit/channel congestion",
        38: "Network out of order",
        41: "Temporary failure",
        42: "Switching equipment congestion",
        44: "Requested channel not available",
        127: "Interworking, unspecified",
    }
)


def cause_text(cause: int) -> str:
    """channel.c ast_cause2str: the Cause-txt of a hangup cause ("Unknown" if unlisted)."""
    return _CAUSES.get(cause, "Unknown")


_STATES = ("Down", "Rsrvd", "OffHook", "Dialing", "Ring", "Ringing", "Up", "Busy")


def state_text(state: int) -> str:
    """channel.c ast_state2str: ChannelStateDesc."""
    return _STATES[state] if 0 <= state < len(_STATES) else f"Unknown ({state})"
