"""Handing one message to an SMTP server with the standard library, off the event loop.

    transport = SmtpTransport(rules.smtp)
    await transport.deliver(message)      # or MailDeferred / MailRejected / MailUncertain

smtplib runs in a worker thread (`asyncio.to_thread`), every network
operation bounded by `smtp.timeout`. The conversation is driven step by step
so that a failure says whether the server can have accepted the message:
until the final "." of DATA is written it cannot (the server drops an
unfinished message), and after that only a 250 reply says it did. That is
what lets the letter go at most once (fastagi.callbacks.mailer).
"""

from __future__ import annotations

import asyncio
import os
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import getaddresses

from fastagi.callbacks.rules import SmtpSettings

__all__ = ["MailDeferred", "MailError", "MailRejected", "MailUncertain", "SmtpTransport"]

_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class MailError(Exception):
    """The letter was not (known to be) delivered to the mail server; the message says why."""


class MailDeferred(MailError):
    """Not accepted this time (no connection, a 4xx reply, a login or sender refused): retry."""


class MailRejected(MailError):
    """The server refused the letter for good: a 5xx reply to its recipient or its content."""


class MailUncertain(MailError):
    """The connection broke after the whole message was sent: it may have been accepted."""


def _wire_data(message: EmailMessage) -> bytes:
    """The message as DATA sends it: CRLF lines, leading dots doubled, ending in CRLF.CRLF."""
    data = message.as_bytes(policy=SMTP_POLICY)
    data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _address(header: str | None, name: str) -> str:
    found = [addr for _, addr in getaddresses([header or ""]) if addr]
    if len(found) != 1:
        raise MailRejected(f"the message needs exactly one {name} address, got {header!r}")
    return found[0]


class SmtpTransport:
    """Delivers messages through the server of `settings` (password from `environ` if so set)."""

    def __init__(self, settings: SmtpSettings, *, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.environ = os.environ if environ is None else environ

    @property
    def server(self) -> str:
        return f"{self.settings.host}:{self.settings.effective_port}"

    def _password(self) -> str:
        settings = self.settings
        if settings.password is not None:
            return settings.password.get_secret_value()
        if settings.password_env:
            value = self.environ.get(settings.password_env)
            if value is None:
                raise MailDeferred(
                    f"SMTP {self.server}: the password variable {settings.password_env} is not set"
                )
            return value
        return ""

    async def deliver(self, message: EmailMessage) -> None:
        """Send `message` (one From, one To); raise a MailError subclass when it did not go."""
        sender = _address(message["From"], "From")
        recipient = _address(message["To"], "To")
        data = _wire_data(message)
        password = self._password() if self.settings.username else ""
        await asyncio.to_thread(self._deliver, sender, recipient, data, password)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        port = settings.effective_port
        if settings.ssl:
            return smtplib.SMTP_SSL(
                settings.host, port, timeout=settings.timeout, context=self._context()
            )
        return smtplib.SMTP(settings.host, port, timeout=settings.timeout)

    def _deliver(self, sender: str, recipient: str, data: bytes, password: str) -> None:
        settings = self.settings
        handed_over = False
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._connect()
            smtp.ehlo_or_helo_if_needed()
            if settings.starttls:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, password)
            # A refused sender or DATA is about our setup (relaying, a login
            # needed): worth retrying once fixed. A refused recipient or
            # message is about the letter: it will not go.
            self._expect(smtp.mail(sender), (250,), "the sender", final=False)
            self._expect(smtp.rcpt(recipient), (250, 251), "the recipient", final=True)
            self._expect(smtp.docmd("DATA"), (354,), "DATA", final=False)
            smtp.send(data)
            handed_over = True  # the final dot is out: only the reply can tell
            self._expect(smtp.getreply(), (250,), "the message", final=True)
        except MailError:
            raise
        except smtplib.SMTPConnectError as exc:  # the greeting refused us, not the message
            raise MailDeferred(
                f"SMTP {self.server}: not accepting mail: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise MailDeferred(f"SMTP {self.server}: the login was refused: {reply}") from None
        except smtplib.SMTPResponseException as exc:
            raise self._refusal(exc.smtp_code, exc.smtp_error, "the conversation", False) from None
        except (OSError, smtplib.SMTPException) as exc:
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if handed_over:
                raise MailUncertain(
                    f"SMTP {self.server}: no reply after the message was sent ({what});"
                    " it may have been accepted"
                ) from None
            raise MailDeferred(f"SMTP {self.server}: {what}") from None
        finally:
            if smtp is not None:
                _quietly_quit(smtp)

    def _expect(
        self, reply: tuple[int, bytes], ok: tuple[int, ...], what: str, final: bool
    ) -> None:
        code, text = reply
        if code not in ok:
            raise self._refusal(code, text, what, final)

    def _refusal(self, code: int, text: bytes | str, what: str, final: bool) -> MailError:
        """MailRejected for a final 5xx (530 only asks for a login or TLS), else MailDeferred."""
        kind = MailRejected if final and 500 <= code < 600 and code != 530 else MailDeferred
        return kind(f"SMTP {self.server} refused {what}: {code} {_text(text)}")


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]


def _quietly_quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message's fate is already known, so errors here do not matter."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        smtp.close()
