"""The missed-call letter: rendered per caller, sent through a real SMTP server at most once."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from callbacks_helpers import Env, Mailbox, SmtpServer, start_smtp

from fastagi.callbacks import (
    CallbackMailer,
    CallbackRequest,
    CallbackRules,
    CallbackStore,
    CallFacts,
    Close,
    MailDeferred,
    MailRejected,
    MailUncertain,
    SmtpTransport,
    plan,
    render_letter,
)
from fastagi.callbacks.planner import EMAIL_STALE_AFTER
from fastagi.callbacks.rules import SmtpSettings
from fastagi.callers import CallerDirectory

MSK = ZoneInfo("Europe/Moscow")
NUMBER = "+79161234567"
CALL = datetime(2026, 3, 2, 10, 0, tzinfo=MSK)


def rules_for(server: SmtpServer | None = None, **smtp: Any) -> CallbackRules:
    settings: dict[str, Any] = {"timeout": 5}
    if server is not None:
        settings.update(host=server.host, port=server.port)
    settings.update(smtp)
    return CallbackRules(
        centre_number="+7 495 123-45-67",
        email={"from": "Support <support@centre.example>"},
        smtp=settings,
    )


def a_request(**changes: Any) -> CallbackRequest:
    fields: dict[str, Any] = {
        "id": 5,
        "number": NUMBER,
        "status": "open",
        "first_call": CALL.astimezone(UTC),
        "last_call": CALL.astimezone(UTC),
        "email": "client@example.com",
    }
    fields.update(changes)
    return CallbackRequest(**fields)


def parsed(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=default_policy)


def body_of(message: Message) -> str:
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# -- rendering -----------------------------------------------------------------


def test_the_letter_is_in_russian_for_a_russian_caller() -> None:
    letter = render_letter(a_request(language="ru", first_name="Иван"), rules_for(), MSK)
    assert letter.language == "ru"
    assert letter.subject == "Вы пропустили важный звонок"
    assert letter.body.startswith("Здравствуйте, Иван!\n\n")
    assert "Вы звонили нам 2 марта 2026 г. в 10:00" in letter.body
    assert "перезвоните нам по номеру +7 495 123-45-67" in letter.body


def test_the_letter_is_in_english_by_default_and_for_other_languages() -> None:
    for language in (None, "de"):
        letter = render_letter(a_request(language=language), rules_for(), MSK)
        assert letter.language == "en"
        assert letter.subject == "You missed an important call"
        assert letter.body.startswith("Hello!\n\n")  # no first name known
        assert "You called us on 2 March 2026 at 10:00" in letter.body
        assert "call us back on +7 495 123-45-67" in letter.body


def test_templates_come_from_the_rules() -> None:
    rules = CallbackRules.model_validate(
        {
            "email": {
                "subject": {"en": "Missed call from {number}", "de": "Verpasster Anruf"},
                "body": {"en": "{greeting} {attempts} tries.", "de": "{greeting} Rufen Sie an."},
                "greeting": {"en": "Dear {first_name} {last_name},", "de": "Hallo {first_name},"},
            }
        }
    )
    english = render_letter(a_request(first_name="Ann", last_name="Lee"), rules, MSK)
    assert english.subject == f"Missed call from {NUMBER}"
    assert english.body == "Dear Ann Lee, 0 tries."
    german = render_letter(a_request(first_name="Jan", language="de"), rules, MSK)
    assert (german.subject, german.body) == ("Verpasster Anruf", "Hallo Jan, Rufen Sie an.")


def test_no_email_no_letter() -> None:
    with pytest.raises(ValueError, match="email is not known"):
        render_letter(a_request(email=None), rules_for(), MSK)


# -- sending -------------------------------------------------------------------


async def exhausted_request(env: Env, store: CallbackStore, **profile: str) -> CallbackRequest:
    """A request whose three attempts failed, for a caller with an email."""
    client = store.redis
    await CallerDirectory(client, prefix=env.prefix).upsert(
        NUMBER, {"email": "client@example.com", **profile}
    )
    facts = CallFacts(number=NUMBER, outcome="caller_hangup", at=CALL, uniqueid="1.1")
    await store.add_lost_call(facts)
    [request] = await store.intake("worker-1")
    for day in (2, 3, 4):
        at = datetime(2026, 3, day, 10, 5, tzinfo=MSK)
        await store.record_attempt(request.id, "no_answer", at)
    found = await store.get(request.id)
    assert found is not None
    return found


def test_the_letter_goes_once_through_a_real_smtp_server(run: Any, smtp_server: SmtpServer) -> None:
    async def body(env: Env) -> None:
        rules = rules_for(smtp_server)
        store = env.store(rules=rules)
        request = await exhausted_request(env, store, language="ru", first_name="Иван")
        mailer = CallbackMailer(store, rules, zone=MSK, clock=env.clock)
        assert await mailer.send(request.id) == "sent"
        assert await mailer.send(request.id) == "already"
        [envelope] = smtp_server.mailbox.envelopes
        assert envelope.mail_from == "support@centre.example"
        assert envelope.rcpt_tos == ["client@example.com"]
        assert isinstance(envelope.original_content, bytes)
        message = parsed(envelope.original_content)
        assert message["Subject"] == "Вы пропустили важный звонок"
        assert message["To"] == "Иван <client@example.com>"
        assert message["Message-ID"] == f"<callback-{request.id}@centre.example>"
        assert message["Auto-Submitted"] == "auto-generated"
        assert body_of(message).startswith("Здравствуйте, Иван!")
        done = await store.get(request.id)
        assert done is not None and done.email_state == "sent"
        assert done.closed_reason == "emailed" and not done.is_open

    run(body)


def test_two_workers_sending_at_once_send_one_letter(run: Any, smtp_server: SmtpServer) -> None:
    async def body(env: Env) -> None:
        rules = rules_for(smtp_server)
        store = env.store(rules=rules)
        request = await exhausted_request(env, store)
        mailers = [
            CallbackMailer(env.store(rules=rules), rules, zone=MSK, clock=env.clock)
            for _ in range(4)
        ]
        results = await asyncio.gather(*(m.send(request.id) for m in mailers))
        assert sorted(results) == ["already", "already", "already", "sent"]
        assert len(smtp_server.mailbox.envelopes) == 1

    run(body)


class _CrashAfterSending:
    """The process dies right after the server took the letter, before it is recorded."""

    def __init__(self, real: SmtpTransport) -> None:
        self.real = real

    async def deliver(self, message: EmailMessage) -> None:
        await self.real.deliver(message)
        raise SystemExit("killed")


def test_a_crash_between_sending_and_recording_never_sends_again(
    run: Any, smtp_server: SmtpServer
) -> None:
    async def body(env: Env) -> None:
        rules = rules_for(smtp_server)
        store = env.store(rules=rules)
        request = await exhausted_request(env, store)
        dying = CallbackMailer(
            store, rules, zone=MSK, transport=_CrashAfterSending(SmtpTransport(rules.smtp))
        )
        with pytest.raises(SystemExit):
            await dying.send(request.id)
        # A new process: new connections, new mailer.
        restarted_store = env.store(rules=rules)
        restarted = CallbackMailer(restarted_store, rules, zone=MSK, clock=env.clock)
        assert await restarted.send(request.id) == "already"
        assert len(smtp_server.mailbox.envelopes) == 1
        left = await restarted_store.get(request.id)
        assert left is not None and left.email_state == "sending" and left.is_open
        # The scheduler waits for a send that might still be running, then closes.
        assert left.email_at is not None
        later = left.email_at + EMAIL_STALE_AFTER
        assert plan(left, rules, env.hours, later) == Close("gave_up")
        await restarted_store.close(request.id, "gave_up")
        closed = await restarted_store.get(request.id)
        assert closed is not None and closed.email_state == "unknown"
        assert await restarted.send(request.id) == "already"
        assert len(smtp_server.mailbox.envelopes) == 1

    run(body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_down_leaves_the_letter_pending_for_later(
    run: Any, smtp_server: SmtpServer
) -> None:
    async def body(env: Env) -> None:
        down = rules_for(host="127.0.0.1", port=free_port())
        store = env.store(rules=down)
        request = await exhausted_request(env, store)
        mailer = CallbackMailer(store, down, zone=MSK, clock=env.clock)
        with pytest.raises(MailDeferred, match=r"SMTP 127\.0\.0\.1:\d+: ConnectionRefusedError"):
            await mailer.send(request.id)
        pending = await store.get(request.id)
        assert pending is not None and pending.is_open
        assert (pending.email_state, pending.email_tries) == ("pending", 1)
        retry_at = pending.next_at
        assert retry_at == datetime.fromtimestamp(env.clock.now, UTC) + timedelta(minutes=15)
        assert await store.due(retry_at - timedelta(seconds=1)) == []
        # Later the server is back: the letter goes, once.
        up = rules_for(smtp_server)
        assert await CallbackMailer(store, up, zone=MSK).send(request.id) == "sent"
        assert len(smtp_server.mailbox.envelopes) == 1

    run(body)


class _NoSuchUser(Mailbox):
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return "550 5.1.1 no such user here"


def test_a_refused_recipient_fails_the_letter_for_good(run: Any) -> None:
    controller, port = start_smtp(_NoSuchUser())
    try:

        async def body(env: Env) -> None:
            rules = rules_for(host="127.0.0.1", port=port)
            store = env.store(rules=rules)
            request = await exhausted_request(env, store)
            mailer = CallbackMailer(store, rules, zone=MSK)
            with pytest.raises(MailRejected, match=r"refused the recipient: 550 5\.1\.1 no such"):
                await mailer.send(request.id)
            failed = await store.get(request.id)
            assert failed is not None and failed.email_state == "failed"
            assert failed.closed_reason == "gave_up"
            assert await mailer.send(request.id) == "already"

        run(body)
    finally:
        controller.stop()


@pytest.fixture
def mute_after_data() -> Iterator[int]:
    """A server that takes the whole message and drops the connection without a reply."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            stream = conn.makefile("rwb")
            stream.write(b"220 mute ESMTP\r\n")
            stream.flush()
            in_data = False
            for line in stream:
                if in_data:
                    if line == b".\r\n":
                        return  # got it all; say nothing
                    continue
                verb = line[:4].upper()
                stream.write(b"354 go ahead\r\n" if verb == b"DATA" else b"250 ok\r\n")
                stream.flush()
                in_data = verb == b"DATA"

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_connection_lost_after_the_message_is_never_resent(
    run: Any, mute_after_data: int
) -> None:
    async def body(env: Env) -> None:
        rules = rules_for(host="127.0.0.1", port=mute_after_data)
        store = env.store(rules=rules)
        request = await exhausted_request(env, store)
        mailer = CallbackMailer(store, rules, zone=MSK)
        with pytest.raises(MailUncertain, match="it may have been accepted"):
            await mailer.send(request.id)
        unknown = await store.get(request.id)
        assert unknown is not None and unknown.email_state == "unknown"
        assert unknown.closed_reason == "gave_up"
        assert await mailer.send(request.id) == "already"

    run(body)


def test_a_server_that_never_answers_times_out() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    try:
        port = int(listener.getsockname()[1])
        transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, timeout=0.3))
        message = EmailMessage()
        message["From"], message["To"] = "a@centre.example", "b@example.com"
        message.set_content("hi")
        with pytest.raises(MailDeferred, match="timed out"):
            asyncio.run(transport.deliver(message))
    finally:
        listener.close()


def test_no_email_known_means_no_letter(run: Any, smtp_server: SmtpServer) -> None:
    async def body(env: Env) -> None:
        rules = rules_for(smtp_server)
        store = env.store(rules=rules)
        facts = CallFacts(number=NUMBER, outcome="caller_hangup", at=CALL, uniqueid="1.1")
        await store.add_lost_call(facts)
        [request] = await store.intake("worker-1")
        assert await CallbackMailer(store, rules, zone=MSK).send(request.id) == "no_email"
        assert smtp_server.mailbox.envelopes == []

    run(body)


def test_login_with_the_password_from_the_environment(run: Any) -> None:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ivr", b"s3cret")
        return AuthResult(success=ok, handled=False)

    mailbox = Mailbox()
    controller, port = start_smtp(mailbox, authenticator=check, auth_require_tls=False)
    try:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, username="ivr", password_env="TEST_SMTP_PASSWORD"
        )
        message = EmailMessage()
        message["From"], message["To"] = "a@centre.example", "b@example.com"
        message.set_content("hi")
        good = SmtpTransport(settings, environ={"TEST_SMTP_PASSWORD": "s3cret"})
        asyncio.run(good.deliver(message))
        assert len(mailbox.envelopes) == 1
        bad = SmtpTransport(settings, environ={"TEST_SMTP_PASSWORD": "wrong"})
        with pytest.raises(MailDeferred, match="the login was refused: 535"):
            asyncio.run(bad.deliver(message))
        unset = SmtpTransport(settings, environ={})
        with pytest.raises(MailDeferred, match="TEST_SMTP_PASSWORD is not set"):
            asyncio.run(unset.deliver(message))
        assert len(mailbox.envelopes) == 1
    finally:
        controller.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_starttls_with_a_private_ca(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    controller, port = start_smtp(mailbox, tls_context=context, require_starttls=True)
    try:
        message = EmailMessage()
        message["From"], message["To"] = "a@centre.example", "b@example.com"
        message.set_content("over TLS")
        plain = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port))
        # The server insists on STARTTLS: a setup problem, retried, not a lost letter.
        with pytest.raises(MailDeferred, match="refused the sender: 530"):
            asyncio.run(plain.deliver(message))
        tls = SmtpTransport(
            SmtpSettings(host="127.0.0.1", port=port, starttls=True, ca_file=str(cert))
        )
        asyncio.run(tls.deliver(message))
        [envelope] = mailbox.envelopes
        assert isinstance(envelope.original_content, bytes)
        assert body_of(parsed(envelope.original_content)).strip() == "over TLS"
    finally:
        controller.stop()
