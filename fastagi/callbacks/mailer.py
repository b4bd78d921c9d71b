"""The "You missed an important call" letter: rendered per caller, sent at most once.

    mailer = CallbackMailer(store, rules, zone=hours.calendar(rules.calendar).zone)
    await mailer.send(request.id)      # "sent", "already" or "no_email"; MailError on failure

After the last failed attempt the planner says `SendEmail`. The subject and
body come from config/callbacks.yaml in the caller's language (their profile's
`language`), else in English.

The guarantee is **at most once**: a letter is never sent twice, and is sent
once unless the process dies (or the connection breaks) in the moment
between handing the whole message to the mail server and hearing its reply.
`send` first moves the request's letter to `sending` - an atomic step only
one worker can win, and only from `none` or `pending` - and only then talks
to the server. A clear refusal before the message was handed over puts it
back to `pending` (a temporary failure: tried again after `email.retry_every`,
up to `email.max_tries`) or `failed` (refused for good). A break after it was
handed over leaves `unknown`; a crash leaves `sending`, which the planner
closes after `EMAIL_STALE_AFTER` without sending again. Neither is ever
re-sent automatically: a missing letter is the lesser harm than a second one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Literal, Protocol

from fastagi.callbacks.request import CallbackRequest
from fastagi.callbacks.rules import CallbackRules
from fastagi.callbacks.smtp import (
    MailDeferred,
    MailError,
    MailRejected,
    MailUncertain,
    SmtpTransport,
)
from fastagi.callbacks.store import CallbackStore, RequestNotFound

__all__ = [
    "CallbackMailer",
    "Letter",
    "MailTransport",
    "SendOutcome",
    "build_message",
    "format_call_time",
    "render_letter",
]

_FALLBACK = "en"
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
# Genitive: "27 ноября".
_MONTHS_RU = (
    "января", "февраля", "марта", "апреля", "мая", "июня", "июля",
    "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip

#: What `send` did: sent it now; it was sent (or tried) before, or another
#: worker holds it; no letter is due (letters off, no address).
SendOutcome = Literal["sent", "already", "no_email"]


class MailTransport(Protocol):
    """Something that hands a message to a mail server (SmtpTransport in production)."""

    async def deliver(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class Letter:
    """A rendered letter: to whom, in which language, what it says."""

    to: str
    to_name: str
    language: str
    subject: str
    body: str


def format_call_time(moment: datetime, zone: tzinfo, language: str) -> str:
    """`27 November 2025 at 13:13` (en), `27 ноября 2025 г. в 13:13` (ru), else ISO-like."""
    local = moment.astimezone(zone)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if language == "ru":
        return f"{local.day} {_MONTHS_RU[local.month - 1]} {local.year} г. в {clock}"
    if language == "en":
        return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year} at {clock}"
    return f"{local.date().isoformat()} {clock}"


def _language(request: CallbackRequest, rules: CallbackRules) -> str:
    wanted = (request.language or "").lower()
    email = rules.email
    return wanted if wanted in email.subject and wanted in email.body else _FALLBACK


def _pick(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts[_FALLBACK]


def render_letter(request: CallbackRequest, rules: CallbackRules, zone: tzinfo) -> Letter:
    """The letter for `request`, in the caller's language; ValueError if the email is unknown."""
    if not request.email:
        raise ValueError(f"callback request {request.id}: the caller's email is not known")
    language = _language(request, rules)
    email = rules.email
    values = {
        "first_name": request.first_name or "",
        "last_name": request.last_name or "",
        "centre_number": rules.centre_number,
        "call_time": format_call_time(request.first_call, zone, language),
        "number": request.number,
        "attempts": str(len(request.attempts)),
        "greeting": "",
    }
    greeting = email.greeting if request.first_name else email.greeting_no_name
    values["greeting"] = _pick(greeting, language).format_map(values)
    name = " ".join(part for part in (request.first_name, request.last_name) if part)
    return Letter(
        to=request.email,
        to_name=name,
        language=language,
        subject=_pick(email.subject, language).format_map(values),
        body=_pick(email.body, language).format_map(values),
    )


def build_message(
    letter: Letter, rules: CallbackRules, request_id: int, now: datetime
) -> EmailMessage:
    """The letter as a plain-text UTF-8 message.

    Its Message-ID is the same for every try of one request, so if a letter
    ever did arrive twice, mail programs would show it once.
    """
    message = EmailMessage()
    message["From"] = rules.email.sender
    message["To"] = formataddr((letter.to_name, letter.to))
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(now.astimezone(UTC))
    domain = parseaddr(rules.email.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<callback-{request_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message["Content-Language"] = letter.language
    message.set_content(letter.body)
    return message


class CallbackMailer:
    """Sends a request's letter at most once (see the module's docstring).

    `zone` is the calendar's time zone (the call time in the letter is
    written in it); `transport` defaults to `SmtpTransport(rules.smtp)`.
    """

    def __init__(
        self,
        store: CallbackStore,
        rules: CallbackRules,
        *,
        zone: tzinfo = UTC,
        transport: MailTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.rules = rules
        self.zone = zone
        self.transport: MailTransport = transport or SmtpTransport(rules.smtp)
        self.clock = clock

    async def send(self, request_id: int | str) -> SendOutcome:
        """Send the request's letter unless it went (or was tried) already.

        Returns "sent" (the request is now closed as `emailed`), "already"
        (sent or being sent, or its state is final), or "no_email" (letters
        are off or the caller's email is unknown: nothing done). Raises
        RequestNotFound, or a MailError subclass saying why it did not go:
        MailDeferred leaves the letter `pending` for a retry after
        `email.retry_every`; MailRejected marks it `failed` and MailUncertain
        `unknown` (both close the request as `gave_up`).
        """
        request = await self.store.get(request_id)
        if request is None:
            raise RequestNotFound(f"no callback request {request_id}")
        if not self.rules.email.enabled or not request.email:
            return "no_email"
        if request.email_state not in ("none", "pending"):
            return "already"
        now = datetime.fromtimestamp(self.clock(), UTC)
        message = build_message(
            render_letter(request, self.rules, self.zone), self.rules, request.id, now
        )
        if not await self.store.mark_email(request.id, "sending"):
            return "already"  # another worker won the letter
        try:
            await self.transport.deliver(message)
        except MailDeferred:
            retry = now + timedelta(seconds=self.rules.email.retry_every)
            await self.store.mark_email(request.id, "pending", retry_at=retry)
            raise
        except MailRejected:
            await self.store.mark_email(request.id, "failed")
            raise
        except MailUncertain:
            await self.store.mark_email(request.id, "unknown")
            raise
        except MailError:
            await self.store.mark_email(request.id, "unknown")
            raise
        # Anything else (cancelled, a crash) leaves `sending`: never sent again.
        await self.store.mark_email(request.id, "sent")
        return "sent"
