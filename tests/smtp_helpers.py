"""A real SMTP server (aiosmtpd) for tests that send mail (imported by bare name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session


class Mailbox:
    """What the SMTP server received: one envelope per accepted message."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK: queued"


class _AnyPortController(Controller):
    """aiosmtpd's controller on port 0: it learns the port the system chose."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


def start_smtp(handler: Any, **kwargs: Any) -> tuple[Controller, int]:
    controller = _AnyPortController(handler, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return controller, int(controller.port)
