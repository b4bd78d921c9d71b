"""Extension patterns matched the Asterisk way."""

from __future__ import annotations

import pytest

from fastagi.asterisk.patterns import PatternError, extension_matches, pattern_regex


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [
        ("_X.", "5", False),  # `.` needs at least one more character
        ("_X.", "55", True),
        ("_X!", "5", True),  # `!` takes zero or more
        ("_X!", "", False),
        ("_XXX", "012", True),
        ("_XXX", "01", False),
        ("_ZXX", "012", False),
        ("_ZXX", "112", True),
        ("_NXX", "112", False),
        ("_NXX", "212", True),
        ("_nxx", "212", True),  # class letters are case-insensitive
        ("_[2-4]XX", "301", True),
        ("_[2-4]XX", "501", False),
        ("_[13-5a]X", "a1", True),
        ("_[13-5a]X", "21", False),
        ("_[13-5a]X", "41", True),
        ("_1-800-NXX", "1800234", True),  # dashes are separators
        ("_1800NXX", "1-800-234", True),
        ("_+7X.", "+79161234567", True),
        ("_+7X.", "79161234567", False),
        ("_s.", "start", True),  # other letters are literal
        ("s", "s", True),
        ("s", "S", False),
        ("fax", "fax", True),
        ("100/_2XX", "100", True),  # a caller-id filter does not change the number matched
        ("_2XX", "_2XX", True),  # a pattern named in a reference means that extension
        ("_2XX", "_NXX", False),
        ("_2XX", "2xx", False),
    ],
)
def test_extension_matches(name: str, number: str, expected: bool) -> None:
    assert extension_matches(name, number) is expected


def test_regex_for_a_pattern() -> None:
    assert pattern_regex("_N[0-3].").pattern == "[2-9][0-3].+"


@pytest.mark.parametrize("name", ["_1[23", "_1[]", "_[9-1]"])
def test_broken_patterns_raise(name: str) -> None:
    with pytest.raises(PatternError):
        pattern_regex(name)
