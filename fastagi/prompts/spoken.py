"""Caller values as words, so a TTS engine reads them with the right grammar.

Engines read raw digits poorly: in Russian they miss gender and case
agreement ("2 копейки" comes out as "два копейки"), in English they stumble
over clock times and years. `spoken` turns one caller value (a number, a sum
of money, a date, a clock time or a string of digits) into the words a
person would say, before the text goes to the engine.

Values come from the CRM and are untrusted: anything that cannot be read
without guessing gives None, and the caller hears the generic prompt.
Unknown kinds, languages and currencies are configuration mistakes and
raise ValueError.

Grammar choices, kept the same everywhere:

* Russian "1000" is "одна тысяча" and "1000000" is "один миллион" (the "one"
  is always said), also inside years ("одна тысяча девятьсот ...").
* English cardinals carry no "and": "one hundred one".
* Money always names the main unit ("ноль рублей пятьдесят копеек");
  the minor unit is left out when it is zero.
* Seconds of a clock time are not spoken; a time zone is not converted,
  the clock time is read as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["CURRENCIES", "KINDS", "LANGUAGES", "spoken"]

KINDS: frozenset[str] = frozenset({"number", "amount", "date", "time", "digits"})
CURRENCIES: frozenset[str] = frozenset({"RUB", "USD", "EUR"})
LANGUAGES: frozenset[str] = frozenset({"ru", "en"})

Gender = Literal["m", "f", "n"]
OrdinalCase = Literal["neuter_nominative", "genitive"]

# more integer digits than this is not a believable balance or count
_MAX_INTEGER_DIGITS = 15
# a phone, card or account number is far shorter; longer is junk
_MAX_DIGIT_STRING = 30

# ---------------------------------------------------------------- parsing

_MINUS_SIGNS = "-\u2212"  # ASCII hyphen-minus and the typographic minus
# spaces a spreadsheet or CRM puts between thousands: plain, no-break, narrow no-break, thin
_SPACE_SEPARATORS = " \u00a0\u202f\u2009_"
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²" and "٣"


@dataclass(frozen=True)
class _Decimal:
    negative: bool
    whole: int
    fraction: str | None  # the digits after the decimal separator, as written


def _split_groups(text: str, separators: str) -> str | None:
    """`text` without its thousands separators, or None when the grouping is not by threes.

    Strict grouping keeps "12 5" from silently becoming 125.
    """
    groups = re.split("[" + re.escape(separators) + "]", text)
    if not all(_DIGITS.fullmatch(group) for group in groups):
        return None
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    return "".join(groups)


def _parse_decimal(value: str) -> _Decimal | None:
    """A signed decimal written with optional thousands separators, or None.

    '.' is always a decimal point, and then ',' may group thousands ("1,234.50").
    Without a '.', a single ',' is the decimal comma ("12,5"), so the ambiguous
    "1,234" reads as three decimals and is refused by every kind; several commas
    can only be thousands separators ("1,234,567").
    """
    text = value.strip()
    negative = text.startswith(tuple(_MINUS_SIGNS))
    if negative:
        text = text[1:]
    if "." in text:
        whole, fraction = text.split(".", 1)
        separators = _SPACE_SEPARATORS + ","
    elif text.count(",") == 1:
        whole, fraction = text.split(",")
        separators = _SPACE_SEPARATORS
    else:
        whole, fraction = text, None
        separators = _SPACE_SEPARATORS + ","
    digits = _split_groups(whole, separators)
    if digits is None or len(digits) > _MAX_INTEGER_DIGITS:
        return None
    if fraction is not None and not _DIGITS.fullmatch(fraction):
        return None
    return _Decimal(negative, int(digits), fraction)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


def _parse_iso(value: str) -> tuple[datetime, bool] | None:
    """An ISO date or date-time, and whether it had a time part; None when invalid.

    The YYYY-MM-DD opening is required so that fromisoformat's other forms
    ("20261127", week dates) are not taken for a caller's date by accident.
    """
    text = value.strip()
    if not _ISO_DATE.match(text) or (len(text) > 10 and text[10] not in "Tt "):
        return None
    try:
        return datetime.fromisoformat(text), len(text) > 10
    except ValueError:
        return None


def _parse_clock(value: str) -> tuple[int, int] | None:
    """(hour, minute) from "HH:MM", "HH:MM:SS" or an ISO date-time; None otherwise."""
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        parsed = _parse_iso(value)
        if parsed is None or not parsed[1]:
            return None  # a bare date has no clock time to speak
        return parsed[0].hour, parsed[0].minute
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3]) if match[3] else 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute


# ---------------------------------------------------------------- Russian

_RU_UNITS = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
# only 1 and 2 change with gender
_RU_ONE_TWO: dict[Gender, tuple[str, str]] = {
    "m": ("один", "два"),
    "f": ("одна", "две"),
    "n": ("одно", "два"),
}
_RU_TEENS = (
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
)
_RU_TENS = (
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
)
_RU_HUNDREDS = (
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
)


@dataclass(frozen=True)
class _RuNoun:
    """A counted noun: its gender (which the 1 and 2 before it agree with) and its three forms."""

    gender: Gender
    forms: tuple[str, str, str]  # after 1, after 2-4, after 5-20 (and 0)


# thousands are feminine ("две тысячи"); the larger scales are masculine
_RU_SCALES: tuple[_RuNoun | None, ...] = (
    None,
    _RuNoun("f", ("тысяча", "тысячи", "тысяч")),
    _RuNoun("m", ("миллион", "миллиона", "миллионов")),
    _RuNoun("m", ("миллиард", "миллиарда", "миллиардов")),
    _RuNoun("m", ("триллион", "триллиона", "триллионов")),
)


def _ru_plural(count: int, forms: tuple[str, str, str]) -> str:
    """The noun form that follows `count`: 1 -> forms[0], 2-4 -> forms[1], else forms[2].

    Only the last two digits matter, and 11-14 take the "many" form although
    they end in 1-4 ("одиннадцать рублей", "двадцать один рубль").
    """
    count = abs(count)
    if 11 <= count % 100 <= 14:
        return forms[2]
    return {1: forms[0], 2: forms[1], 3: forms[1], 4: forms[1]}.get(count % 10, forms[2])


def _triads(number: int) -> list[int]:
    """`number` in groups of three digits, the lowest group first."""
    groups = []
    while True:
        number, group = divmod(number, 1000)
        groups.append(group)
        if number == 0:
            return groups


def _ru_triad(number: int, gender: Gender) -> list[str]:
    """Words for 1..999; the last word agrees with `gender` when it is 1 or 2."""
    hundreds, rest = divmod(number, 100)
    words = [_RU_HUNDREDS[hundreds]] if hundreds else []
    if 10 <= rest < 20:
        words.append(_RU_TEENS[rest - 10])
        return words
    tens, units = divmod(rest, 10)
    if tens:
        words.append(_RU_TENS[tens])
    if units:
        words.append(_RU_ONE_TWO[gender][units - 1] if units <= 2 else _RU_UNITS[units])
    return words


def _ru_cardinal(number: int, gender: Gender = "m") -> str:
    """A non-negative integer in nominative words, its units agreeing with `gender`."""
    if number == 0:
        return "ноль"
    words: list[str] = []
    groups = _triads(number)
    for scale in reversed(range(len(groups))):
        group = groups[scale]
        if group == 0:
            continue
        noun = _RU_SCALES[scale]
        words += _ru_triad(group, noun.gender if noun else gender)
        if noun:
            words.append(_ru_plural(group, noun.forms))
    return " ".join(words)


# Ordinal stems; the case ending is added by _ru_ordinal_word.
_RU_ORDINAL_UNITS = (
    "",
    "перв",
    "втор",
    "трет",
    "четвёрт",
    "пят",
    "шест",
    "седьм",
    "восьм",
    "девят",
)
_RU_ORDINAL_TEENS = (
    "десят",
    "одиннадцат",
    "двенадцат",
    "тринадцат",
    "четырнадцат",
    "пятнадцат",
    "шестнадцат",
    "семнадцат",
    "восемнадцат",
    "девятнадцат",
)
_RU_ORDINAL_TENS = (
    "",
    "",
    "двадцат",
    "тридцат",
    "сороков",
    "пятидесят",
    "шестидесят",
    "семидесят",
    "восьмидесят",
    "девяност",
)
_RU_ORDINAL_HUNDREDS = (
    "",
    "сот",
    "двухсот",
    "трёхсот",
    "четырёхсот",
    "пятисот",
    "шестисот",
    "семисот",
    "восьмисот",
    "девятисот",
)
# a round number of thousands makes one compound word: "двухтысячного"
_RU_GENITIVE_PREFIX = (
    "",
    "",
    "двух",
    "трёх",
    "четырёх",
    "пяти",
    "шести",
    "семи",
    "восьми",
    "девяти",
)
_RU_ORDINAL_ENDINGS: dict[OrdinalCase, tuple[str, str]] = {
    # (hard ending, soft ending); only "трет-" is soft: "третье", "третьего"
    "neuter_nominative": ("ое", "ье"),
    "genitive": ("ого", "ьего"),
}


def _ru_ordinal_word(stem: str, case: OrdinalCase) -> str:
    hard, soft = _RU_ORDINAL_ENDINGS[case]
    return stem + (soft if stem == "трет" else hard)


def _ru_ordinal(number: int, case: OrdinalCase) -> str:
    """An ordinal for 1..9999 (days and years) in neuter nominative or genitive.

    In Russian only the last word turns ordinal; the words before it stay
    cardinal ("две тысячи двадцать шестого").
    """
    if not 1 <= number <= 9999:
        raise ValueError(f"ordinals are only made for 1..9999, not {number}")
    if number % 1000 == 0:
        return _ru_ordinal_word(_RU_GENITIVE_PREFIX[number // 1000] + "тысячн", case)
    last_two = number % 100
    if last_two == 0:
        tail, stem = number % 1000, _RU_ORDINAL_HUNDREDS[number % 1000 // 100]
    elif 10 <= last_two < 20:
        tail, stem = last_two, _RU_ORDINAL_TEENS[last_two - 10]
    elif last_two % 10 == 0:
        tail, stem = last_two, _RU_ORDINAL_TENS[last_two // 10]
    else:
        tail, stem = number % 10, _RU_ORDINAL_UNITS[number % 10]
    word = _ru_ordinal_word(stem, case)
    head = number - tail
    return f"{_ru_cardinal(head)} {word}" if head else word


_RU_MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
# (main unit, minor unit) of each currency
_RU_MONEY: dict[str, tuple[_RuNoun, _RuNoun]] = {
    "RUB": (
        _RuNoun("m", ("рубль", "рубля", "рублей")),
        _RuNoun("f", ("копейка", "копейки", "копеек")),
    ),
    "USD": (
        _RuNoun("m", ("доллар", "доллара", "долларов")),
        _RuNoun("m", ("цент", "цента", "центов")),
    ),
    # "евро" does not decline and is neuter: "одно евро", "два евро"
    "EUR": (
        _RuNoun("n", ("евро", "евро", "евро")),
        _RuNoun("m", ("евроцент", "евроцента", "евроцентов")),
    ),
}
_RU_HOUR = _RuNoun("m", ("час", "часа", "часов"))
_RU_MINUTE = _RuNoun("f", ("минута", "минуты", "минут"))
_RU_DIGITS = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")


def _ru_counted(count: int, noun: _RuNoun) -> str:
    """`count` of `noun` with both agreeing: "двадцать одна копейка", "пять рублей"."""
    return f"{_ru_cardinal(count, noun.gender)} {_ru_plural(count, noun.forms)}"


# ---------------------------------------------------------------- English

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
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES = ("", "thousand", "million", "billion", "trillion")
_EN_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# ((main singular, plural), (minor singular, plural))
_EN_MONEY: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "RUB": (("ruble", "rubles"), ("kopeck", "kopecks")),
    "USD": (("dollar", "dollars"), ("cent", "cents")),
    "EUR": (("euro", "euros"), ("cent", "cents")),
}


def _en_below_thousand(number: int) -> str:
    """Words for 1..999: "one hundred twenty-one"."""
    hundreds, rest = divmod(number, 100)
    words = [f"{_EN_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_ONES[units]}" if units else ""))
    elif rest:
        words.append(_EN_ONES[rest])
    return " ".join(words)


def _en_cardinal(number: int) -> str:
    """A non-negative integer in words, without "and"."""
    if number == 0:
        return "zero"
    groups = _triads(number)
    words = [
        f"{_en_below_thousand(groups[scale])} {_EN_SCALES[scale]}".rstrip()
        for scale in reversed(range(len(groups)))
        if groups[scale]
    ]
    return " ".join(words)


def _en_ordinal(number: int) -> str:
    """The ordinal: the cardinal with its last word changed ("twenty-seventh")."""
    words = _en_cardinal(number)
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    if last in _EN_ORDINAL_IRREGULAR:
        return head + _EN_ORDINAL_IRREGULAR[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def _en_year(year: int) -> str:
    """A year as people say it: "nineteen ninety-nine", "two thousand nine", "twenty ten"."""
    century, rest = divmod(year, 100)
    if year < 1000 or (year % 1000 < 10):
        return _en_cardinal(year)  # 2000-2009 and the like: "two thousand nine"
    if rest == 0:
        return f"{_en_cardinal(century)} hundred"
    if rest < 10:
        return f"{_en_cardinal(century)} oh {_EN_ONES[rest]}"
    return f"{_en_cardinal(century)} {_en_cardinal(rest)}"


def _en_clock(hour: int, minute: int) -> str:
    """A 12-hour clock time, with "a m" / "p m" spelled so a TTS engine says the letters."""
    words = [_en_cardinal(hour % 12 or 12)]
    if minute == 0:
        words.append("o'clock")
    elif minute < 10:
        words.append(f"oh {_EN_ONES[minute]}")
    else:
        words.append(_en_cardinal(minute))
    words.append("a m" if hour < 12 else "p m")
    return " ".join(words)


# ---------------------------------------------------------------- kinds


def _with_sign(negative: bool, words: str, language: str) -> str:
    return f"{'минус' if language == 'ru' else 'minus'} {words}" if negative else words


def _read_number(value: str, language: str, currency: str) -> str | None:
    parsed = _parse_decimal(value)
    if parsed is None or parsed.fraction is not None:
        return None
    words = _ru_cardinal(parsed.whole) if language == "ru" else _en_cardinal(parsed.whole)
    return _with_sign(parsed.negative and parsed.whole != 0, words, language)


def _read_amount(value: str, language: str, currency: str) -> str | None:
    parsed = _parse_decimal(value)
    if parsed is None or (parsed.fraction is not None and len(parsed.fraction) > 2):
        return None
    # "12,5" means 12 and 50 minor units, not 5
    minor = int(parsed.fraction.ljust(2, "0")) if parsed.fraction is not None else 0
    whole = parsed.whole
    if language == "ru":
        main_noun, minor_noun = _RU_MONEY[currency]
        words = _ru_counted(whole, main_noun)
        if minor:
            words += " " + _ru_counted(minor, minor_noun)
    else:
        (main_one, main_many), (minor_one, minor_many) = _EN_MONEY[currency]
        words = f"{_en_cardinal(whole)} {main_one if whole == 1 else main_many}"
        if minor:
            words += f" and {_en_cardinal(minor)} {minor_one if minor == 1 else minor_many}"
    return _with_sign(parsed.negative and (whole != 0 or minor != 0), words, language)


def _read_date(value: str, language: str, currency: str) -> str | None:
    parsed = _parse_iso(value)
    if parsed is None:
        return None
    moment = parsed[0]
    if language == "ru":
        day = _ru_ordinal(moment.day, "neuter_nominative")
        year = _ru_ordinal(moment.year, "genitive")
        return f"{day} {_RU_MONTHS_GENITIVE[moment.month - 1]} {year} года"
    month = _EN_MONTHS[moment.month - 1]
    return f"{month} {_en_ordinal(moment.day)}, {_en_year(moment.year)}"


def _read_time(value: str, language: str, currency: str) -> str | None:
    clock = _parse_clock(value)
    if clock is None:
        return None
    hour, minute = clock
    if language == "en":
        return _en_clock(hour, minute)
    words = _ru_counted(hour, _RU_HOUR)
    return f"{words} {_ru_counted(minute, _RU_MINUTE)}" if minute else words


# separators a phone or account number is often written with; they are not spoken
_DIGIT_FILLERS = frozenset(" \u00a0\u202f\u2009-\u2010\u2011\u2012\u2013()")


def _read_digits(value: str, language: str, currency: str) -> str | None:
    text = value.strip()
    words = []
    if text.startswith("+"):
        words.append("плюс" if language == "ru" else "plus")
        text = text[1:]
    names = _RU_DIGITS if language == "ru" else _EN_ONES
    count = 0
    for char in text:
        if char in _DIGIT_FILLERS:
            continue
        if not "0" <= char <= "9":
            return None
        words.append(names[int(char)])
        count += 1
    if count == 0 or count > _MAX_DIGIT_STRING:
        return None
    return " ".join(words)


_READERS: dict[str, Callable[[str, str, str], str | None]] = {
    "number": _read_number,
    "amount": _read_amount,
    "date": _read_date,
    "time": _read_time,
    "digits": _read_digits,
}


def spoken(value: str, kind: str, language: str, *, currency: str = "RUB") -> str | None:
    """`value` (caller data, untrusted text) as words in `language`.

    None when it cannot be read as `kind`.
    `kind` is one of KINDS, `language` one of LANGUAGES and `currency` (used
    by "amount") one of CURRENCIES; anything else raises ValueError.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(KINDS)}")
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {sorted(LANGUAGES)}")
    if currency not in CURRENCIES:
        raise ValueError(f"unknown currency {currency!r}; expected one of {sorted(CURRENCIES)}")
    return _READERS[kind](value, language, currency)
