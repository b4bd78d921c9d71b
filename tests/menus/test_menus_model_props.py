"""Property tests: option maps and targets survive a round trip through the models."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fastagi.menus import Menu, MenuNode, Target

option_keys = st.from_regex(r"[0-9*#]{1,32}", fullmatch=True)
node_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
menu_names = st.from_regex(r"[a-z0-9_-]{1,64}", fullmatch=True)
targets = st.one_of(
    node_ids.map(lambda n: Target(node=n)),
    menu_names.map(lambda m: Target(menu=m)),
    st.tuples(menu_names, node_ids).map(lambda mn: Target(menu=mn[0], node=mn[1])),
)


def menu_with(options: dict[Any, Any]) -> dict[str, Any]:
    return {
        "menu": "main",
        "start": "m",
        "nodes": {"m": {"type": "menu", "greeting": "g", "options": options}},
    }


@given(targets)
def test_target_text_round_trip(target: Target) -> None:
    assert Target.parse(str(target)) == target


@given(st.dictionaries(option_keys, targets, max_size=12))
def test_option_maps_round_trip(options: dict[str, Target]) -> None:
    raw = {key: str(target) for key, target in options.items()}
    menu = Menu.model_validate(menu_with(raw))
    node = menu.nodes["m"]
    assert isinstance(node, MenuNode)
    assert dict(node.options) == options
    assert Menu.model_validate(menu.model_dump(mode="json")) == menu
    assert Menu.model_validate_json(menu.model_dump_json()) == menu


@given(st.dictionaries(st.integers(0, 10**9), node_ids.map(str), max_size=8))
def test_integer_keys_become_text(options: dict[int, str]) -> None:
    node = Menu.model_validate(menu_with(options)).nodes["m"]
    assert isinstance(node, MenuNode)
    assert set(node.options) == {str(key) for key in options}


@given(st.integers(0, 999), node_ids)
def test_same_digit_as_int_and_text_is_refused(key: int, target: str) -> None:
    with pytest.raises(ValidationError, match="given twice"):
        Menu.model_validate(menu_with({key: target, str(key): target}))


@given(st.text(min_size=1, max_size=8).filter(lambda k: not all(c in "0123456789*#" for c in k)))
def test_non_dtmf_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        Menu.model_validate(menu_with({key: "m"}))
