"""The shipped server as the soak, spike and hold benches run it: `ivr serve` on its defaults.

Its embedded Redis lives in a private state dir; there is no REDIS_URL and
no config file (cwd is a temp dir), so caller lookups and the event stream
are on, as an installation runs. `env` adds settings (IVR_MAX_CALLS, ...).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from fastagi.bench._procs import ChildServer, free_port
from fastagi.bench.runner import child_env, default_menus_dir, ivr_argv

__all__ = ["shipped_server"]


@contextlib.contextmanager
def shipped_server(
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    cpu: int | None = None,
    wrapper: Sequence[str] = (),
    start_timeout: float = 30.0,
) -> Iterator[ChildServer]:
    """Start our server on a free port, yield it, stop it (SIGTERM) and forget its state.

    `wrapper` goes before the command (a tool that runs the server, e.g. valgrind).
    """
    with tempfile.TemporaryDirectory(prefix=f"ivr-{name}-") as work:
        workdir = Path(work)
        state = workdir / "state"
        state.mkdir()
        port = free_port()
        settings = {"IVR_STATE_DIR": str(state), "IVR_MENUS_DIR": str(default_menus_dir())}
        child = ChildServer(
            name="ours",
            argv=[*wrapper, *ivr_argv(), "serve", "--port", str(port)],
            port=port,
            env=child_env({**settings, **(env or {})}),
            cwd=workdir,
            log_path=workdir / "ours.log",
            cpu=cpu,
        )
        child.start(timeout=start_timeout)
        try:
            yield child
        finally:
            child.stop()
