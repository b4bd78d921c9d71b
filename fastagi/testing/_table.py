"""The AGI command table: leading keywords -> handler, usage text, allowed on a dead channel.

A handler gets the channel and the whole word list (``argv[0]`` is the first
keyword, as in res_agi.c) and returns an `Outcome`: the reply text it wrote
and a status. ``SHOWUSAGE`` makes the emulator write the 520 usage block
after that text; ``FAILURE`` marks the AGI as failed (AGISTATUS=FAILURE)
unless the channel was being hung up at the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from fastagi.testing._channel import Channel

__all__ = [
    "USAGE",
    "Command",
    "CommandHandler",
    "CommandTable",
    "Outcome",
    "Status",
    "failed",
    "ok",
]


class Status(IntEnum):
    """res_agi.c's handler results (RESULT_SUCCESS, RESULT_SHOWUSAGE, RESULT_FAILURE)."""

    SUCCESS = 0
    SHOWUSAGE = 1
    FAILURE = 2


class Outcome(NamedTuple):
    """What a command handler did: the reply text (lines ending in newlines) and a status."""

    text: str
    status: int = Status.SUCCESS


def ok(text: str) -> Outcome:
    """A reply, command succeeded."""
    return Outcome(text, Status.SUCCESS)


def failed(text: str) -> Outcome:
    """A reply, command failed (counts towards AGISTATUS=FAILURE)."""
    return Outcome(text, Status.FAILURE)


USAGE = Outcome("", Status.SHOWUSAGE)
"""Wrong arguments: the emulator answers with the 520 usage block."""

CommandHandler = Callable[[Channel, list[str]], Outcome]


@dataclass(frozen=True)
class Command:
    """One entry of the table."""

    words: tuple[str, ...]
    handler: CommandHandler
    usage: str
    dead_ok: bool = False


def _fold(word: str) -> str:
    # strcasecmp in the C locale folds ASCII letters only
    return word.lower() if word.isascii() else word


class CommandTable:
    """Commands found by their leading keywords, case-insensitively (res_agi.c find_command)."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}
        self._longest = 0
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        """Add or replace a command."""
        words = tuple(_fold(word) for word in command.words)
        if not words or any(not word or " " in word for word in words):
            raise ValueError(f"bad command keywords: {command.words!r}")
        self._commands[words] = Command(words, command.handler, command.usage, command.dead_ok)
        self._longest = max(self._longest, len(words))

    def register(
        self, words: str, handler: CommandHandler, usage: str, *, dead_ok: bool = False
    ) -> None:
        """Add or replace the command spelled ``words`` (e.g. ``"record file"``)."""
        self.add(Command(tuple(words.split()), handler, usage, dead_ok))

    def find(self, argv: Sequence[str]) -> Command | None:
        """The command whose keywords start ``argv``, or None (Asterisk answers 510)."""
        folded = [_fold(word) for word in argv[: self._longest]]
        for size in range(len(folded), 0, -1):
            command = self._commands.get(tuple(folded[:size]))
            if command is not None:
                return command
        return None

    def copy(self) -> CommandTable:
        """An independent table with the same commands, to extend for one emulator."""
        return CommandTable(self._commands.values())

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def __len__(self) -> int:
        return len(self._commands)

    def __contains__(self, words: object) -> bool:
        if not isinstance(words, str):
            return False
        return tuple(_fold(word) for word in words.split()) in self._commands
