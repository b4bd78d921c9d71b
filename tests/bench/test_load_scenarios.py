"""What the load generator counts as a call done right, and the demo mix it places."""

from __future__ import annotations

from fastagi.bench._load import Scenario
from fastagi.bench.mix import DEMO_MIX
from fastagi.testing import CallResult


def _ended(agi_status: str, **variables: str) -> CallResult:
    result = CallResult(uniqueid="1.1", channel="PJSIP/test", server_closed=True)
    result.agi_status = agi_status
    result.variables.update(variables)
    return result


def test_a_call_the_server_closed_is_done_right_by_default() -> None:
    plain = Scenario("main", "+79161234567", "2,2")
    assert plain.problem(_ended("SUCCESS", IVRSTATUS="SUCCESS")) is None
    assert plain.problem(_ended("HANGUP")) == "AGISTATUS=HANGUP"


def test_a_mix_call_may_end_with_a_hangup_but_never_with_a_failed_script() -> None:
    mixed = Scenario("main", "+79161234567", "", agi_statuses=frozenset({"SUCCESS", "HANGUP"}))
    assert mixed.problem(_ended("HANGUP")) is None
    assert mixed.problem(_ended("SUCCESS", IVRSTATUS="FAILED")) == "IVRSTATUS=FAILED"
    assert mixed.problem(_ended("SUCCESS", IVRSTATUS="NOTFOUND")) == "IVRSTATUS=NOTFOUND"
    assert mixed.problem(_ended("FAILURE")) == "AGISTATUS=FAILURE"


def test_the_demo_mix_has_a_new_number_for_every_call() -> None:
    new = [s for s in DEMO_MIX if "{n" in s.callerid]
    assert len(new) == 1
    numbers = {new[0].callerid_for(index) for index in range(1000)}
    assert len(numbers) == 1000
    assert all(n.startswith("+7926") and len(n) == 12 for n in numbers)
    fixed = [s.callerid_for(7) for s in DEMO_MIX if s not in new]
    assert len(set(fixed)) == len(fixed) == len(DEMO_MIX) - 1
