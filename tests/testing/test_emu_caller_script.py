"""The scripted caller: steps, parsing, validation."""

from __future__ import annotations

import pytest

from fastagi.testing import CallerScript, HangUp, Press, Silence


def test_parse_presses_silence_and_hangup() -> None:
    assert CallerScript.parse("1,2").steps == (Press("1"), Press("2"))
    assert CallerScript.parse("1,-,2").steps == (Press("1"), Silence(), Press("2"))
    assert CallerScript.parse("1, h").steps == (Press("1"), HangUp(at_window=True))
    assert CallerScript.parse("123#,H").steps == (Press("123#"), HangUp(at_window=True))
    assert CallerScript.parse("").steps == ()


def test_parse_delays() -> None:
    script = CallerScript.parse("1@2.5,h@10", idle_hangup=None)
    assert script.steps == (Press("1", after=2.5), HangUp(after=10.0, at_window=True))
    assert script.idle_hangup is None


@pytest.mark.parametrize("text", ["1,,2", "x", "1@soon", "-@1", "12a"])
def test_parse_rejects_bad_tokens(text: str) -> None:
    with pytest.raises(ValueError):
        CallerScript.parse(text)


def test_steps_validate_themselves() -> None:
    with pytest.raises(ValueError):
        Press("")
    with pytest.raises(ValueError):
        Press("1", after=-1)
    with pytest.raises(ValueError):
        HangUp(after=-0.5)
    with pytest.raises(TypeError):
        CallerScript(["1"])  # type: ignore[list-item]


def test_scripts_are_values() -> None:
    assert CallerScript([Press("1")]) == CallerScript((Press("1"),))
    assert CallerScript().steps == ()
    assert CallerScript().idle_hangup == 2
