"""What the project's small twisted.web endpoints use of a request, typed, and the
shared secret the protected ones (the broadcast trigger, the dashboard) check.

Twisted's IRequest and Request are not typed for mypy's strict mode; the
prompt server and the broadcast trigger both cast to this instead.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import IO, Final, Literal, Protocol

__all__ = ["MIN_SECRET_LENGTH", "SharedSecret", "WebRequest"]

#: A token or password shorter than this is refused (it would be guessable).
MIN_SECRET_LENGTH: Final = 16


class WebRequest(Protocol):
    method: bytes
    path: bytes
    uri: bytes
    content: IO[bytes] | None
    finished: bool | int

    def getHeader(self, key: bytes) -> bytes | None: ...
    def setHeader(self, name: bytes, value: bytes) -> None: ...
    def setResponseCode(self, code: int) -> None: ...
    def write(self, data: bytes) -> None: ...
    def finish(self) -> None: ...


class SharedSecret:
    """A secret a client must present in its Authorization header, compared in constant
    time: a bearer token, or the password of HTTP Basic authentication (any user name)."""

    def __init__(self, secret: str, what: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"{what} must have at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret.encode("utf-8")

    def presented_by(self, request: WebRequest, scheme: Literal["bearer", "basic"]) -> bool:
        header = request.getHeader(b"authorization") or b""
        given_scheme, _, credentials = header.partition(b" ")
        if given_scheme.lower() != scheme.encode("ascii"):
            return False
        credentials = credentials.strip()
        if scheme == "basic":
            try:
                credentials = base64.b64decode(credentials, validate=True).partition(b":")[2]
            except (binascii.Error, ValueError):
                return False
        return hmac.compare_digest(credentials, self._secret)
