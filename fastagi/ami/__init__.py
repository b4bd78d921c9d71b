"""The Asterisk Manager Interface (AMI) client: a sans-I/O codec and a Twisted connection.

`AmiClient` logs in (MD5 challenge or plain secret), correlates actions with
their responses by ActionID, collects list actions, hands events to
subscribers, pings when idle and reconnects with backoff. `AmiParser`,
`AmiMessage` and `encode_action` are the codec underneath, usable alone.
See docs/ami.md.
"""

from fastagi.ami.client import AmiClient
from fastagi.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiConnectError,
    AmiDisconnected,
    AmiError,
    AmiTimeout,
)
from fastagi.ami.message import AmiMessage, AmiParser, encode_action
from fastagi.ami.subscriptions import EventCallback

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiClient",
    "AmiConnectError",
    "AmiDisconnected",
    "AmiError",
    "AmiMessage",
    "AmiParser",
    "AmiTimeout",
    "EventCallback",
    "encode_action",
]
