"""The servers under test as child processes: spawn, pin to a CPU, wait for the port, measure.

Everything is read from /proc (Linux only): the listening state from
/proc/net/tcp (so waiting for the port never opens a connection the server
would take for a call), CPU seconds from /proc/<pid>/stat, memory from
/proc/<pid>/status.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ChildServer",
    "Memory",
    "ServerStartError",
    "free_port",
    "listening_ports",
    "our_active_calls",
    "process_cpu_seconds",
    "raise_own_fd_limit",
]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_TCP_LISTEN = "0A"


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds process `pid` (all its threads) has run so far (OSError: it is gone).

    From the scheduler's nanosecond counters (/proc/<pid>/task/*/schedstat);
    falls back to utime + stime in clock ticks (10 ms steps) without them.
    """
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/schedstat").read_text()
                total += int(text.split()[0])
    except OSError:
        total = 0
    if total:
        return total / 1e9
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rpartition(")")[2].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _cores_of(pid: int) -> set[int]:
    """The CPUs process `pid` may run on (empty when it is gone)."""
    try:
        return set(os.sched_getaffinity(pid))
    except OSError:
        return set()


class ServerStartError(Exception):
    """A server under test exited or did not listen in time; the message has its log tail."""


@dataclass(frozen=True)
class Memory:
    """Resident memory of a process, in bytes: now (VmRSS) and its peak (VmHWM)."""

    rss: int
    hwm: int


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state on this host (IPv4 and IPv6), from /proc/net."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _TCP_LISTEN:
                ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


def raise_own_fd_limit(wanted: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (capped by the hard limit).

    Returns the previous (soft, hard) so the caller can restore it.
    """
    previous = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = previous
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return previous


@dataclass
class ChildServer:
    """One server under test, started by `start()` and stopped by `stop()`."""

    name: str
    argv: Sequence[str]
    port: int
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    cpu: int | None = None
    fd_limit: int = 65536
    #: Where the server's embedded Redis writes its pid (our server: its CPU is measured too).
    redis_pid_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    started_in: float = field(default=0.0, init=False)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Spawn, pin to `cpu`, raise its fd limit, and wait until the port listens.

        Raises ServerStartError when the process exits first or the port does
        not listen within `timeout` seconds.
        """
        begin = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(self.argv),
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # Pinned and raised from here, not in a preexec_fn: the child has only
        # started its interpreter by now, so its later threads are pinned too
        # (the embedded Redis of `ivr serve` moves itself to the other cores).
        if self.cpu is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self.pid, {self.cpu})
        with contextlib.suppress(OSError, ValueError):
            _, hard = resource.prlimit(self.pid, resource.RLIMIT_NOFILE)
            limit = self.fd_limit if hard == resource.RLIM_INFINITY else min(self.fd_limit, hard)
            resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (limit, hard))
        deadline = begin + timeout
        while self.port not in listening_ports():
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with status {self.process.returncode} before "
                    f"listening on port {self.port}:\n{self.log_tail()}"
                )
            if time.perf_counter() > deadline:
                self.stop()
                raise ServerStartError(
                    f"{self.name} did not listen on port {self.port} within {timeout:.0f} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.02)
        self.started_in = time.perf_counter() - begin

    def affinity(self) -> set[int]:
        """The CPUs the server may run on (as the kernel reports it)."""
        return _cores_of(self.pid)

    def redis_affinity(self) -> set[int]:
        """The CPUs the embedded Redis may run on (empty: it has none)."""
        pid = self.redis_pid()
        return set() if pid is None else _cores_of(pid)

    def cpu_seconds(self) -> float:
        """CPU seconds the server process (all its threads) has run so far."""
        return process_cpu_seconds(self.pid)

    def redis_pid(self) -> int | None:
        """The pid of the server's embedded Redis, when it has one and it runs."""
        if self.redis_pid_file is None:
            return None
        try:
            pid = int(self.redis_pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def redis_cpu_seconds(self) -> float | None:
        """CPU seconds the embedded Redis has run so far (None: it has none)."""
        pid = self.redis_pid()
        if pid is None:
            return None
        try:
            return process_cpu_seconds(pid)
        except OSError:  # it stopped meanwhile
            return None

    def memory(self) -> Memory:
        """VmRSS and VmHWM of the server process."""
        values: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
        return Memory(rss=values.get("VmRSS", 0), hwm=values.get("VmHWM", 0))

    def open_fds(self) -> int:
        """How many file descriptors the server holds open (sockets included)."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return -1

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait up to `timeout` s, then SIGKILL; return the exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def our_active_calls(state_dir: Path, port: int) -> int | None:
    """What our server says itself of its calls (`ivr status` over its control socket in
    `state_dir`): a cross-check of what the generator holds. None if it cannot be asked."""
    from fastagi.server.control import ControlError, control_socket_path, send_control

    try:
        answer = send_control(control_socket_path(state_dir, port), "status", timeout=10.0)
    except ControlError:
        return None
    value = answer.get("active_calls")
    return value if isinstance(value, int) else None
