"""Shared fixtures: the asyncio reactor, a real private Redis server, settings."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from smtp_helpers import Mailbox, SmtpServer, start_smtp

from fastagi.server.reactor import install_asyncio_reactor

if TYPE_CHECKING:
    from fastagi.testing import AmiPeer

# Twisted must run on the asyncio loop before anything imports the reactor.
install_asyncio_reactor()

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for the session: REDIS_URL if set, else a private one."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from fastagi.storage import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis-state"))
    url = server.acquire()
    try:
        yield url
    finally:
        server.release()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write("menus/main.yaml", text) -> path under tmp_path; the text is dedented,
    so tests can indent it."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalogue built offline (espeak-ng, sox) once per test run: a sounds directory."""
    from fastagi.prompts.build import build_prompts
    from fastagi.prompts.catalogue import load_catalogue
    from fastagi.prompts.engines import Synthesiser, engines_for

    sounds = tmp_path_factory.mktemp("demo-sounds")
    catalogue = load_catalogue(REPO / "prompts" / "catalogue.yaml")
    result = build_prompts(
        catalogue, REPO / "prompts", sounds, Synthesiser(engines_for("espeak-ng"))
    )
    assert not result.failed, result.failed
    return sounds


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a port of its own."""
    mailbox = Mailbox()
    controller, port = start_smtp(mailbox)
    try:
        yield SmtpServer("127.0.0.1", port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def ami_peer() -> Iterator[tuple[AmiPeer, int]]:
    """Asterisk's AMI (user ivr, secret s3cret), played by the emulator's peer on its own
    loop in a thread."""
    from threaded_ami_peer import peer_in_thread

    from fastagi.testing import AmiPeer

    peer = AmiPeer(username="ivr", secret="s3cret")
    with peer_in_thread(peer) as port:
        yield peer, port
