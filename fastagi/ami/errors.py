"""Every error the AMI client raises, in one hierarchy: catch `AmiError` for all."""

from __future__ import annotations

from fastagi.ami.message import AmiMessage

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiConnectError",
    "AmiDisconnected",
    "AmiError",
    "AmiTimeout",
]


class AmiError(Exception):
    """Base class of the AMI client's errors."""


class AmiAuthError(AmiError):
    """Asterisk refused the login (wrong user or secret, or the user's ACL).

    Never retried automatically: the client stops and reports it, because
    repeating a wrong password only fills Asterisk's security log.
    """


class AmiConnectError(AmiError, ConnectionError):
    """`start(timeout=...)` gave up: no login within the timeout."""


class AmiDisconnected(AmiError, ConnectionError):
    """No connection: lost while an action waited, or not back in time, or closed."""


class AmiTimeout(AmiError, TimeoutError):
    """Asterisk did not answer an action within its timeout."""


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error``: `message` is its ``Message`` field,
    `action` the action's name, `response` the whole reply."""

    def __init__(
        self, message: str, response: AmiMessage | None = None, action: str | None = None
    ) -> None:
        super().__init__(f"{action}: {message}" if action else message)
        self.message = message
        self.response = response
        self.action = action
