"""The dialplan's text language: ``${...}`` substitution, ``$[...]`` expressions, conditions
and application argument splitting, with Asterisk's rules.

- `substitute` expands ``${NAME}``, ``${FUNC(args)}``, ``${NAME:offset:length}``
  (negative offset/length count from the end) and ``$[expression]``, innermost first;
  an unknown name gives "". An unterminated ``${`` or ``$[`` is left as it is.
- `evaluate` is Asterisk's expr2: ``| & = != < > <= >= + - * / % !``, unary minus,
  parentheses, ``a ? b :: c``, regex ``:`` / ``=~``, ``~~`` (concatenation),
  ``||``/``&&``/``==`` spellings, and ``NAME(args)`` calls. As in Asterisk, double
  quotes belong to the string (``"5"`` is a string, ``5`` a number): two operands
  are compared as numbers only when neither is a non-numeric string; division is
  floating point; a syntax error gives "0" and an empty expression "".
- `check_condition` is pbx_checkcondition: "" is false, a leading integer decides,
  any other text is true.
- `split_args` is ast_app_separate_args: commas inside parentheses, brackets or
  double quotes do not split; quotes and backslashes are removed unless ``raw``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Lookup", "check_condition", "evaluate", "split_args", "substitute"]

Lookup = Callable[[str], "str | None"]
"""Reads ``NAME`` or ``FUNC(args)`` for substitution (`Channel.get_variable`)."""

_INT_MAX = 2147483647
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
_LEADING_FLOAT = re.compile(r"[0-9]*\.?[0-9]*")
_NUMBER_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_OPERATORS = (
    "||",
    "&&",
    "==",
    "=~",
    "~~",
    ">=",
    "<=",
    "!=",
    "::",
    "|",
    "&",
    "=",
    ">",
    "<",
    "+",
    ",",
    "-",
    "*",
    "/",
    "%",
    "?",
    "!",
    ":",
    "(",
    ")",
)
_SPELLINGS = {"||": "|", "&&": "&", "==": "="}
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.';\\_^#@")
_FUNCTION_NAME = re.compile(r"[A-Z0-9_]+")


def _scan_int(text: str) -> int | None:
    """C's sscanf("%d"): an optional sign and digits after blanks, or None."""
    match = _LEADING_INT.match(text)
    return int(match.group(1)) if match else None


# -- substitution ----------------------------------------------------------------------


def _closing(text: str, start: int, opening: str, closing: str) -> int | None:
    """Index of the ``closing`` that balances an already opened one, scanning from ``start``."""
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index
    return None


def substitute(text: str, lookup: Lookup) -> str:
    """Expand every ``${...}`` and ``$[...]`` in ``text`` (see the module docstring)."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, size = 0, len(text)
    while i < size:
        dollar = text.find("$", i)
        if dollar < 0 or dollar + 1 >= size:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        kind = text[dollar + 1]
        if kind not in "{[":
            out.append("$")
            i = dollar + 1
            continue
        closing = "}" if kind == "{" else "]"
        end = _closing(text, dollar + 2, kind, closing)
        if end is None:
            out.append(text[dollar:])
            break
        inner = substitute(text[dollar + 2 : end], lookup)
        out.append(_variable(inner, lookup) if kind == "{" else evaluate(inner, lookup))
        i = end + 1
    return "".join(out)


def _variable(spec: str, lookup: Lookup) -> str:
    """``NAME``, ``FUNC(args)`` or either followed by ``:offset[:length]``."""
    depth = 0
    for index, char in enumerate(spec):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ":" and depth == 0:
            value = lookup(spec[:index]) or ""
            offset, length = _offset_length(spec[index + 1 :])
            return _substring(value, offset, length)
    return lookup(spec) or ""


def _offset_length(text: str) -> tuple[int, int]:
    """sscanf("%d:%d") with Asterisk's defaults (0, INT_MAX): a failed scan stops early."""
    match = _LEADING_INT.match(text)
    if match is None:
        return 0, _INT_MAX
    rest = text[match.end() :]
    length = _scan_int(rest[1:]) if rest.startswith(":") else None
    return int(match.group(1)), _INT_MAX if length is None else length


def _substring(value: str, offset: int, length: int) -> str:
    size = len(value)
    if offset < 0:
        offset = max(size + offset, 0)
    if offset >= size:
        return ""
    rest = value[offset:]
    if length >= 0:
        return rest[:length]
    # a negative length drops that many characters from the end
    return rest[: size + length - offset] if size > offset - length else ""


# -- conditions and arguments ----------------------------------------------------------


def check_condition(text: str) -> bool:
    """pbx_checkcondition: empty is false, a leading integer is its truth, other text true."""
    if not text:
        return False
    number = _scan_int(text)
    return True if number is None else number != 0


def split_args(data: str, sep: str = ",", *, raw: bool = False) -> list[str]:
    """Split application data at ``sep`` outside (), [] and "" (ast_app_separate_args).

    Empty data gives no arguments; ``"a,"`` gives ``["a", ""]``. Unless ``raw``,
    double quotes are dropped and a backslash keeps the next character literally.
    """
    if not data:
        return []
    args: list[str] = []
    current: list[str] = []
    paren = bracket = 0
    quoted = False
    chars = iter(data)
    for char in chars:
        if char == "(":
            paren += 1
        elif char == ")":
            paren = max(paren - 1, 0)
        elif char == "[":
            bracket += 1
        elif char == "]":
            bracket = max(bracket - 1, 0)
        elif char == '"' and sep != '"':
            quoted = not quoted
            if not raw:
                continue
        elif char == "\\":
            escaped = next(chars, "")
            current.append(escaped if not raw else char + escaped)
            continue
        elif char == sep and not (paren or bracket or quoted):
            args.append("".join(current))
            current = []
            continue
        current.append(char)
    args.append("".join(current))
    return args


# -- expressions -----------------------------------------------------------------------


@dataclass
class _Value:
    """An expr2 value: a number, or a string that may look like one."""

    number: float | None = None
    text: str = ""
    numeric: bool = False

    @classmethod
    def of_text(cls, text: str) -> _Value:
        """make_str: digits and dots only (and at least one character) look numeric."""
        numeric = bool(text) and all(c.isdigit() or c == "." for c in text)
        return cls(text=text, numeric=numeric)

    def is_string(self) -> bool:
        return self.number is None and not self.numeric

    def to_number(self) -> bool:
        if self.number is not None:
            return True
        if not self.numeric:
            return False
        digits = _LEADING_FLOAT.match(self.text)
        try:
            self.number = float(digits.group(0) if digits else "0")
        except ValueError:
            self.number = 0.0
        return True

    def as_text(self) -> str:
        return self.text if self.number is None else _format(self.number)

    def zero_or_null(self) -> bool:
        if self.number is not None:
            return self.number == 0
        return self.text == "" or (self.to_number() and self.number == 0)


def _format(number: float) -> str:
    return f"{number:.16g}"  # Asterisk prints with %.16Lg


def _num(value: float) -> _Value:
    return _Value(number=value)


class _ExprSyntaxError(Exception):
    pass


def _tokens(expr: str) -> list[tuple[str, _Value | None]]:
    """expr2's scanner: (operator, None) or ("TOKEN", value)."""
    out: list[tuple[str, _Value | None]] = []
    i, size = 0, len(expr)
    while i < size:
        char = expr[i]
        if char in " \t\r\n":
            i += 1
            continue
        if char == '"':
            end = expr.find('"', i + 1)
            if end < 0:
                raise _ExprSyntaxError("unterminated string")
            out.append(("TOKEN", _Value(text=expr[i : end + 1])))
            i = end + 1
            continue
        word_end = i
        while word_end < size:
            c = expr[word_end]
            if c in _WORD_CHARS or ord(c) >= 0x80:
                word_end += 1
            elif c == "$" and word_end + 1 < size and expr[word_end + 1] != "{":
                word_end += 2
            else:
                break
        if word_end > i:
            word = expr[i:word_end]
            number = _NUMBER_TOKEN.fullmatch(word)
            out.append(("TOKEN", _Value(text=word, numeric=number is not None)))
            i = word_end
            continue
        operator = next((op for op in _OPERATORS if expr.startswith(op, i)), None)
        if operator is None:
            i += 1  # flex echoes characters no rule matches; they take no part
            continue
        out.append((_SPELLINGS.get(operator, operator), None))
        i += len(operator)
    return out


class _Parser:
    """Recursive descent over expr2's precedence levels, lowest first."""

    def __init__(self, tokens: list[tuple[str, _Value | None]], lookup: Lookup | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.lookup = lookup

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, _Value | None]:
        if self.pos >= len(self.tokens):
            raise _ExprSyntaxError("unexpected end")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: str) -> None:
        if self.take()[0] != kind:
            raise _ExprSyntaxError(f"expected {kind}")

    def parse(self) -> _Value:
        value = self.conditional()
        if self.pos != len(self.tokens):
            raise _ExprSyntaxError("trailing tokens")
        return value

    def conditional(self) -> _Value:
        value = self.binary(0)
        while self.peek() == "?":
            self.take()
            yes = self.binary(0)
            self.expect("::")
            no = self.binary(0)
            value = _cond(value, yes, no)
        return value

    _LEVELS: tuple[frozenset[str], ...] = (
        frozenset({"|"}),
        frozenset({"&"}),
        frozenset({"=", "!=", "<", ">", "<=", ">="}),
        frozenset({"+", "-"}),
        frozenset({"*", "/", "%"}),
    )

    def binary(self, level: int) -> _Value:
        if level == len(self._LEVELS):
            return self.unary()
        value = self.binary(level + 1)
        while self.peek() in self._LEVELS[level]:
            operator = self.take()[0]
            value = _BINARY[operator](value, self.binary(level + 1))
        return value

    def unary(self) -> _Value:
        if self.peek() == "!":
            self.take()
            return _complement(self.unary())
        if self.peek() == "-":
            self.take()
            return _negate(self.unary())
        return self.match()

    def match(self) -> _Value:
        value = self.primary()
        while self.peek() in (":", "=~", "~~"):
            operator = self.take()[0]
            value = _MATCHERS[operator](value, self.primary())
        return value

    def primary(self) -> _Value:
        kind, value = self.take()
        if kind == "(":
            inner = self.conditional()
            self.expect(")")
            return inner
        if kind != "TOKEN" or value is None:
            raise _ExprSyntaxError(f"unexpected {kind}")
        if self.peek() != "(":
            return value
        self.take()
        args: list[_Value] = []
        while self.peek() != ")":
            if self.peek() == ",":
                args.append(_Value())
            else:
                args.append(self.conditional())
            if self.peek() == ",":
                self.take()
        self.expect(")")
        return self.call(value.text, args)

    def call(self, name: str, args: list[_Value]) -> _Value:
        """ABS, or a dialplan function read through the lookup; numbers come back as numbers."""
        if not _FUNCTION_NAME.fullmatch(name):
            return _num(0)
        if name == "ABS":
            if len(args) != 1 or not args[0].to_number():
                return _num(0)
            return _num(abs(args[0].number or 0.0))
        text = ",".join(arg.as_text() for arg in args)
        result = self.lookup(f"{name}({text})") if self.lookup else None
        if result is None:
            return _num(0)
        if result.strip() and all(c in "-0123456789. \t" for c in result):
            try:
                return _num(float(result))
            except ValueError:
                pass
        return _Value.of_text(result)


def _or(a: _Value, b: _Value) -> _Value:
    return b if a.zero_or_null() else a


def _and(a: _Value, b: _Value) -> _Value:
    return _num(0) if a.zero_or_null() or b.zero_or_null() else a


def _comparison(check: Callable[[int], bool]) -> Callable[[_Value, _Value], _Value]:
    """A comparison: as strings if either side is a non-numeric string, else as numbers."""

    def compare(a: _Value, b: _Value) -> _Value:
        if a.is_string() or b.is_string():
            left, right = a.as_text(), b.as_text()
            return _num(float(check((left > right) - (left < right))))
        a.to_number()
        b.to_number()
        x, y = a.number or 0.0, b.number or 0.0
        return _num(float(check((x > y) - (x < y))))

    return compare


def _plus(a: _Value, b: _Value) -> _Value:
    if not a.to_number():
        return b if b.to_number() else _num(0)
    if not b.to_number():
        return a
    return _num((a.number or 0.0) + (b.number or 0.0))


def _minus(a: _Value, b: _Value) -> _Value:
    if not a.to_number():
        return _num(-(b.number or 0.0)) if b.to_number() else _num(0)
    if not b.to_number():
        return a
    return _num((a.number or 0.0) - (b.number or 0.0))


def _times(a: _Value, b: _Value) -> _Value:
    if not a.to_number() or not b.to_number():
        return _num(0)
    return _num((a.number or 0.0) * (b.number or 0.0))


def _divide(a: _Value, b: _Value) -> _Value:
    if not a.to_number():
        return _num(0)
    if not b.to_number() or not b.number:
        return _num(_INT_MAX)
    return _num((a.number or 0.0) / b.number)


def _remainder(a: _Value, b: _Value) -> _Value:
    if not a.to_number() or not b.to_number():
        return _num(0)
    if not b.number:
        return b
    return _num(math.fmod(a.number or 0.0, b.number))


def _negate(a: _Value) -> _Value:
    return _num(-(a.number or 0.0)) if a.to_number() else _num(0)


def _complement(a: _Value) -> _Value:
    """``!``: 1 for 0, "" and "0"; otherwise the C atoi() of a string decides."""
    if a.number is not None:
        return _num(float(a.number == 0))
    if a.text in ("", "0"):
        return _num(1)
    return _num(float((_scan_int(a.text) or 0) == 0))


def _cond(a: _Value, yes: _Value, no: _Value) -> _Value:
    if a.is_string():
        return yes if a.text not in ("", '""', "0") else no
    a.to_number()
    return yes if a.number else no


def _strip_quotes(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text.replace('"', "")
    return text


def _regex(anchored: bool) -> Callable[[_Value, _Value], _Value]:
    """``:`` (anchored at the start) and ``=~``: group 1, else the match length."""

    def match(a: _Value, b: _Value) -> _Value:
        subject, pattern = _strip_quotes(a.as_text()), _strip_quotes(b.as_text())
        try:
            compiled = re.compile(pattern)
        except re.error:
            return _Value.of_text("")
        found = compiled.match(subject) if anchored else compiled.search(subject)
        if found is None:
            return _num(0) if compiled.groups == 0 else _Value.of_text("")
        if compiled.groups:
            return _Value.of_text(found.group(1) or "")
        return _num(float(found.end() - found.start()))

    return match


def _concat(a: _Value, b: _Value) -> _Value:
    return _Value.of_text(_strip_quotes(a.as_text()) + _strip_quotes(b.as_text()))


_BINARY: dict[str, Callable[[_Value, _Value], _Value]] = {
    "|": _or,
    "&": _and,
    "=": _comparison(lambda c: c == 0),
    "!=": _comparison(lambda c: c != 0),
    "<": _comparison(lambda c: c < 0),
    ">": _comparison(lambda c: c > 0),
    "<=": _comparison(lambda c: c <= 0),
    ">=": _comparison(lambda c: c >= 0),
    "+": _plus,
    "-": _minus,
    "*": _times,
    "/": _divide,
    "%": _remainder,
}
_MATCHERS: dict[str, Callable[[_Value, _Value], _Value]] = {
    ":": _regex(anchored=True),
    "=~": _regex(anchored=False),
    "~~": _concat,
}


def evaluate(expr: str, lookup: Lookup | None = None) -> str:
    """The text ``$[expr]`` gives (``expr`` already substituted); see the module docstring."""
    try:
        tokens = _tokens(expr)
        if not tokens:
            return ""
        return _Parser(tokens, lookup).parse().as_text()
    except _ExprSyntaxError:
        return "0"
