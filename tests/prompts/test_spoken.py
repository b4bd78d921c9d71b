"""Caller values turned into words for TTS: `fastagi.prompts.spoken`.

Concrete cases for every kind in both languages, lenient input that must
still be read, junk that must give None, configuration mistakes that must
raise, and properties over many integers: Russian words read back to the
same number and are Cyrillic only, and "рубль" takes the form Russian
grammar asks for.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastagi.prompts.spoken import CURRENCIES, KINDS, LANGUAGES, spoken


def test_public_sets() -> None:
    assert frozenset({"number", "amount", "date", "time", "digits"}) == KINDS
    assert frozenset({"RUB", "USD", "EUR"}) == CURRENCIES
    assert frozenset({"ru", "en"}) == LANGUAGES


# ---------------------------------------------------------------- number


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "ноль"),
        ("1", "один"),
        ("2", "два"),
        ("5", "пять"),
        ("10", "десять"),
        ("11", "одиннадцать"),
        ("12", "двенадцать"),
        ("19", "девятнадцать"),
        ("21", "двадцать один"),
        ("22", "двадцать два"),
        ("25", "двадцать пять"),
        ("40", "сорок"),
        ("90", "девяносто"),
        ("101", "сто один"),
        ("111", "сто одиннадцать"),
        ("200", "двести"),
        ("999", "девятьсот девяносто девять"),
        ("1000", "одна тысяча"),
        ("1001", "одна тысяча один"),
        ("1200", "одна тысяча двести"),
        ("2000", "две тысячи"),
        ("4000", "четыре тысячи"),
        ("5000", "пять тысяч"),
        ("11000", "одиннадцать тысяч"),
        ("21000", "двадцать одна тысяча"),
        ("22000", "двадцать две тысячи"),
        ("1000000", "один миллион"),
        ("2000000", "два миллиона"),
        ("5000000", "пять миллионов"),
        ("1002003", "один миллион две тысячи три"),
        ("1000000000", "один миллиард"),
        ("2000000001", "два миллиарда один"),
        ("5000000000000", "пять триллионов"),
        ("-5", "минус пять"),
        ("-21000", "минус двадцать одна тысяча"),
        ("-0", "ноль"),
    ],
)
def test_number_ru(value: str, words: str) -> None:
    assert spoken(value, "number", "ru") == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "zero"),
        ("1", "one"),
        ("2", "two"),
        ("5", "five"),
        ("11", "eleven"),
        ("12", "twelve"),
        ("21", "twenty-one"),
        ("22", "twenty-two"),
        ("25", "twenty-five"),
        ("40", "forty"),
        ("101", "one hundred one"),
        ("111", "one hundred eleven"),
        ("1000", "one thousand"),
        ("1001", "one thousand one"),
        ("1200", "one thousand two hundred"),
        ("2000", "two thousand"),
        ("5000", "five thousand"),
        ("21000", "twenty-one thousand"),
        ("1000000", "one million"),
        ("2000000", "two million"),
        ("3000000000", "three billion"),
        ("1000000000000", "one trillion"),
        ("-5", "minus five"),
        ("-0", "zero"),
    ],
)
def test_number_en(value: str, words: str) -> None:
    assert spoken(value, "number", "en") == words


@pytest.mark.parametrize(
    "value",
    [
        "1 000 000",
        "1\u00a0000\u00a0000",
        "1\u202f000\u202f000",
        "1_000_000",
        "1,000,000",
        "  1000000\n",
        "001000000",
    ],
)
def test_number_separators_and_whitespace(value: str) -> None:
    assert spoken(value, "number", "ru") == "один миллион"
    assert spoken(value, "number", "en") == "one million"


def test_typographic_minus_sign() -> None:
    assert spoken("\u22125", "number", "ru") == "минус пять"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "abc",
        "-",
        "--5",
        "5-",
        "+5",
        "- 5",
        "1.2.3",
        "12.0",  # a number is an integer
        "12,5",
        "1,234",  # thousands or a decimal comma: ambiguous, so not read at all
        "12 34",  # groups after the first must have three digits
        "1234 567",
        "1  000",
        "1e3",
        "0x10",
        "\u0663",  # ARABIC-INDIC DIGIT THREE: not an ASCII digit
        "1" * 16,  # more than fifteen integer digits
        "9" * 100,
    ],
)
def test_number_refuses_junk(value: str) -> None:
    assert spoken(value, "number", "ru") is None
    assert spoken(value, "number", "en") is None


def test_fifteen_digits_are_the_limit() -> None:
    assert spoken("9" * 15, "number", "en") == (
        "nine hundred ninety-nine trillion nine hundred ninety-nine billion "
        "nine hundred ninety-nine million nine hundred ninety-nine thousand "
        "nine hundred ninety-nine"
    )
    assert spoken("1" + "0" * 15, "number", "en") is None


# ---------------------------------------------------------------- amount


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1234.50", "одна тысяча двести тридцать четыре рубля пятьдесят копеек"),
        ("1 234,50", "одна тысяча двести тридцать четыре рубля пятьдесят копеек"),
        ("1,234.50", "одна тысяча двести тридцать четыре рубля пятьдесят копеек"),
        ("0", "ноль рублей"),
        ("0.00", "ноль рублей"),
        ("1", "один рубль"),
        ("2", "два рубля"),
        ("4", "четыре рубля"),
        ("5", "пять рублей"),
        ("5.00", "пять рублей"),
        ("11", "одиннадцать рублей"),
        ("12", "двенадцать рублей"),
        ("14", "четырнадцать рублей"),
        ("21", "двадцать один рубль"),
        ("22", "двадцать два рубля"),
        ("25", "двадцать пять рублей"),
        ("111", "сто одиннадцать рублей"),
        ("1000", "одна тысяча рублей"),
        ("1001", "одна тысяча один рубль"),
        ("2000", "две тысячи рублей"),
        ("21000", "двадцать одна тысяча рублей"),
        ("1000000", "один миллион рублей"),
        ("2000000", "два миллиона рублей"),
        ("0.01", "ноль рублей одна копейка"),
        ("0.02", "ноль рублей две копейки"),
        ("0.05", "ноль рублей пять копеек"),
        ("0.11", "ноль рублей одиннадцать копеек"),
        ("0.21", "ноль рублей двадцать одна копейка"),
        ("0.22", "ноль рублей двадцать две копейки"),
        ("3.01", "три рубля одна копейка"),
        ("12,5", "двенадцать рублей пятьдесят копеек"),
        ("12.5", "двенадцать рублей пятьдесят копеек"),
        ("-3", "минус три рубля"),
        ("-0.99", "минус ноль рублей девяносто девять копеек"),
        ("-0.00", "ноль рублей"),
    ],
)
def test_amount_ru_rub(value: str, words: str) -> None:
    assert spoken(value, "amount", "ru") == words
    assert spoken(value, "amount", "ru", currency="RUB") == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1", "один доллар"),
        ("2", "два доллара"),
        ("5", "пять долларов"),
        ("21", "двадцать один доллар"),
        ("2.01", "два доллара один цент"),
        ("5.22", "пять долларов двадцать два цента"),
        ("11.11", "одиннадцать долларов одиннадцать центов"),
        ("1000.05", "одна тысяча долларов пять центов"),
    ],
)
def test_amount_ru_usd(value: str, words: str) -> None:
    assert spoken(value, "amount", "ru", currency="USD") == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1", "одно евро"),
        ("2", "два евро"),
        ("5", "пять евро"),
        ("21.01", "двадцать одно евро один евроцент"),
        ("22.02", "двадцать два евро два евроцента"),
        ("5.05", "пять евро пять евроцентов"),
        ("1001", "одна тысяча одно евро"),
        ("0", "ноль евро"),
    ],
)
def test_amount_ru_eur(value: str, words: str) -> None:
    assert spoken(value, "amount", "ru", currency="EUR") == words


@pytest.mark.parametrize(
    ("value", "currency", "words"),
    [
        ("1234.50", "RUB", "one thousand two hundred thirty-four rubles and fifty kopecks"),
        ("1,234.50", "RUB", "one thousand two hundred thirty-four rubles and fifty kopecks"),
        ("1 234,50", "RUB", "one thousand two hundred thirty-four rubles and fifty kopecks"),
        ("1", "RUB", "one ruble"),
        ("0.01", "RUB", "zero rubles and one kopeck"),
        ("2.02", "RUB", "two rubles and two kopecks"),
        (" 12.5\t", "RUB", "twelve rubles and fifty kopecks"),
        ("0", "RUB", "zero rubles"),
        ("-5", "RUB", "minus five rubles"),
        ("1.01", "USD", "one dollar and one cent"),
        ("2.5", "USD", "two dollars and fifty cents"),
        ("21", "USD", "twenty-one dollars"),
        ("1", "EUR", "one euro"),
        ("3.01", "EUR", "three euros and one cent"),
        ("1000000", "EUR", "one million euros"),
    ],
)
def test_amount_en(value: str, currency: str, words: str) -> None:
    assert spoken(value, "amount", "en", currency=currency) == words


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "1.2.3",
        "12.345",  # three decimals
        "12,345",  # a decimal comma with three decimals, or a thousands comma: refused
        "1.234,50",
        "12.",
        ".5",
        ",5",
        "12.-5",
        "--5",
        "5 rubles",
        "1" * 16 + ".00",
    ],
)
def test_amount_refuses_junk(value: str) -> None:
    for language in sorted(LANGUAGES):
        for currency in sorted(CURRENCIES):
            assert spoken(value, "amount", language, currency=currency) is None


# ---------------------------------------------------------------- date


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-11-27", "двадцать седьмое ноября две тысячи двадцать шестого года"),
        ("2026-11-27T14:05:00", "двадцать седьмое ноября две тысячи двадцать шестого года"),
        ("2026-11-27 14:05:00", "двадцать седьмое ноября две тысячи двадцать шестого года"),
        (
            "2026-11-27T14:05:00.123+03:00",
            "двадцать седьмое ноября две тысячи двадцать шестого года",
        ),
        ("2026-11-27T23:59:59Z", "двадцать седьмое ноября две тысячи двадцать шестого года"),
        ("2000-01-01", "первое января двухтысячного года"),
        ("2001-02-02", "второе февраля две тысячи первого года"),
        ("2003-03-03", "третье марта две тысячи третьего года"),
        ("2010-04-10", "десятое апреля две тысячи десятого года"),
        ("2011-05-11", "одиннадцатое мая две тысячи одиннадцатого года"),
        ("2020-06-20", "двадцатое июня две тысячи двадцатого года"),
        ("2023-07-23", "двадцать третье июля две тысячи двадцать третьего года"),
        ("2024-02-29", "двадцать девятое февраля две тысячи двадцать четвёртого года"),
        ("2040-08-30", "тридцатое августа две тысячи сорокового года"),
        ("2090-09-31", None),  # September has thirty days
        ("2090-10-31", "тридцать первое октября две тысячи девяностого года"),
        ("2100-12-08", "восьмое декабря две тысячи сотого года"),
        ("1999-12-31", "тридцать первое декабря одна тысяча девятьсот девяносто девятого года"),
        ("1900-01-07", "седьмое января одна тысяча девятисотого года"),
        ("3000-01-01", "первое января трёхтысячного года"),
        ("1000-01-01", "первое января тысячного года"),
    ],
)
def test_date_ru(value: str, words: str | None) -> None:
    assert spoken(value, "date", "ru") == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-11-27", "November twenty-seventh, twenty twenty-six"),
        ("2026-11-27T14:05:00", "November twenty-seventh, twenty twenty-six"),
        ("2000-01-01", "January first, two thousand"),
        ("2009-03-02", "March second, two thousand nine"),
        ("2003-04-03", "April third, two thousand three"),
        ("2010-07-04", "July fourth, twenty ten"),
        ("2012-08-12", "August twelfth, twenty twelve"),
        ("2024-02-29", "February twenty-ninth, twenty twenty-four"),
        ("2020-05-20", "May twentieth, twenty twenty"),
        ("2021-06-21", "June twenty-first, twenty twenty-one"),
        ("2030-09-30", "September thirtieth, twenty thirty"),
        ("1999-12-31", "December thirty-first, nineteen ninety-nine"),
        ("1905-10-05", "October fifth, nineteen oh five"),
        ("1900-10-08", "October eighth, nineteen hundred"),
        ("2100-10-09", "October ninth, twenty-one hundred"),
        ("2011-10-11", "October eleventh, twenty eleven"),
    ],
)
def test_date_en(value: str, words: str) -> None:
    assert spoken(value, "date", "en") == words


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "2025-02-29",  # not a leap year
        "2026-13-01",
        "2026-00-10",
        "2026-11-00",
        "2026-11-32",
        "27.11.2026",
        "11/27/2026",
        "20261127",
        "2026-W48-5",
        "2026-11-27X",
        "2026-11-27T",
        "2026-11-27T25:00",
        "0000-01-01",
    ],
)
def test_date_refuses_junk(value: str) -> None:
    assert spoken(value, "date", "ru") is None
    assert spoken(value, "date", "en") is None


# ---------------------------------------------------------------- time


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("14:05", "четырнадцать часов пять минут"),
        ("14:05:59", "четырнадцать часов пять минут"),
        ("00:00", "ноль часов"),
        ("00:30", "ноль часов тридцать минут"),
        ("01:01", "один час одна минута"),
        ("02:02", "два часа две минуты"),
        ("04:04", "четыре часа четыре минуты"),
        ("05:05", "пять часов пять минут"),
        ("09:00", "девять часов"),
        ("9:00", "девять часов"),
        ("11:11", "одиннадцать часов одиннадцать минут"),
        ("12:00", "двенадцать часов"),
        ("21:21", "двадцать один час двадцать одна минута"),
        ("22:22", "двадцать два часа двадцать две минуты"),
        ("23:59", "двадцать три часа пятьдесят девять минут"),
        ("2026-11-27T14:05:00", "четырнадцать часов пять минут"),
        ("2026-11-27 08:45:00+03:00", "восемь часов сорок пять минут"),
    ],
)
def test_time_ru(value: str, words: str) -> None:
    assert spoken(value, "time", "ru") == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("14:05", "two oh five p m"),
        ("00:00", "twelve o'clock a m"),
        ("00:15", "twelve fifteen a m"),
        ("09:00", "nine o'clock a m"),
        ("11:59", "eleven fifty-nine a m"),
        ("12:00", "twelve o'clock p m"),
        ("12:30", "twelve thirty p m"),
        ("13:10", "one ten p m"),
        ("23:59", "eleven fifty-nine p m"),
        ("2026-11-27T07:09:30", "seven oh nine a m"),
    ],
)
def test_time_en(value: str, words: str) -> None:
    assert spoken(value, "time", "en") == words


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "24:00",
        "12:60",
        "12:00:60",
        "12",
        "12:5",
        "123:00",
        "-1:00",
        "12:00 pm",
        "2026-11-27",  # a date with no time of day
        "2026-02-30T10:00",
    ],
)
def test_time_refuses_junk(value: str) -> None:
    assert spoken(value, "time", "ru") is None
    assert spoken(value, "time", "en") is None


# ---------------------------------------------------------------- digits


@pytest.mark.parametrize(
    ("value", "ru", "en"),
    [
        ("123", "один два три", "one two three"),
        ("0", "ноль", "zero"),
        ("007", "ноль ноль семь", "zero zero seven"),
        (
            "+7 (912) 345-67-89",
            "плюс семь девять один два три четыре пять шесть семь восемь девять",
            "plus seven nine one two three four five six seven eight nine",
        ),
        ("+1 800", "плюс один восемь ноль ноль", "plus one eight zero zero"),
        (" 45 ", "четыре пять", "four five"),
    ],
)
def test_digits(value: str, ru: str, en: str) -> None:
    assert spoken(value, "digits", "ru") == ru
    assert spoken(value, "digits", "en") == en


@pytest.mark.parametrize(
    "value",
    ["", "+", "()", "12a", "1+2", "++1", "12.3", "1,2", "1/2", "\u0663", "1" * 31],
)
def test_digits_refuse_junk(value: str) -> None:
    assert spoken(value, "digits", "ru") is None
    assert spoken(value, "digits", "en") is None


# ---------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(
    ("kind", "language", "currency"),
    [
        ("money", "ru", "RUB"),
        ("", "ru", "RUB"),
        ("number", "de", "RUB"),
        ("number", "RU", "RUB"),
        ("amount", "ru", "GBP"),
        ("amount", "en", "rub"),
        ("number", "en", "XXX"),  # checked even when the kind does not use it
    ],
)
def test_unknown_kind_language_or_currency_raise(kind: str, language: str, currency: str) -> None:
    with pytest.raises(ValueError):
        spoken("5", kind, language, currency=currency)
    with pytest.raises(ValueError):
        spoken("not a value", kind, language, currency=currency)


# ---------------------------------------------------------------- properties

# Word values for reading the output back, written from the number names themselves.
_RU_VALUES = {
    "ноль": 0,
    "один": 1,
    "одна": 1,
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
    "одиннадцать": 11,
    "двенадцать": 12,
    "тринадцать": 13,
    "четырнадцать": 14,
    "пятнадцать": 15,
    "шестнадцать": 16,
    "семнадцать": 17,
    "восемнадцать": 18,
    "девятнадцать": 19,
    "двадцать": 20,
    "тридцать": 30,
    "сорок": 40,
    "пятьдесят": 50,
    "шестьдесят": 60,
    "семьдесят": 70,
    "восемьдесят": 80,
    "девяносто": 90,
    "сто": 100,
    "двести": 200,
    "триста": 300,
    "четыреста": 400,
    "пятьсот": 500,
    "шестьсот": 600,
    "семьсот": 700,
    "восемьсот": 800,
    "девятьсот": 900,
}
_RU_SCALE_STEMS = {"тысяч": 10**3, "миллион": 10**6, "миллиард": 10**9}


def read_ru(words: str) -> int:
    """The integer that Russian cardinal `words` name (the scale word closes its group)."""
    total = group = 0
    for word in words.split():
        scale = next((v for stem, v in _RU_SCALE_STEMS.items() if word.startswith(stem)), None)
        if scale is None:
            group += _RU_VALUES[word]
        else:
            total += group * scale
            group = 0
    return total + group


_EN_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_VALUES = {word: value for value, word in enumerate(_EN_ONES)}
_EN_VALUES |= {word: 10 * tens for tens, word in enumerate(_EN_TENS, 2)}
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def read_en(words: str) -> int:
    """The integer that English cardinal `words` name."""
    total = group = 0
    for word in words.replace("-", " ").split():
        if word == "hundred":
            group *= 100
        elif word in _EN_SCALES:
            total += group * _EN_SCALES[word]
            group = 0
        else:
            group += _EN_VALUES[word]
    return total + group


def ruble_form(n: int) -> str:
    """The Russian rule: 11-14 end in "рублей"; otherwise the last digit decides."""
    if n % 100 in (11, 12, 13, 14):
        return "рублей"
    if n % 10 == 1:
        return "рубль"
    if n % 10 in (2, 3, 4):
        return "рубля"
    return "рублей"


_CYRILLIC_WORDS = re.compile(r"[а-яё]+(?: [а-яё]+)*")


@given(st.integers(min_value=0, max_value=10**9))
def test_ru_number_words_are_cyrillic_and_read_back(n: int) -> None:
    words = spoken(str(n), "number", "ru")
    assert words
    assert _CYRILLIC_WORDS.fullmatch(words), words
    assert read_ru(words) == n


@given(st.integers(min_value=0, max_value=10**9))
def test_ru_ruble_form_follows_the_rule(n: int) -> None:
    words = spoken(str(n), "amount", "ru")
    assert words is not None
    number_words, _, noun = words.rpartition(" ")
    assert noun.startswith("рубл")
    assert noun == ruble_form(n)
    assert number_words == spoken(str(n), "number", "ru")


@given(st.integers(min_value=0, max_value=99))
def test_ru_kopeck_agreement(k: int) -> None:
    words = spoken(f"7.{k:02d}", "amount", "ru")
    assert words is not None
    if k == 0:
        assert words == "семь рублей"
        return
    kopecks = words.removeprefix("семь рублей ")
    number_words, _, noun = kopecks.rpartition(" ")
    assert read_ru(number_words) == k
    # копейка is feminine: "один" and "два" never come before it
    assert not {"один", "два"} & set(number_words.split())
    expected = {"рубль": "копейка", "рубля": "копейки", "рублей": "копеек"}[ruble_form(k)]
    assert noun == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_en_number_words_read_back(n: int) -> None:
    words = spoken(str(n), "number", "en")
    assert words is not None
    assert re.fullmatch(r"[a-z]+(?:[ -][a-z]+)*", words), words
    assert read_en(words) == n


@given(st.integers(min_value=1, max_value=10**12))
def test_grouping_and_sign_do_not_change_the_words(n: int) -> None:
    plain_ru = spoken(str(n), "number", "ru")
    plain_en = spoken(str(n), "number", "en")
    grouped = f"{n:,}"
    if "," in grouped:
        assert spoken(grouped.replace(",", "\u00a0"), "number", "ru") == plain_ru
        assert spoken(grouped.replace(",", "_"), "number", "en") == plain_en
    assert spoken(f"-{n}", "number", "ru") == f"минус {plain_ru}"
    assert spoken(f"-{n}", "number", "en") == f"minus {plain_en}"
    assert spoken(f"{grouped}.00", "amount", "en") == spoken(str(n), "amount", "en")


@given(st.text(max_size=40))
def test_any_text_gives_words_or_none(value: str) -> None:
    for kind in sorted(KINDS):
        for language in sorted(LANGUAGES):
            result = spoken(value, kind, language)
            assert result is None or (result and result == result.strip())
