"""`ivr validate` with a sounds directory: every fixed prompt the menus play has a file."""

from __future__ import annotations

from pathlib import Path

from menus_helpers import WriteFile

from fastagi.menus import load_menus
from fastagi.menus.prompt_files import missing_prompt_files, prompt_uses

MENU = """
menu: main
language: ru
start: welcome
defaults:
  invalid_prompt: null
  timeout_prompt: null
  goodbye_prompt: ivr/goodbye
nodes:
  welcome:
    type: menu
    greeting: "names/{caller.first_name}|ivr/hello"
    options: {"1": info, "2": queue}
  info:
    type: play
    prompts: [ivr/info-1, ivr/info-2]
    next: welcome
  queue:
    type: queue
    queue: support
    announce_position: false
    on_timeout: bye
  bye:
    type: hangup
    prompt: ivr/goodbye
"""


def test_every_prompt_field_is_found_from_the_models(write: WriteFile) -> None:
    menus = load_menus(write("menus/main.yaml", MENU).parent)
    uses = {(u.key_path, u.name) for u in prompt_uses(menus)}
    assert uses == {
        (("defaults", "goodbye_prompt"), "ivr/goodbye"),
        (("nodes", "welcome", "greeting"), "ivr/hello"),  # the caller-data one is dynamic
        (("nodes", "info", "prompts", 0), "ivr/info-1"),
        (("nodes", "info", "prompts", 1), "ivr/info-2"),
        # an action's own prompts count, defaults included
        (("nodes", "queue", "position_prompt"), "ivr/queue-position"),
        (("nodes", "queue", "wait_prompt"), "ivr/queue-wait"),
        (("nodes", "bye", "prompt"), "ivr/goodbye"),
    }


def test_missing_files_are_reported_with_file_and_line(write: WriteFile, tmp_path: Path) -> None:
    menus = load_menus(write("menus/main.yaml", MENU).parent)
    sounds = tmp_path / "sounds"
    for name in ("ru/ivr/goodbye.wav", "ru/ivr/hello.sln16", "ivr/info-1.gsm",
                 "ru/ivr/queue-position.wav", "ru/ivr/queue-wait.wav"):  # fmt: skip
        (sounds / name).parent.mkdir(parents=True, exist_ok=True)
        (sounds / name).write_bytes(b"RIFF")
    problems = missing_prompt_files(menus, sounds)
    assert [(p.line, p.key_path, p.message) for p in problems] == [
        (15, "nodes.info.prompts[1]", f"sound file 'ivr/info-2' is not in {sounds / 'ru'}")
    ]
