"""Which menu a caller gets, and caller data in prompt names and values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastagi.callers.profile import CallerProfile
from fastagi.callers.segments import SegmentMatch
from fastagi.personalise import PATH_SAFE, TEXT_SAFE, caller_variables, choose_menu, render

MENUS = {"main", "vip", "personal_ivanov"}
VIP = SegmentMatch("vip", 1, "vip", ("tag 'vip' present",))
REGULAR = SegmentMatch("regular", 5, None, ("always",))


def profile(**fields: str) -> CallerProfile:
    return CallerProfile(number="+79161234567", fields=fields)


def test_personal_menu_wins_over_the_segment() -> None:
    choice = choose_menu("main", profile(menu="personal_ivanov"), VIP, MENUS)
    assert (choice.menu, choice.layer) == ("personal_ivanov", "personal")


def test_segment_menu_wins_over_the_requested_one() -> None:
    assert choose_menu("main", profile(), VIP, MENUS).layer == "segment"
    assert choose_menu("main", profile(), VIP, MENUS).menu == "vip"


def test_default_when_no_layer_applies() -> None:
    choice = choose_menu("main", profile(), REGULAR, MENUS)
    assert (choice.menu, choice.layer) == ("main", "default")


def test_a_missing_personal_or_segment_menu_is_skipped() -> None:
    stale = SegmentMatch("vip", 1, "vip_old", ())
    choice = choose_menu("main", profile(menu="gone"), stale, MENUS)
    assert (choice.menu, choice.layer) == ("main", "default")


def test_render_fills_caller_fields() -> None:
    variables = caller_variables(profile(first_name="Ivan"), VIP)
    assert render("names/{caller.first_name}", variables, PATH_SAFE) == "names/Ivan"
    assert render("Hello, {caller.first_name}", variables, TEXT_SAFE) == "Hello, Ivan"
    assert variables["segment"] == "vip"
    assert variables["caller.number"] == "+79161234567"


@pytest.mark.parametrize("name", ["", "../../etc/passwd", "Ivan/..", "a" * 65, "Иван\n"])
def test_render_refuses_empty_or_unsafe_values_for_file_names(name: str) -> None:
    variables = caller_variables(profile(first_name=name), REGULAR)
    assert render("names/{caller.first_name}", variables, PATH_SAFE) is None


def test_render_without_placeholders_is_the_text_itself() -> None:
    assert render("ivr/main-greeting", {}, PATH_SAFE) == "ivr/main-greeting"


@given(st.text(max_size=200))
def test_rendered_file_names_never_escape_their_folder(value: str) -> None:
    variables = caller_variables(profile(first_name=value), REGULAR)
    out = render("names/{caller.first_name}", variables, PATH_SAFE)
    assert out is None or ("/" not in out[len("names/") :] and ".." not in out)


def test_caller_variables_are_the_non_empty_fields_the_number_and_the_segment() -> None:
    variables = caller_variables(profile(first_name="Ivan", email=""), VIP)
    assert dict(variables) == {
        "caller.first_name": "Ivan",
        "caller.number": "+79161234567",
        "segment": "vip",
    }
    assert len(variables) == 3
    assert variables.get("caller.email") is None and "caller.last_name" not in variables
