"""`ivr doctor` as an admin runs it: one line per check, exit 1 on any FAIL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from threaded_ami_peer import peer_in_thread

from fastagi.cli import main
from fastagi.config import redacted_url
from fastagi.server.runner import _banner
from fastagi.testing import AmiPeer

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def _installation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_sounds: Path, redis_server_url: str
) -> None:
    """The demo installation, with built prompts, the test Redis and a free FastAGI port."""
    monkeypatch.chdir(REPO)
    for name in ("IVR_CONFIG", "IVR_AMI_HOST", "IVR_AMI_SECRET", "IVR_PRODUCTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("IVR_SOUNDS_DIR", str(demo_sounds))
    monkeypatch.setenv("IVR_TTS_ENGINE", "espeak-ng")  # as demo_sounds was built
    # A free port of its own: asterisk-conf's dialplan (which names 4573) is left out.
    monkeypatch.setenv("IVR_PORT", str(_free_port()))
    monkeypatch.setenv("IVR_ASTERISK_DIR", str(tmp_path / "no-asterisk-conf"))
    monkeypatch.setenv("REDIS_URL", redis_server_url)


def _doctor(*args: str) -> Result:
    return CliRunner().invoke(main, ["doctor", *args])


def _lines(result: Result, level: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(level)]


def test_the_demo_installation_is_healthy() -> None:
    result = _doctor()
    assert result.exit_code == 0, result.output
    assert _lines(result, "FAIL") == []
    output = result.output
    assert "ok    settings loaded from config/server.yaml" in output
    assert "answers, version" in output
    assert "menu(s) in ivr_menus valid" in output
    assert "built and current" in output
    assert "is free" in output
    assert "nothing will be dialled" in output  # no ami_host: a warning, not a failure


def test_a_broken_menu_fails_with_its_file_and_line(tmp_path: Path) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "main.yaml").write_text(
        "menu: main\nstart: welcome\nnodes:\n  welcome:\n    type: menu\n"
        "    greeting: ivr/hello\n    options:\n      '1': sles\n  sales: {type: hangup}\n"
    )
    settings = tmp_path / "server.yaml"
    settings.write_text(f"menus_dir: {menus}\n")
    result = _doctor("--config", str(settings))
    assert result.exit_code == 1, result.output
    failed = _lines(result, "FAIL")
    assert any(f"{menus / 'main.yaml'}:8:" in line and "ivr validate" in line for line in failed)


def test_unreachable_redis_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://:s3cret@127.0.0.1:{_free_port()}/0")
    result = _doctor()
    assert result.exit_code == 1
    (line,) = [line for line in _lines(result, "FAIL") if "Redis" in line]
    assert "does not answer" in line and "REDIS_URL" in line
    assert "redis://:***@127.0.0.1" in line
    assert "s3cret" not in result.output


@pytest.fixture
def ami_port() -> Iterator[int]:
    """An AMI peer on its own loop in a thread: the CLI runs its own reactor loop."""
    with peer_in_thread(AmiPeer(username="ivr", secret="s3cret", time_scale=0.01)) as port:
        yield port


def test_ami_login_with_the_right_secret(monkeypatch: pytest.MonkeyPatch, ami_port: int) -> None:
    monkeypatch.setenv("IVR_AMI_HOST", "127.0.0.1")
    monkeypatch.setenv("IVR_AMI_PORT", str(ami_port))
    monkeypatch.setenv("IVR_AMI_SECRET", "s3cret")
    result = _doctor()
    assert result.exit_code == 0, result.output
    assert f"ok    AMI ivr@127.0.0.1:{ami_port}: logged in (AMI version" in result.output


def test_a_wrong_ami_secret_fails_in_plain_words(
    monkeypatch: pytest.MonkeyPatch, ami_port: int
) -> None:
    monkeypatch.setenv("IVR_AMI_HOST", "127.0.0.1")
    monkeypatch.setenv("IVR_AMI_PORT", str(ami_port))
    monkeypatch.setenv("IVR_AMI_SECRET", "wrong-secret")
    result = _doctor()
    assert result.exit_code == 1
    (line,) = [line for line in _lines(result, "FAIL") if "AMI" in line]
    assert "refused the login" in line
    assert "the secret in IVR_AMI_SECRET does not match manager.conf [ivr]" in line
    assert "wrong-secret" not in result.output


def test_production_with_the_placeholder_secret_fails(
    monkeypatch: pytest.MonkeyPatch, ami_port: int
) -> None:
    monkeypatch.setenv("IVR_AMI_HOST", "127.0.0.1")
    monkeypatch.setenv("IVR_AMI_PORT", str(ami_port))
    monkeypatch.setenv("IVR_AMI_SECRET", "CHANGE_ME")
    monkeypatch.setenv("IVR_PRODUCTION", "true")
    result = _doctor()
    assert result.exit_code == 1
    # the settings themselves refuse it now: doctor reports that, in plain words
    assert any("CHANGE_ME" in line and "AMI secret" in line for line in _lines(result, "FAIL"))


def test_a_broadcast_trigger_needs_a_long_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broadcast = tmp_path / "broadcast.yaml"
    broadcast.write_text(f"http: 127.0.0.1:{_free_port()}\n")
    settings = tmp_path / "server.yaml"
    settings.write_text(f"broadcast_file: {broadcast}\n")
    monkeypatch.setenv("IVR_BROADCAST_TOKEN", "short")
    result = _doctor("--config", str(settings))
    assert result.exit_code == 1
    assert any("IVR_BROADCAST_TOKEN" in line for line in _lines(result, "FAIL"))
    monkeypatch.setenv("IVR_BROADCAST_TOKEN", "x" * 32)
    assert _doctor("--config", str(settings)).exit_code == 0


def test_an_open_fastagi_port_without_allowed_peers_is_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IVR_HOST", "0.0.0.0")
    result = _doctor()
    assert result.exit_code == 0, result.output
    assert any("allowed_peers" in line for line in _lines(result, "warn"))


def test_a_port_taken_by_another_program_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("IVR_PORT", str(busy.getsockname()[1]))
        result = _doctor()
    assert result.exit_code == 1
    assert any("taken by another program" in line for line in _lines(result, "FAIL"))


def test_invalid_settings_are_one_fail_line(tmp_path: Path) -> None:
    settings = tmp_path / "server.yaml"
    settings.write_text("max_calls: 0\n")
    result = _doctor("--config", str(settings))
    assert result.exit_code == 1
    assert result.output.startswith("FAIL  settings:") and "max_calls" in result.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://ivr:p@ss@host/1", "redis://ivr:***@host/1"),
        ("rediss://host/0?password=s3cret&db=2", "rediss://host/0?password=***&db=2"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("https://crm.example/events?token=abc", "https://crm.example/events?token=***"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


def test_the_serve_banner_masks_the_redis_password() -> None:
    banner = _banner("127.0.0.1", 4573, "redis://:s3cret@redis.example:6379/0", ["main"], "-")
    assert "Redis: redis://:***@redis.example:6379/0" in banner
    assert "s3cret" not in banner


def test_production_settings_refuse_the_placeholder_ami_secret() -> None:
    from fastagi.config import ConfigError, load_settings

    placeholder = {"production": True, "ami_host": "127.0.0.1", "ami_secret": "CHANGE_ME"}
    with pytest.raises(ConfigError, match="real AMI secret"):
        load_settings(environ={}, overrides=placeholder)
    with pytest.raises(ConfigError, match="real AMI secret"):
        load_settings(environ={}, overrides={**placeholder, "ami_secret": ""})
    # outside production the demo keeps working with it, and a real one is taken
    assert not load_settings(environ={}, overrides={**placeholder, "production": False}).production
    real = load_settings(environ={}, overrides={**placeholder, "ami_secret": "9f86d081884c7d65"})
    assert real.ami_secret == "9f86d081884c7d65"
