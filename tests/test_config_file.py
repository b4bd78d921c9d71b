"""config/server.yaml is read with the menus' safe reader: typed values, limits, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastagi.config import ConfigError, load_settings
from fastagi.menus._yaml import MAX_FILE_BYTES

BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
host: 127.0.0.1
"""


def test_settings_keep_their_types(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("port: 4600\nmax_calls: 300\nproduction: false\nhost: 127.0.0.1\n")
    settings = load_settings(path, environ={})
    assert (settings.port, settings.max_calls, settings.production) == (4600, 300, False)


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("# nothing set yet\n")
    assert load_settings(path, environ={}).port == load_settings(environ={}).port


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigError, match="alias bomb") as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("host: 127.0.0.1\n" + "#" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ConfigError, match="limit is 1048576 bytes"):
        load_settings(path, environ={})


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("host: 127.0.0.1\nport: [4573\n")
    with pytest.raises(ConfigError, match=r"server\.yaml:\d+"):
        load_settings(path, environ={})
