"""Phone numbers, withheld caller IDs, profile field rules, key names: pure functions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastagi.callers import CallerProfile, InvalidField, InvalidNumber, Keys
from fastagi.callers.fields import clean_fields, normalize_tags
from fastagi.callers.importer import neutralize_formula, restore_formula
from fastagi.callers.phone import is_anonymous, is_e164, normalize

E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("8 916 123-45-67", "RU", "+79161234567"),
        ("+7 916 1234567", "RU", "+79161234567"),
        ("79161234567", "RU", "+79161234567"),
        ("(916) 123-45-67", "RU", "+79161234567"),
        ("9161234567", "RU", "+79161234567"),
        ("+7 (916) 123-45-67", "RU", "+79161234567"),
        ("  8-916-123-45-67  ", "RU", "+79161234567"),
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        ("+44 20 7946 0958", "RU", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+1 212 555 0123", "RU", "+12125550123"),
        ("(212) 555-0123", "US", "+12125550123"),
        ("212.555.0123", "us", "+12125550123"),
        ("+79161234567", "GB", "+79161234567"),
    ],
)
def test_normalize(raw: str, region: str, expected: str) -> None:
    assert normalize(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "12345",
        "+7 000 000 00 00",
        "+7 916 123 45 6",
        "+7 916 123 45 678 9",
        "+999 123456",
        "++79161234567",
        "1-800-FLOWERS",
        "+7 916 123-45-67 ext. 5",
        "+79161234567\r\nFLUSHALL",
        "+7916*",
        "caller:+79161234567",
        "８９１６１２３４５６７",  # fullwidth digits
        "9" * 10_000,
    ],
)
def test_garbage_is_an_invalid_number(raw: str) -> None:
    with pytest.raises(InvalidNumber, match="not a phone number") as caught:
        normalize(raw)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert len(message) < 200 and "\r" not in message and "\n" not in message


def test_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidNumber):
        normalize("9161234567", "XX")


@pytest.mark.parametrize(
    "raw",
    [
        *("unknown", "anonymous", "Anonymous", "ANONYMOUS", "restricted", "private", "Withheld"),
        *("", "  ", "0", "00000", "<unknown>", "*", "caller:*", "\r\n", "Анонимный"),
        "sip:anonymous",
    ],
)
def test_withheld_caller_ids_are_anonymous(raw: str) -> None:
    assert is_anonymous(raw)


@pytest.mark.parametrize("raw", ["+79161234567", "8 916 123-45-67", "201", "+0 1"])
def test_numbers_are_not_anonymous(raw: str) -> None:
    assert not is_anonymous(raw)


@given(st.text(max_size=60))
def test_normalize_returns_e164_or_raises(raw: str) -> None:
    try:
        number = normalize(raw)
    except InvalidNumber:
        return
    assert E164.fullmatch(number) and is_e164(number)


def test_keys_live_under_one_prefix_and_take_only_e164() -> None:
    keys = Keys("crm:")
    assert keys.caller("+79161234567") == "crm:caller:+79161234567"
    assert keys.calls("+79161234567") == "crm:caller:+79161234567:calls"
    assert keys.history("+79161234567") == "crm:caller:+79161234567:history"
    assert keys.caller_tickets("+79161234567") == "crm:caller:+79161234567:tickets"
    assert keys.ticket(42) == keys.ticket("42") == "crm:ticket:42"
    assert keys.ticket_seq() == "crm:ticket:seq"
    assert Keys().caller("+79161234567") == "ivr:caller:+79161234567"
    for bad in ["", "anonymous", "*", "+7916*", "79161234567", "+79161234567:x"]:
        with pytest.raises(ValueError):
            keys.caller(bad)
    for bad_id in ["0", "-1", "1*", "x", ""]:
        with pytest.raises(ValueError):
            keys.ticket(bad_id)
    for bad_prefix in ["a*", "a?", "[a]", "a b", "a\n"]:
        with pytest.raises(ValueError):
            Keys(bad_prefix)
    assert keys.number_of("crm:caller:+79161234567") == "+79161234567"
    assert keys.number_of("crm:caller:+79161234567:calls") is None
    assert keys.number_of("ivr:caller:+79161234567") is None


def test_profile_fields_are_validated() -> None:
    to_set, to_delete = clean_fields(
        {
            "first_name": "  Ivan ",
            "language": "RU",
            "tags": "VIP; wholesale, vip",
            "email": "Ivan.Petrov@Example.COM",
            "manager": "201",
            "menu": "personal_ivanov",
            "balance": "-1500",
            "last_name": "",
        }
    )
    assert to_set == {
        "first_name": "Ivan",
        "language": "ru",
        "tags": "vip,wholesale",
        "email": "Ivan.Petrov@example.com",
        "manager": "201",
        "menu": "personal_ivanov",
        "balance": "-1500",
    }
    assert to_delete == ("last_name",)


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"language": "xx"}, "language"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "a b@example.com"}, "email"),
        ({"tags": "vip,gold*"}, "tags"),
        ({"manager": "201&Dial(SIP/evil)"}, "manager"),
        ({"menu": "../etc/passwd"}, "menu"),
        ({"Balance": "1"}, "custom field name"),
        ({"x" * 41: "1"}, "custom field name"),
        ({"note": "two\nlines"}, "line break"),
        ({"note": "x" * 1001}, "longer than 1000"),
        ({"first_name": "x" * 101}, "longer than 100"),
        ({"call_count": "99"}, "kept by the directory"),
        ({"open_tickets": "0"}, "kept by the directory"),
    ],
)
def test_bad_fields_are_refused(fields: dict[str, str], complaint: str) -> None:
    with pytest.raises(InvalidField, match=complaint):
        clean_fields(fields)


def test_tags_are_normalised() -> None:
    assert normalize_tags(" Gold ,vip;VIP  blacklist") == "blacklist,gold,vip"
    assert normalize_tags(" , ") == ""
    profile = CallerProfile("+79161234567", fields={"tags": "vip,gold"})
    assert profile.tags == {"vip", "gold"}


@given(st.text(max_size=20))
def test_formula_neutralising_is_reversible(value: str) -> None:
    cell = neutralize_formula(value)
    assert restore_formula(cell) == value
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_formulas_get_an_apostrophe() -> None:
    assert neutralize_formula('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert neutralize_formula("+79161234567") == "'+79161234567"
    assert neutralize_formula("-1500") == "'-1500"
    assert neutralize_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralize_formula("\tx") == "'\tx"
    assert neutralize_formula("Ivan") == "Ivan"
    assert neutralize_formula("'=x") == "''=x"
