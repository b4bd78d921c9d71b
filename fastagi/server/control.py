"""The control socket: `ivr reload`, `ivr rollback` and `ivr status` talk to a running server.

A Unix socket in the state directory (mode 0600), one request line in, one
JSON line out. Only the installation's own user can reach it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineOnlyReceiver

__all__ = ["ControlError", "ControlFactory", "control_socket_path", "send_control"]

Command = Callable[[], dict[str, Any]]


def control_socket_path(state_dir: Path, port: int) -> Path:
    """One socket per listening port, so two servers on one host do not collide."""
    return state_dir / f"control-{port}.sock"


class ControlError(Exception):
    """No server answers on the control socket, or it reported a failure."""


class _ControlProtocol(LineOnlyReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1024

    def __init__(self, commands: dict[str, Command]) -> None:
        self.commands = commands

    def lineReceived(self, line: bytes) -> None:
        name = line.decode("utf-8", "replace").strip()
        command = self.commands.get(name)
        if command is None:
            answer: dict[str, Any] = {"ok": False, "error": f"unknown command {name!r}"}
        else:
            try:
                answer = command()
            except Exception as exc:  # the answer carries the error to the admin
                answer = {"ok": False, "error": str(exc)}
        self.sendLine(json.dumps(answer).encode())  # type: ignore[no-untyped-call]
        if self.transport is not None:
            self.transport.loseConnection()


class ControlFactory(Factory):
    def __init__(self, commands: dict[str, Command]) -> None:
        self.commands = commands

    def buildProtocol(self, addr: object) -> _ControlProtocol:
        return _ControlProtocol(self.commands)


def send_control(path: Path, command: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one command to a running server; return its JSON answer (blocking client)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(command.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise ControlError(f"no running server answers on {path}: {exc.strerror or exc}") from exc
    try:
        answer: dict[str, Any] = json.loads(data)
    except ValueError as exc:
        raise ControlError(f"garbled answer from the server: {data[:200]!r}") from exc
    return answer
