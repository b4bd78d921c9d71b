"""Value types the codec produces: the environment, replies and the HANGUP notice."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl

__all__ = ["NEED_DATA", "Closed", "Environment", "Event", "Hangup", "NeedData", "Reply"]


class NeedData(enum.Enum):
    """Sentinel: the codec needs more bytes before it can produce an event."""

    NEED_DATA = "NEED_DATA"


NEED_DATA = NeedData.NEED_DATA


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Environment:
    """The `agi_*` block Asterisk sends when a FastAGI call starts.

    `variables` maps names without the `agi_` prefix (`uniqueid`, `callerid`,
    `network_script`, `arg_1`, ...) to their raw values. Lines that were not
    `agi_name: value` (a caller name holding a newline splits its env line)
    are kept in `malformed_lines` rather than dropped silently.
    """

    variables: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    malformed_lines: tuple[str, ...] = ()

    def get(self, name: str, default: str = "") -> str:
        return self.variables.get(name, default)

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def callerid(self) -> str:
        """The caller's number as Asterisk sent it (`unknown` when withheld)."""
        return self.get("callerid", "unknown")

    @property
    def calleridname(self) -> str:
        return self.get("calleridname", "unknown")

    @property
    def language(self) -> str:
        return self.get("language", "en")

    @property
    def network_script(self) -> str:
        """`agi_network_script`: the URL path after host:port, query string included."""
        return self.get("network_script")

    @property
    def script(self) -> str:
        """The script path without query string or surrounding slashes (`main`)."""
        return self.network_script.split("?", 1)[0].strip("/")

    @property
    def query(self) -> Mapping[str, str]:
        """Parameters from the script's query string (`main?lang=ru` -> {'lang': 'ru'})."""
        _, _, raw = self.network_script.partition("?")
        return _frozen(dict(parse_qsl(raw, keep_blank_values=True)))

    @property
    def args(self) -> tuple[str, ...]:
        """`agi_arg_1`, `agi_arg_2`, ... in order (AGI(url,a,b) passes a and b)."""
        found: list[str] = []
        index = 1
        while f"arg_{index}" in self.variables:
            found.append(self.variables[f"arg_{index}"])
            index += 1
        return tuple(found)


@dataclass(frozen=True)
class Reply:
    """One reply line: `<code> result=<n> [(<data>)] [endpos=<n>] [extra]`.

    `code` is 200 on success, 100 for GOSUB's interim `Trying...`, 510/511/520
    for refusals. `result` is the raw text after `result=` (GET DATA returns
    digits such as `12*`, others a number); None when the line had none.
    `usage` holds the text of a 520 usage block.
    """

    code: int
    result: str | None = None
    data: str | None = None
    endpos: int | None = None
    extra: str = ""
    usage: str = ""
    raw: str = ""

    # The same fields and defaults as the generated __init__, which sets each
    # field with object.__setattr__ (the price of frozen=True): ~0.8 us per
    # reply. Writing the instance __dict__ directly (what attrs does for its
    # frozen classes) costs a third of that. Keep in step with the fields.
    def __init__(
        self,
        code: int,
        result: str | None = None,
        data: str | None = None,
        endpos: int | None = None,
        extra: str = "",
        usage: str = "",
        raw: str = "",
    ) -> None:
        fields = self.__dict__
        fields["code"] = code
        fields["result"] = result
        fields["data"] = data
        fields["endpos"] = endpos
        fields["extra"] = extra
        fields["usage"] = usage
        fields["raw"] = raw

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        """`result` as an integer, or None when it is absent or not a number."""
        try:
            return int(self.result) if self.result is not None else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Hangup:
    """Asterisk's `HANGUP` notice: the caller is gone. An event, never a reply."""


@dataclass(frozen=True)
class Closed:
    """The peer closed the connection (end of stream)."""


Event = Environment | Reply | Hangup | Closed
