"""What the project's small twisted.web endpoints use of a request, typed.

Twisted's IRequest and Request are not typed for mypy's strict mode; the
prompt server and the broadcast trigger both cast to this instead.
"""

from __future__ import annotations

from typing import IO, Protocol

__all__ = ["WebRequest"]


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
