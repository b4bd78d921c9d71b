"""The demo call centre's traffic for the soak and spike benches: a mix of callers and paths.

Calls take turns over the scenarios below, every caller but the new ones
loaded from the demo (`ivr callers seed-demo`: ivr_menus/callers.csv and
its open ticket), so each kind of call does its real work: a lookup that
finds a VIP, a debtor, a blacklisted number, a personal menu, an open
ticket; a new number becoming a contact; the support queue (or its
voicemail after hours), a transfer to a manager, the operator. The
emulator runs the shipped dialplan, so the menus' GOSUBs into the queue,
voicemail and transfer subroutines run Queue, VoiceMail and Dial there.

A call counts as done right when the server ends it cleanly: no error, not
stuck, the socket closed by the server, AGISTATUS SUCCESS or HANGUP (the
caller leaving after a message, the blocked notice), and no IVRSTATUS of
FAILED or NOTFOUND.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Final

from fastagi.bench._load import Scenario, new_emulator
from fastagi.bench._procs import ChildServer
from fastagi.bench.runner import ivr_argv
from fastagi.testing import AsteriskEmulator, Dialplan

__all__ = ["DEMO_MIX", "WORKLOADS", "prepare_workload", "workload_env"]

_REPO: Final = Path(__file__).resolve().parents[2]

_ENDED: Final = frozenset({"SUCCESS", "HANGUP"})


def _call(callerid: str, digits: str) -> Scenario:
    return Scenario("main", callerid, digits, agi_statuses=_ENDED)


#: One of each kind of call of the demo, in the order they take turns.
DEMO_MIX: Final = (
    _call("+79161000007", "2,2"),  # a regular caller asks for billing
    _call("+79161000001", "1"),  # VIP: put through to her manager (Dial)
    _call("+7926{n:07d}", "0"),  # a new number: becomes a contact, asks for the operator
    _call("+79161000003", "2,1,-"),  # a debtor: support queue, or voicemail after hours
    _call("+79161000004", "3"),  # an open ticket: its status is read out
    _call("+79161000005", ""),  # blacklisted: the notice, and the call ends
    _call("+79161000006", ""),  # a personal menu: straight to his manager
    _call("+79161000002", "2"),  # VIP by lifetime value: priority support
)

#: The benches' workloads: the demo mix, or the single call of `ivr bench`.
WORKLOADS: Final = {
    "demo-mix": DEMO_MIX,
    "single": (Scenario("main", "+79160000077", "2,2"),),
}


def workload_env(workload: str) -> dict[str, str]:
    """Settings the server needs for `workload`: the demo's segment rules and hours."""
    if workload != "demo-mix":
        return {}
    return {
        "IVR_SEGMENTS_FILE": str(_REPO / "config" / "segments.yaml"),
        "IVR_HOURS_FILE": str(_REPO / "config" / "hours.yaml"),
    }


def prepare_workload(
    child: ChildServer, workload: str
) -> tuple[AsteriskEmulator, tuple[Scenario, ...]]:
    """The emulator and scenarios of `workload`; the demo mix seeds the demo's callers first."""
    scenarios = WORKLOADS[workload]
    if workload != "demo-mix":
        return new_emulator(), scenarios
    _seed_demo_callers(child)
    shipped = Dialplan.load(_REPO / "asterisk-conf" / "extensions.conf")
    return new_emulator(dialplan=shipped), scenarios


def _seed_demo_callers(child: ChildServer) -> None:
    """Load the demo's callers into the server's Redis, as an admin would."""
    done = subprocess.run(
        [*ivr_argv(), "callers", "seed-demo"],
        env=dict(child.env),
        cwd=child.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ivr callers seed-demo failed: {done.stderr.strip()}")
