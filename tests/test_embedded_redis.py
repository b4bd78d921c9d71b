"""The installation's embedded Redis: shared by every `ivr` command, stopped by its last user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from fastagi.storage import EmbeddedRedis, find_server_binary, redis_url


def _pid(state: Path) -> int | None:
    try:
        pid = int((state / "redis.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def test_a_real_server_binary_is_found() -> None:
    binary = find_server_binary()
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert "v=" in out.stdout


def test_shared_between_users_and_stopped_by_the_last(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with redis_url(None, state) as url:
        assert url == f"unix://{state / 'redis.sock'}"
        redis.Redis.from_url(url).set("k", "v1")
        server_pid = _pid(state)
        assert server_pid
        # Another process (another `ivr` command) uses the same server meanwhile.
        code = (
            "import sys, redis; from pathlib import Path;"
            "from fastagi.storage import redis_url;"
            "cm = redis_url(None, Path(sys.argv[1]));"
            "url = cm.__enter__();"
            "print(redis.Redis.from_url(url).get('k').decode());"
            "cm.__exit__(None, None, None)"
        )
        other = subprocess.run(
            [sys.executable, "-c", code, str(state)], capture_output=True, text=True, check=True
        )
        assert other.stdout.strip() == "v1"
        assert _pid(state) == server_pid, "the other user must not stop a server in use"
    assert _pid(state) is None, "the last user stops the server"
    # The data outlives the server (append-only file in the state directory).
    with redis_url(None, state) as url:
        assert redis.Redis.from_url(url).get("k") == b"v1"


def test_configured_url_is_used_as_is(tmp_path: Path) -> None:
    with redis_url("redis://10.9.9.9:6379/0", tmp_path) as url:
        assert url == "redis://10.9.9.9:6379/0"
    assert not (tmp_path / "redis.pid").exists()


def test_socket_is_private(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "s")
    server.acquire()
    try:
        mode = (tmp_path / "s" / "redis.sock").stat().st_mode & 0o777
        assert mode == 0o700
    finally:
        server.release()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_redis_keeps_off_the_core_a_pinned_server_was_given(tmp_path: Path) -> None:
    """Redis woken on the server's own core takes that core's time from the calls."""
    allowed = os.sched_getaffinity(0)
    server_core = min(allowed)
    os.sched_setaffinity(0, {server_core})  # as `taskset -c` or systemd CPUAffinity= would
    try:
        server = EmbeddedRedis(tmp_path / "pinned")
        server.acquire()
    finally:
        os.sched_setaffinity(0, allowed)
    try:
        redis_cores = os.sched_getaffinity(_pid(tmp_path / "pinned") or 0)
        assert server_core not in redis_cores and redis_cores
    finally:
        server.release()


def test_redis_of_an_unpinned_server_may_use_every_core(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "free")
    server.acquire()
    try:
        assert os.sched_getaffinity(_pid(tmp_path / "free") or 0) == os.sched_getaffinity(0)
    finally:
        server.release()
